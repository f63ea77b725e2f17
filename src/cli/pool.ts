import type { Ctx } from './context.js';
import { table } from './context.js';
import { ClawpodError } from '../errors.js';
import { drainPool, fillPool, unclaimedMembers } from '../ops/pool.js';
import { profileNamed } from '../profiles/index.js';

export async function fill(ctx: Ctx, profile: string, opts: { size?: string; version?: string }): Promise<void> {
  const size = opts.size === undefined ? 1 : Number(opts.size);
  if (!/^\d+$/.test(opts.size ?? '1') || size > 50) {
    throw new ClawpodError('USAGE', `--size ${opts.size ?? ''} is not a member count`, { hint: 'give a whole number from 0 to 50, e.g. --size 2' });
  }
  const t0 = Date.now();
  const r = await fillPool(await ctx.runtime(), ctx.config, profile, { size, ...(opts.version ? { version: opts.version } : {}), say: ctx.say });
  if (ctx.json) ctx.printJson({ ...r, seconds: (Date.now() - t0) / 1000 });
  else ctx.print(`${r.ready} warm ${profile} member${r.ready === 1 ? '' : 's'} ready (${r.started.length} started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

export async function list(ctx: Ctx, profile: string): Promise<void> {
  profileNamed(profile);
  const members = await unclaimedMembers(await ctx.runtime(), ctx.config, profile);
  if (ctx.json) { ctx.printJson(members.map((m) => ({ name: m.name, image: m.image, ports: m.ports, createdAt: m.createdAt }))); return; }
  ctx.print(table([['MEMBER', 'IMAGE', 'PORT', 'CREATED'], ...members.map((m) => [m.name, m.image, m.ports.map((p) => `${p.hostIP}:${p.hostPort}`).join(','), m.createdAt])]));
}

export async function drain(ctx: Ctx, profile: string): Promise<void> {
  const removed = await drainPool(await ctx.runtime(), ctx.config, profile);
  if (ctx.json) ctx.printJson({ removed }); else ctx.print(`removed ${removed.length} warm member${removed.length === 1 ? '' : 's'}`);
}
