import type { Ctx } from './context.js';
import { targetRuntime, type ClusterTarget } from '../runtime/connect.js';
import { findAgent } from '../ops/find.js';
import { learnAgentSecrets, redactingWriter } from '../ops/redacted-output.js';

export default async function logs(ctx: Ctx, name: string, opts: { follow?: boolean; tail?: number } & ClusterTarget): Promise<void> {
  const rt = await targetRuntime(ctx.config, opts, () => ctx.runtime());
  const d = await findAgent(rt, name);
  await learnAgentSecrets(ctx.config, d);
  const w = redactingWriter(process);
  for await (const chunk of rt.logs(d.id, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) })) w.write(chunk);
  w.flush();
}
