import type { Ctx } from './context.js';
import { removeAgent, type RemoveResult } from '../ops/lifecycle.js';

export default async function rm(ctx: Ctx, names: string[], opts: { force?: boolean; volumes?: boolean }): Promise<void> {
  const rt = await ctx.runtime();
  const results: RemoveResult[] = [];
  for (const n of names) results.push(await removeAgent(rt, ctx.config, n, { force: opts.force ?? false, volumes: opts.volumes ?? false }));
  if (ctx.json) { ctx.printJson(results); return; }
  for (const r of results) {
    ctx.print(r.name);
    if (r.volumeKept) ctx.say(`kept workspace volume ${r.volumeKept} (\`clawpod rm --volumes\` deletes it)`);
    if (r.volumeRemoved) ctx.say(`removed workspace volume ${r.volumeRemoved}`);
  }
}
