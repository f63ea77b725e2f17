// `clawpod logs` and `exec` print what an agent wrote, which may include the secrets it was
// given: learn the agent's secret values (resolved again from its spec, best effort) and write
// whole lines through the redactor, so a value split across two chunks is still caught.
import type { Config } from '../config.js';
import type { ContainerDetails, OutputChunk } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { decodeSpecLabel } from '../plan/plan.js';
import { redactor } from '../secrets/redact.js';
import { resolveSecrets } from '../secrets/resolve.js';

export async function learnAgentSecrets(config: Config, d: ContainerDetails): Promise<void> {
  const decoded = decodeSpecLabel(d.labels[LABELS.spec]);
  if (!decoded) return;
  // resolving registers each value with the redactor; a secret we cannot read now cannot be shown either
  for (const s of decoded.agent.spec.secrets) await resolveSecrets([s], { specDir: decoded.specDir, config }).catch(() => undefined);
}

export function redactingWriter(out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }) {
  const pending = { stdout: '', stderr: '' };
  return {
    write(c: OutputChunk): void {
      const text = pending[c.stream] + c.data.toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      pending[c.stream] = text.slice(cut);
      if (cut > 0) out[c.stream].write(redactor.redact(text.slice(0, cut)));
    },
    flush(): void {
      for (const k of ['stdout', 'stderr'] as const) if (pending[k]) { out[k].write(redactor.redact(pending[k])); pending[k] = ''; }
    },
  };
}
