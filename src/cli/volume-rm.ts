// `clawpod volume rm`: deletes volumes clawpod made; one in use is refused unless -f, which removes
// the clawpod agents using it first (never another tool's container).
import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { removeOwned, type VolumeRemoved } from '../ops/volumes.js';

export default async function volumeRm(ctx: Ctx, names: string[], opts: { force?: boolean }): Promise<void> {
  const rt = await ctx.runtime();
  const removed: VolumeRemoved[] = [];
  for (const n of names) {
    const r = await removeOwned(rt, ctx.config, n, { force: opts.force ?? false });
    if (!r) throw new ClawpodError('NOT_FOUND', `no volume named ${n}`, { hint: '`clawpod volume ls` lists the volumes clawpod made' });
    removed.push(r);
  }
  if (ctx.json) { ctx.printJson(removed); return; }
  for (const r of removed) {
    if (r.agentsRemoved.length) ctx.say(`removed agent${r.agentsRemoved.length === 1 ? '' : 's'} using it: ${r.agentsRemoved.join(', ')}`);
    ctx.print(r.name);
  }
}
