import type { Ctx } from './context.js';
import { collectExpired } from '../ops/lifecycle.js';

export default async function gc(ctx: Ctx): Promise<void> {
  const removed = await collectExpired(await ctx.runtime(), ctx.config);
  if (ctx.json) ctx.printJson({ removed });
  else ctx.print(removed.length ? `removed expired: ${removed.join(', ')}` : 'no expired agents');
}
