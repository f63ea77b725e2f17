// `clawpod logs` and `exec` print what an agent wrote, which may include the secrets it was
// given: learn the values clawpod recorded when it gave them (src/ops/instance-record.ts) and
// write whole lines through the redactor, so a value split across two chunks is still caught.
// Nothing is resolved here: the spec in a container's label (a Job's annotation) is written by
// whoever made the container, and resolving it ran their `exec` commands and read their files.
import type { Config } from '../config.js';
import type { ContainerDetails, OutputChunk } from '../runtime/runtime.js';
import { redactor } from '../secrets/redact.js';
import { instanceRecord } from './instance-record.js';

export async function learnAgentSecrets(config: Config, d: Pick<ContainerDetails, 'id' | 'name'>): Promise<void> {
  for (const s of instanceRecord(config, d)?.secrets ?? []) redactor.add(s.name, s.value);
}

/** Where whole, redacted lines go: a process's streams, or an API's event stream. */
export type LineSink = Record<'stdout' | 'stderr', { write(text: string): unknown }>;

export function redactingWriter(out: LineSink) {
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
