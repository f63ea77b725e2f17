// Looks up clawpod-managed containers by name; a miss lists what exists.
import { ClawpodError } from '../errors.js';
import { LABELS } from '../spec/defaults.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { closest } from '../spec/suggest.js';

export async function findAgent(rt: Runtime, name: string): Promise<ContainerDetails> {
  const d = await rt.inspectContainer(name);
  if (d && d.labels[LABELS.managed] === 'true') return d;
  const known = (await rt.listContainers({ labels: { [LABELS.managed]: 'true' } })).map((c) => c.name);
  const guess = closest(name, known);
  throw new ClawpodError('NOT_FOUND', d ? `container ${name} exists but is not managed by clawpod` : `no clawpod agent named ${name}`, {
    hint: d ? `use podman/docker directly for it` : guess ? `did you mean ${guess}? (\`clawpod ps -a\` lists agents)` : `\`clawpod ps -a\` lists agents${known.length ? `: ${known.join(', ')}` : ' (there are none)'}`,
  });
}
