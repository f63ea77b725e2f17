import type { Ctx } from './context.js';
import { stopAgent } from '../ops/lifecycle.js';

export default async function stop(ctx: Ctx, names: string[], opts: { time?: number }): Promise<void> {
  const rt = await ctx.runtime();
  for (const n of names) { await stopAgent(rt, n, opts.time); ctx.print(n); }
}
