// clawpod fleet upgrade|status: a rolling upgrade of tenants, canaries first, resumable.
import { ClawpodError } from '../errors.js';
import type { Ctx } from './context.js';
import { table } from './context.js';
import { budgetOf } from './tenant.js';
import { upgradeKube, wantsKube, type KubeFlags } from './tenant-kube.js';

interface UpgradeOpts extends KubeFlags { version: string; selector?: string; maxUnavailable?: string; canary?: string; replayThreshold?: string; timeout?: string; file?: string }

function whole(v: string | undefined, flag: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ClawpodError('USAGE', `${flag} ${v}: expected a whole number ≥ ${min}`, { hint: `e.g. ${flag} ${Math.max(min, 1)}` });
  return n;
}

export async function upgrade(ctx: Ctx, opts: UpgradeOpts): Promise<number> {
  const threshold = opts.replayThreshold === undefined ? 0.2 : Number(opts.replayThreshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new ClawpodError('USAGE', `--replay-threshold ${opts.replayThreshold}: expected a share from 0 to 1`, { hint: 'e.g. --replay-threshold 0.2 (a fifth of the replayed turns may diverge)' });
  const maxUnavailable = whole(opts.maxUnavailable, '--max-unavailable', 1, 1);
  const canary = whole(opts.canary, '--canary', 1, 0);
  const { runRollout, rolloutHalted, versionOf } = await import('../fleet/rollout.js');
  if (wantsKube(opts)) {
    if (!opts.file) throw new ClawpodError('USAGE', 'fleet upgrade --kube needs -f FILE: the fleet file the tenants were applied from', { hint: `clawpod fleet upgrade --kube -f fleet.yaml --version ${opts.version}` });
    const { withFleetLock } = await import('../fleet/lock.js');
    const k = await withFleetLock(ctx.config, `fleet upgrade --kube --version ${opts.version}`, () => upgradeKube(ctx, opts.file!, { ...opts, maxUnavailable, canary, replayThreshold: threshold }));
    if (ctx.json) ctx.printJson(k); else printRollout(ctx, k);
    if (k.phase === 'halted') throw rolloutHalted(k);
    return 0;
  }
  const { parseSelector } = await import('../fleet/derive.js');
  const { listTenants } = await import('../fleet/store.js');
  const { localUpgrader } = await import('../fleet/local-upgrade.js');
  const { PROFILES } = await import('../profiles/index.js');
  const match = parseSelector(opts.selector);
  const tenants = listTenants(ctx.config).filter((r) => r.phase === 'ready' && match(r.tenant)).map((r) => r.tenant);
  const budgetMs = budgetOf(opts.timeout);
  const { withFleetLock } = await import('../fleet/lock.js');
  const rt = await ctx.runtime();
  const r = await withFleetLock(ctx.config, `fleet upgrade --version ${opts.version}`, () => runRollout(ctx.config, tenants, localUpgrader(rt, ctx.config, ctx.say, budgetMs), {
    version: opts.version, selector: opts.selector ?? '', maxUnavailable, canary, replayThreshold: threshold, say: ctx.say,
  }, (t) => versionOf(t, PROFILES[t.spec.profile.name]?.defaultVersion ?? '')));
  if (ctx.json) ctx.printJson(r); else printRollout(ctx, r);
  if (r.phase === 'halted') throw rolloutHalted(r);
  return 0;
}

function printRollout(ctx: Ctx, r: import('../fleet/rollout.js').Rollout): void {
  ctx.print(table([['TENANT', 'FROM', 'TO', 'RESULT', 'SECONDS', 'UNAVAILABLE', 'NOTE'], ...Object.entries(r.tenants).map(([n, e]) => [
    n + (e.canary ? ' (canary)' : ''), e.from, r.version, e.state, e.seconds?.toFixed(1) ?? '-', e.unavailableSeconds?.toFixed(1) ?? '-', e.error ?? '',
  ])]));
  const done = Object.values(r.tenants).filter((e) => e.state === 'done').length;
  ctx.print(`rollout to ${r.version}: ${r.phase}, ${done} of ${Object.keys(r.tenants).length} upgraded${r.replay ? `; replay of ${r.replay.tenant}: ${r.replay.diverged} of ${r.replay.turns} turns diverged` : ''}`);
}

export async function status(ctx: Ctx): Promise<number> {
  const { loadRollout } = await import('../fleet/rollout.js');
  const r = loadRollout(ctx.config);
  if (!r) throw new ClawpodError('NOT_FOUND', 'no fleet upgrade has run here', { hint: 'clawpod fleet upgrade --version V' });
  if (ctx.json) ctx.printJson(r); else printRollout(ctx, r);
  return r.phase === 'halted' ? 1 : 0;
}
