import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { targetRuntime, type ClusterTarget } from '../runtime/connect.js';
import { findAgent } from '../ops/find.js';
import { learnAgentSecrets, redactingWriter } from '../ops/redacted-output.js';

interface LogsOpts extends ClusterTarget { follow?: boolean; tail?: number; egress?: boolean; json?: boolean }

export default async function logs(ctx: Ctx, name: string, opts: LogsOpts): Promise<void> {
  const rt = await targetRuntime(ctx.config, opts, () => ctx.runtime());
  const d = await findAgent(rt, name);
  if (opts.egress) return egressLogs(rt, d, opts);
  if (opts.json) throw new ClawpodError('USAGE', '--json goes with --egress', { hint: `clawpod logs ${name} --egress --json` });
  await learnAgentSecrets(ctx.config, d);
  const w = redactingWriter(process);
  for await (const chunk of rt.logs(d.id, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) })) w.write(chunk);
  w.flush();
}

async function egressLogs(rt: Runtime, d: { name: string; labels: Readonly<Record<string, string>> }, opts: LogsOpts): Promise<void> {
  const { egressEventsOf, formatEgressEvent } = await import('../egress/host-events.js');
  const { egressKeyOf, egressNames } = await import('../egress/names.js');
  const name = d.name;
  // a claimed warm member's proxy is named after the member it was
  const key = egressKeyOf(d);
  if (!(await rt.inspectContainer(egressNames(key).container))) {
    throw new ClawpodError('NOT_FOUND', `agent ${name} has no egress proxy here`, { hint: rt.kind === 'kubernetes' ? 'on Kubernetes the proxy is per namespace: kubectl logs deploy/clawpod-egress -n NAMESPACE' : 'only agents run with spec.egress have one (docs/egress.md)' });
  }
  for await (const e of egressEventsOf(rt, key, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) })) {
    process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEgressEvent(e)}\n`);
  }
}
