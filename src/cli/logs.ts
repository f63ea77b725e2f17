import type { Ctx } from './context.js';
import { findAgent } from '../ops/find.js';

export default async function logs(ctx: Ctx, name: string, opts: { follow?: boolean; tail?: number }): Promise<void> {
  const rt = await ctx.runtime();
  const d = await findAgent(rt, name);
  for await (const chunk of rt.logs(d.id, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) })) {
    (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
  }
}
