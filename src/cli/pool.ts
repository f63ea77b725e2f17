// `clawpod pool fill|ls|rm`: warm pools of any spec or profile (docs/pools.md).
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ClawpodError } from '../errors.js';
import { drainPool, poolMembers } from '../ops/pool.js';
import { checkPoolName, fillPool, loadPoolSpec, refillPool, type FillResult } from '../ops/pool-fill.js';
import { forgetPoolRecord, poolLogFile, poolRecord, poolRecords, withPoolLock } from '../ops/pool-records.js';
import { rmSync } from 'node:fs';

interface FillOpts { spec?: string; profile?: string; pool?: string; size?: string; version?: string }

/** How long a fill waits for another filler of the same pool (a refill under way finishes its member first). */
const WAIT_MS = 15 * 60_000;

function sizeOf(opts: FillOpts, fallback: number): number {
  if (opts.size === undefined) return fallback;
  if (!/^\d+$/.test(opts.size)) throw new ClawpodError('USAGE', `--size ${opts.size} is not a member count`, { hint: 'give a whole number, e.g. --size 2' });
  return Number(opts.size);
}

export async function fill(ctx: Ctx, profileArg: string | undefined, opts: FillOpts): Promise<void> {
  const given = [profileArg ?? opts.profile, opts.spec, opts.pool].filter((x) => x !== undefined);
  if (given.length !== 1 || (profileArg && opts.profile)) {
    throw new ClawpodError('USAGE', 'pool fill takes one of --spec FILE, --profile NAME (or a profile as the argument) and --pool NAME', { hint: 'clawpod pool fill --spec agent.yaml --size 2, or clawpod pool fill --profile reference --size 2' });
  }
  if (opts.version && !(profileArg ?? opts.profile)) throw new ClawpodError('USAGE', '--version is a profile\'s payload version', { hint: 'use it with --profile NAME, or set spec.profile.version in the spec file' });
  const t0 = Date.now();
  const rt = await ctx.runtime();
  let r: FillResult | undefined;
  if (opts.pool !== undefined) {
    r = await refillPool(rt, ctx.config, opts.pool, { say: ctx.say, waitMs: WAIT_MS, ...(opts.size !== undefined ? { size: sizeOf(opts, 0) } : {}) });
  } else {
    const { loaded, source } = await loadPoolSpec(ctx.config, { ...(opts.spec !== undefined ? { spec: opts.spec } : { profile: profileArg ?? opts.profile! }), ...(opts.version ? { version: opts.version } : {}) });
    const size = sizeOf(opts, poolRecord(ctx.config, loaded.agent.metadata.name)?.size ?? 1);
    r = await fillPool(rt, ctx.config, loaded, source, { size, say: ctx.say, waitMs: WAIT_MS });
  }
  const done = r!;
  const seconds = (Date.now() - t0) / 1000;
  if (ctx.json) { ctx.printJson({ ...done, seconds }); return; }
  ctx.print(`${done.ready} warm member${done.ready === 1 ? '' : 's'} of ${done.pool} ready (${done.started.length} started${done.removed.length ? `, ${done.removed.length} removed` : ''} in ${seconds.toFixed(1)} s)`);
}

export async function list(ctx: Ctx, pool: string | undefined): Promise<void> {
  const rt = await ctx.runtime();
  if (pool === undefined) {
    const rows = [];
    for (const rec of poolRecords(ctx.config)) {
      const ready = (await poolMembers(rt, ctx.config, rec.name)).filter((m) => m.mark?.hash === rec.hash).length;
      rows.push({ name: rec.name, size: rec.size, ready, hash: rec.hash, source: rec.source });
    }
    if (ctx.json) { ctx.printJson(rows); return; }
    ctx.print(table([['POOL', 'READY', 'SIZE', 'SPEC', 'FROM'], ...rows.map((r) => [r.name, String(r.ready), String(r.size), r.hash.slice(0, 12), r.source])]));
    return;
  }
  checkPoolName(pool, 'POOL');
  const hash = poolRecord(ctx.config, pool)?.hash;
  const members = await poolMembers(rt, ctx.config, pool, { all: true });
  const rows = members.map((m) => ({ name: m.name, state: m.state, image: m.image, ports: m.ports, createdAt: m.createdAt, hash: m.mark?.hash ?? null, current: m.mark?.hash === hash }));
  if (ctx.json) { ctx.printJson(rows); return; }
  ctx.print(table([['MEMBER', 'STATE', 'IMAGE', 'PORT', 'CREATED', 'SPEC'], ...rows.map((r) => [r.name, r.state, r.image, r.ports.map((p) => `${p.hostIP}:${p.hostPort}`).join(',') || '-', r.createdAt, `${r.hash?.slice(0, 12) ?? '-'}${r.current ? '' : ' (stale)'}`])]));
}

/** The record goes first, so a refill under way stops at its next member; then, under the lock, the members. */
export async function drain(ctx: Ctx, pool: string): Promise<void> {
  checkPoolName(pool, 'POOL');
  forgetPoolRecord(ctx.config, pool);
  const rt = await ctx.runtime();
  const removed = (await withPoolLock(ctx.config, pool, WAIT_MS, () => drainPool(rt, ctx.config, pool)))!;
  rmSync(poolLogFile(ctx.config, pool), { force: true });
  if (ctx.json) ctx.printJson({ removed }); else ctx.print(`removed ${removed.length} warm member${removed.length === 1 ? '' : 's'} of ${pool}`);
}
