import type { Ctx } from './context.js';
import { startAgent } from '../ops/lifecycle.js';

export default async function start(ctx: Ctx, names: string[]): Promise<void> {
  const rt = await ctx.runtime();
  for (const n of names) { await startAgent(rt, ctx.config, n); ctx.print(n); }
}
