import type { Ctx } from './context.js';
import { backupAgent, restoreAgent } from '../ops/backup.js';

export async function backup(ctx: Ctx, name: string, opts: { output?: string }): Promise<void> {
  const file = opts.output ?? `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.tar`;
  const r = await backupAgent(await ctx.runtime(), ctx.config, name, file, ctx.say);
  if (ctx.json) ctx.printJson(r); else ctx.print(`${r.file} (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`);
}

export async function restore(ctx: Ctx, name: string, opts: { input: string }): Promise<void> {
  await restoreAgent(await ctx.runtime(), ctx.config, name, opts.input, { say: ctx.say });
  if (ctx.json) ctx.printJson({ name, restoredFrom: opts.input }); else ctx.print(`${name} restored from ${opts.input}`);
}
