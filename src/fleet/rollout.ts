// `clawpod fleet upgrade`: tenants moved to a new payload version, canaries first, then N at a time,
// each gated on its readiness probe AND a chat round trip through the LLM gateway. The first failure
// halts the rollout (that tenant is rolled back by the upgrader: same volumes, previous image); a
// canary replay that diverges halts it before the canaries are promoted (and rolls them back).
// Progress is written after every step to dataDir/fleet/rollout.json, so a killed CLI resumes
// where it stopped: `fleet upgrade` with the same version again, `fleet status` to read it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { PAYLOAD_VERSION } from '../spec/schema.js';
import type { Tenant } from './schema.js';

export type TenantStep = 'pending' | 'upgrading' | 'done' | 'rolled-back' | 'skipped' | 'not-started';

export interface RolloutTenant {
  readonly from: string;
  state: TenantStep;
  canary: boolean;
  seconds?: number;
  /** From the old payload stopped to the new one answering. */
  unavailableSeconds?: number;
  error?: string;
}

export interface Rollout {
  readonly version: string;
  readonly target: string;
  readonly selector: string;
  readonly maxUnavailable: number;
  readonly canary: number;
  readonly startedAt: string;
  updatedAt: string;
  phase: 'running' | 'halted' | 'done';
  halted?: { tenant: string; reason: string; turn?: number };
  replay?: { tenant: string; turns: number; diverged: number; seconds: number };
  tenants: Record<string, RolloutTenant>;
}

/** What a target (local engine or cluster) does for one tenant. */
export interface Upgrader {
  readonly target: string;
  /** Puts back a tenant whose upgrade was killed half-way (the old version, same volumes). */
  recover(t: Tenant): Promise<void>;
  /**
   * Why this tenant cannot show anything about the new version (its current one already fails the round
   * trip: its budget is spent, its own config broke it), or undefined. Such a tenant is skipped, not a halt:
   * one customer's state must not stop the fleet.
   */
  precheck?(t: Tenant): Promise<string | undefined>;
  /** Upgrades, gated on probes and a chat round trip; rolls that tenant back and throws on failure. */
  upgrade(t: Tenant, version: string): Promise<{ seconds: number; unavailableSeconds: number }>;
  /** Replays recorded turns of a canary on a copy of its state; undefined when nothing was recorded. */
  replay?(t: Tenant, version: string): Promise<{ turns: number; diverged: { seq: number; why: string }[]; seconds: number } | undefined>;
  /** Back to `version` without gates (canaries, after a replay diverged). */
  downgrade(t: Tenant, version: string): Promise<void>;
  /** The tenant's record now runs `version`. */
  settled(t: Tenant, version: string): void;
}

export interface RolloutOptions {
  readonly version: string;
  readonly selector: string;
  readonly maxUnavailable: number;
  readonly canary: number;
  /** Share of replayed turns that may diverge (0–1) before the rollout halts. */
  readonly replayThreshold: number;
  readonly say: (s: string) => void;
}

const fileOf = (config: Config) => join(config.dataDir, 'fleet', 'rollout.json');

export function loadRollout(config: Config): Rollout | undefined {
  try { return JSON.parse(readFileSync(fileOf(config), 'utf8')) as Rollout; } catch { return undefined; }
}

