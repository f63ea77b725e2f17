// Filling a warm pool: members started cold, one at a time, until SIZE are ready — each made from
// the pool's spec as src/ops/pool-spec.ts shapes it, hardened like any `clawpod run -d`, recorded as a
// member with the spec's hash. A fill whose spec hashes differently drains the old members first
// (a changed spec rebuilds the pool instead of serving stale members); members that exited go too.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { profileNamed } from '../profiles/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { loadAgents } from '../spec/load.js';
import { AGENT_NAME_MAX, checkAgentName } from '../spec/names.js';
import type { LoadedAgent } from '../spec/parse.js';
import { discardMember, drainPool, poolMembers, POOL_ROLE, pruneLostMembers, type Member } from './pool.js';
import { checkPoolable, memberAgent, memberAgentName, specHash } from './pool-spec.js';
import { clearRefillMarker, poolRecord, withPoolLock, writePoolRecord, type PoolRecord } from './pool-records.js';
import { startCold } from './start.js';
import { profileOf } from './payload.js';

/** Room in a member's name (POOL-pool-xxxxxx) within an agent name's limit. */
const POOL_NAME_MAX = AGENT_NAME_MAX - '-pool-xxxxxx'.length;
/** The most members one pool keeps. */
export const POOL_SIZE_MAX = 500;

export interface PoolSource { readonly spec?: string; readonly profile?: string; readonly version?: string }

/** The pool's spec: a spec file's one agent (relative to `dir`), or a profile's defaults. */
export async function loadPoolSpec(config: Config, src: PoolSource, dir = process.cwd()): Promise<{ loaded: LoadedAgent; source: string }> {
  if (src.spec !== undefined) {
    const file = resolve(dir, src.spec);
    const loaded = await loadAgents(file, config.dataDir);
    if (loaded.length !== 1) throw new ClawpodError('USAGE', `${file} holds ${loaded.length} agents; a warm pool is filled from one`, { hint: 'keep one Agent in the file, or give each its own pool' });
    return { loaded: loaded[0]!, source: file };
  }
  const profile = profileNamed(src.profile ?? '');
  const { parseProfileAgent } = await import('../spec/parse.js');
  const text = src.version ? `spec:\n  profile: {name: ${profile.name}, version: ${JSON.stringify(src.version)}}\n` : '';
  return { loaded: parseProfileAgent(profile.name, undefined, text, undefined), source: `profile ${profile.name}${src.version ? ` ${src.version}` : ''}` };
}

export function checkPoolName(pool: string, where: string): void {
  checkAgentName(pool, where);
  if (pool.length > POOL_NAME_MAX) {
    throw new ClawpodError('NAME_INVALID', `${where} ${pool} is too long for a warm pool: its members are named ${pool}-pool-xxxxxx, at most ${AGENT_NAME_MAX} characters`, { hint: `use a metadata.name of at most ${POOL_NAME_MAX} characters for a pooled spec` });
  }
}

export function checkPoolSize(size: number, where: string): void {
  if (!Number.isInteger(size) || size < 0 || size > POOL_SIZE_MAX) {
    throw new ClawpodError('USAGE', `${where} ${size} is not a member count`, { hint: `give a whole number from 0 to ${POOL_SIZE_MAX}, e.g. 2` });
  }
}

export interface FillResult {
  readonly pool: string;
  readonly hash: string;
  readonly started: readonly string[];
  /** Members removed: made from another spec, exited, or more than the size. */
  readonly removed: readonly string[];
  readonly ready: number;
}

export interface FillOptions {
  readonly size: number;
  readonly say: (s: string) => void;
  /** How long to wait for another filler of the pool: 0 returns undefined at once when one holds it. */
  readonly waitMs: number;
  /** Checked between members (a daemon stopping). */
  readonly stopped?: () => boolean;
}

/** Records the pool (its spec, hash and size) and fills it to its size. */
export async function fillPool(rt: Runtime, config: Config, loaded: LoadedAgent, source: string, opts: FillOptions): Promise<FillResult | undefined> {
  const { agent } = loaded;
  const pool = agent.metadata.name;
  checkPoolName(pool, 'the pool (metadata.name)');
  checkPoolSize(opts.size, '--size');
  checkPoolable(agent, source);
  const rec: PoolRecord = { name: pool, size: opts.size, hash: specHash(agent), agent, specDir: loaded.dir, source };
  return withPoolLock(config, pool, opts.waitMs, async () => {
    writePoolRecord(config, rec);
    return converge(rt, config, pool, opts);
  });
}

