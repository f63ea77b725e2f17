// `clawpod volume ls`: the workspace/state volumes clawpod made, whom they belong to, who uses them.
import type { Ctx } from './context.js';
import { table } from './context.js';
import { listOwnedVolumes } from '../ops/volumes.js';

export default async function volumeLs(ctx: Ctx): Promise<void> {
  const { volumes, unlisted } = await listOwnedVolumes(await ctx.runtime(), ctx.config);
  if (unlisted.length) ctx.say(`not listed: ${unlisted.length} volume${unlisted.length === 1 ? '' : 's'} with clawpod's labels that its records (${ctx.config.dataDir}/volumes-made) do not know`);
  if (ctx.json) { ctx.printJson(volumes); return; }
  ctx.print(table([
    ['NAME', 'AGENT', 'INSTANCE', 'CREATED', 'IN USE BY'],
    ...volumes.map((v) => [v.name, v.agent, v.instance, v.created ?? '-', v.inUseBy.join(',') || '-']),
  ]));
}
