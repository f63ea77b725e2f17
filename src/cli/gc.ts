import type { Ctx } from './context.js';
import { collectExpired } from '../lifecycle/gc.js';

export default async function gc(ctx: Ctx): Promise<void> {
  const removed = await collectExpired(await ctx.runtime(), ctx.config, { say: ctx.say });
  if (ctx.json) { ctx.printJson({ removed }); return; }
  if (!removed.length) { ctx.print('no expired agents'); return; }
  for (const r of removed) ctx.print(`removed expired ${r.name}: ${r.removed.join(', ') || 'nothing was left'}`);
}