/** A refill to the recorded size from the recorded spec (after a claim; `clawpod pool fill --pool NAME`). */
export async function refillPool(rt: Runtime, config: Config, pool: string, opts: Omit<FillOptions, 'size'> & { size?: number }): Promise<FillResult | undefined> {
  checkPoolName(pool, 'POOL');
  return withPoolLock(config, pool, opts.waitMs, async () => {
    const rec = poolRecord(config, pool);
    if (!rec) throw new ClawpodError('NOT_FOUND', `no warm pool named ${pool}`, { hint: 'fill one with `clawpod pool fill --spec FILE --size N` (its metadata.name names it); `clawpod pool ls` lists pools' });
    if (opts.size !== undefined) { checkPoolSize(opts.size, '--size'); writePoolRecord(config, { ...rec, size: opts.size }); }
    return converge(rt, config, pool, opts);
  });
}

/** Under the pool's lock: stale and exited members out, then one member at a time until the recorded size. */
async function converge(rt: Runtime, config: Config, pool: string, opts: Omit<FillOptions, 'size'>): Promise<FillResult> {
  const first = poolRecord(config, pool)!;
  for (const n of await pruneLostMembers(rt, config, pool)) opts.say(`${pool}: forgot ${n} (its container is gone)`);
  const stale = (m: Member) => m.mark?.hash !== first.hash || m.state !== 'running';
  const removed = await drainPool(rt, config, pool, (m) => {
    if (stale(m)) opts.say(`${pool}: removing ${m.name} (${m.state !== 'running' ? m.state : 'made from another spec'})`);
    return stale(m);
  });
  const started: string[] = [];
  for (;;) {
    // a claim that found a refill on its way counts on this count coming after it (src/ops/pool-refill.ts)
    clearRefillMarker(config, pool);
    const rec = poolRecord(config, pool);
    if (!rec || rec.hash !== first.hash || opts.stopped?.()) break; // removed, refilled from another spec, or stopping
    const ready = (await poolMembers(rt, config, pool)).filter((m) => !stale(m));
    if (ready.length > rec.size) {
      for (const m of ready.slice(rec.size).reverse()) {
        await discardMember(rt, config, profileOf(rec.agent), m);
        removed.push(m.name);
        opts.say(`${pool}: removed ${m.name} (more than the size, ${rec.size})`);
      }
      break;
    }
    if (ready.length === rec.size) break;
    // members that keep vanishing (stopped by someone, or never counted) must not make this loop forever
    if (started.length >= 2 * rec.size + 10) {
      throw new ClawpodError('UNHEALTHY', `warm pool ${pool}: started ${started.length} members and still has ${ready.length} of ${rec.size} ready`, { hint: `\`clawpod pool ls ${pool}\` shows their states; \`clawpod logs MEMBER\` why they stop` });
    }
    started.push(await startMember(rt, config, rec, ready.length, opts.say));
  }
  const ready = (await poolMembers(rt, config, pool)).filter((m) => !stale(m)).length;
  return { pool, hash: first.hash, started, removed, ready };
}

async function startMember(rt: Runtime, config: Config, rec: PoolRecord, have: number, say: (s: string) => void): Promise<string> {
  const name = `${memberAgentName(rec.name)}-${randomBytes(3).toString('hex')}`;
  const t0 = Date.now();
  const member = { pool: rec.name, hash: rec.hash };
  const loaded: LoadedAgent = { agent: memberAgent(rec.agent), file: rec.source, dir: rec.specDir };
  const r = await startCold(rt, config, loaded, {
    name, say: () => undefined, extra: { member, labels: { [LABELS.role]: POOL_ROLE, [LABELS.pool]: rec.name, [LABELS.poolSpec]: rec.hash } },
  });
  // a member waits for its claimer: one whose program ended is no use
  const d = await rt.inspectContainer(r.run.id);
  if (d?.state !== 'running') {
    await discardMember(rt, config, profileOf(rec.agent), { id: r.run.id, name, labels: d?.labels ?? {} }).catch(() => undefined);
    throw new ClawpodError('UNHEALTHY', `warm member ${name} of pool ${rec.name} ${d ? `exited (code ${d.exitCode ?? '?'})` : 'went away'} right after it started: a member must keep running until it is claimed`, {
      hint: 'give the pooled spec a command that stays up (a server, or an idle keeper such as command: [sleep, infinity]) and have it read /run/secrets when it needs them',
    });
  }
  say(`${rec.name}: ${name} ready (${have + 1} of ${rec.size}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return name;
}