function save(config: Config, r: Rollout): void {
  r.updatedAt = new Date().toISOString();
  mkdirSync(join(config.dataDir, 'fleet'), { recursive: true, mode: 0o700 });
  const tmp = `${fileOf(config)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(r, null, 2), { mode: 0o600 });
  renameSync(tmp, fileOf(config));
}

export const versionOf = (t: Tenant, fallback: string) => t.spec.profile.version ?? fallback;

/** A new rollout, or the running one of the same version (resumed); another running one is refused. */
function begin(config: Config, tenants: readonly Tenant[], opts: RolloutOptions, target: string, defaultVersion: (t: Tenant) => string): Rollout {
  if (!PAYLOAD_VERSION.test(opts.version)) throw new ClawpodError('USAGE', `--version ${opts.version} is not a version`, { hint: 'letters, digits, ".", "_" and "-", e.g. 2026.9.6' });
  if (!(opts.maxUnavailable >= 1)) throw new ClawpodError('USAGE', `--max-unavailable ${opts.maxUnavailable}: expected 1 or more`, { hint: 'how many tenants may be down at once, e.g. --max-unavailable 5' });
  const prev = loadRollout(config);
  if (prev?.phase === 'running') {
    if (prev.version !== opts.version || prev.target !== target) {
      throw new ClawpodError('USAGE', `a rollout to ${prev.version} (${prev.target}) is in progress (it stopped at ${prev.updatedAt})`, { hint: `resume it: clawpod fleet upgrade --version ${prev.version}${prev.target === 'local' ? '' : ' --kube'}; \`clawpod fleet status\` shows where it is` });
    }
    opts.say(`resuming the rollout to ${prev.version} started ${prev.startedAt}`);
    return prev;
  }
  const sorted = [...tenants].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  // canaries are tenants that will move: labelled canary=true first, then the first by name fill up --canary
  const moving = sorted.filter((t) => defaultVersion(t) !== opts.version);
  const canaries = new Set([...new Set([...moving.filter((t) => t.metadata.labels.canary === 'true'), ...moving])].slice(0, opts.canary).map((t) => t.metadata.name));
  const r: Rollout = {
    version: opts.version, target, selector: opts.selector, maxUnavailable: opts.maxUnavailable, canary: opts.canary,
    startedAt: new Date().toISOString(), updatedAt: '', phase: 'running', tenants: {},
  };
  for (const t of sorted) {
    const from = defaultVersion(t);
    r.tenants[t.metadata.name] = { from, state: from === opts.version ? 'skipped' : 'pending', canary: canaries.has(t.metadata.name) };
  }
  save(config, r);
  return r;
}

export async function runRollout(config: Config, tenants: readonly Tenant[], up: Upgrader, opts: RolloutOptions, defaultVersion: (t: Tenant) => string): Promise<Rollout> {
  const r = begin(config, tenants, opts, up.target, defaultVersion);
  const byName = new Map(tenants.map((t) => [t.metadata.name, t]));
  const say = opts.say;
  const one = async (name: string): Promise<boolean> => {
    const t = byName.get(name);
    const e = r.tenants[name]!;
    if (!t) { e.state = 'not-started'; e.error = 'no longer selected or deleted'; save(config, r); return true; }
    if (e.state === 'upgrading') await up.recover(t); // killed mid-upgrade: the old one first
    const unfit = await up.precheck?.(t).catch((err: unknown) => `its check failed: ${messageOf(err)}`);
    if (unfit) {
      Object.assign(e, { state: 'skipped', error: `not upgraded: ${e.from} already fails: ${unfit}` });
      save(config, r);
      say(`${name}: ${e.error}`);
      return true;
    }
    e.state = 'upgrading';
    save(config, r);
    say(`${name}: ${e.from} → ${r.version}${e.canary ? ' (canary)' : ''}`);
    try {
      const res = await up.upgrade(t, r.version);
      Object.assign(e, { state: 'done', seconds: res.seconds, unavailableSeconds: res.unavailableSeconds });
      up.settled(t, r.version);
      say(`${name}: ${r.version} ready in ${res.seconds.toFixed(1)} s (unavailable ${res.unavailableSeconds.toFixed(1)} s)`);
      return true;
    } catch (err) {
      Object.assign(e, { state: 'rolled-back', error: isClawpodError(err) ? err.message : messageOf(err) });
      r.phase = 'halted';
      r.halted ??= { tenant: name, reason: e.error! };
      say(`${name}: failed and rolled back to ${e.from}: ${e.error}`);
      return false;
    } finally { save(config, r); }
  };
  const waves: string[][] = [];
  const todo = (canary: boolean) => Object.entries(r.tenants).filter(([, e]) => e.canary === canary && (e.state === 'pending' || e.state === 'upgrading')).map(([n]) => n);
  const canaries = todo(true);
  const rest = todo(false);
  for (let i = 0; i < canaries.length; i += r.maxUnavailable) waves.push(canaries.slice(i, i + r.maxUnavailable));
  const promote = waves.length; // the replay runs before this wave
  for (let i = 0; i < rest.length; i += r.maxUnavailable) waves.push(rest.slice(i, i + r.maxUnavailable));
  for (const [w, wave] of waves.entries()) {
    if (r.phase !== 'running') break;
    if (w === promote && !(await replayGate(config, r, byName, up, opts))) break;
    const ok = await Promise.all(wave.map(one));
    if (ok.includes(false)) break;
  }
  if (r.phase === 'running' && waves.length === promote && canaries.length > 0) await replayGate(config, r, byName, up, opts);
  if (r.phase === 'running') r.phase = 'done';
  for (const e of Object.values(r.tenants)) if (r.phase === 'halted' && e.state === 'pending') e.state = 'not-started';
  save(config, r);
  return r;
}

/** After the canaries: replay the first canary's recorded turns; too many divergent ones halt the rollout. */
async function replayGate(config: Config, r: Rollout, byName: Map<string, Tenant>, up: Upgrader, opts: RolloutOptions): Promise<boolean> {
  if (r.replay || !up.replay) return true;
  const canaries = Object.entries(r.tenants).filter(([, e]) => e.canary && e.state === 'done').map(([n]) => n);
  const first = canaries[0] ? byName.get(canaries[0]) : undefined;
  if (!first) return true;
  let res: Awaited<ReturnType<NonNullable<Upgrader['replay']>>>;
  try { res = await up.replay(first, r.version); } catch (e) {
    // a replay that cannot run says nothing good about the version: halt as for a divergence
    res = { turns: 0, diverged: [], seconds: 0 };
    r.halted = { tenant: first.metadata.name, reason: `canary replay could not run: ${isClawpodError(e) ? e.message : messageOf(e)}` };
  }
  if (!res) { opts.say(`${first.metadata.name}: no recorded turns to replay; promoting on the round-trip checks alone`); return true; }
  r.replay = { tenant: first.metadata.name, turns: res.turns, diverged: res.diverged.length, seconds: res.seconds };
  if (!r.halted && (res.turns === 0 || res.diverged.length / res.turns <= opts.replayThreshold)) { save(config, r); return true; }
  const d = res.diverged[0];
  r.phase = 'halted';
  r.halted ??= { tenant: first.metadata.name, turn: d!.seq, reason: `canary replay: ${res.diverged.length} of ${res.turns} turns diverged (threshold ${Math.round(opts.replayThreshold * 100)} %); first at turn ${d!.seq}: ${d!.why}` };
  opts.say(r.halted.reason);
  save(config, r); // halted before the canaries go back: a kill now must not resume into promoting
  for (const n of canaries) {
    const e = r.tenants[n]!;
    try {
      await up.downgrade(byName.get(n)!, e.from);
      up.settled(byName.get(n)!, e.from);
      Object.assign(e, { state: 'rolled-back', error: 'canary replay diverged' });
      opts.say(`${n}: rolled back to ${e.from}`);
    } catch (err) {
      e.error = `canary replay diverged, and going back to ${e.from} failed: ${messageOf(err)}`;
      opts.say(`${n}: ${e.error}`);
    }
    save(config, r);
  }
  return false;
}

export function rolloutHalted(r: Rollout): ClawpodError {
  return new ClawpodError('ROLLOUT_HALTED', `the rollout to ${r.version} halted at tenant ${r.halted?.tenant}: ${r.halted?.reason}`, {
    hint: `fix the version (or pick another) and run \`clawpod fleet upgrade --version V\` again; \`clawpod fleet status\` lists every tenant's state`,
  });
}
