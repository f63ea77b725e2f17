// What clawpod keeps of each warm pool in dataDir/pools (0700): NAME.json (the spec its members are
// made from, their hash, the size to keep), NAME.lock (one filler at a time, across processes: a
// CLI `pool fill`, a refill a claim started, the daemon) and NAME.refill (a refill is on its way).
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { Agent } from '../spec/schema.js';

export interface PoolRecord {
  readonly name: string;
  /** Members to keep ready. */
  readonly size: number;
  /** specHash of `agent` (src/ops/pool-spec.ts). */
  readonly hash: string;
  /** The pool's spec, as filled: a refill makes members of this, not of whatever the file says now. */
  readonly agent: Agent;
  readonly specDir: string;
  /** Where the spec came from, for `pool ls`. */
  readonly source: string;
}

const dir = (config: Config) => join(config.dataDir, 'pools');
/** Pool names are agent names (DNS labels), checked before they reach a path. */
const file = (config: Config, pool: string, ext: string) => join(dir(config), `${pool}.${ext}`);

export function writePoolRecord(config: Config, rec: PoolRecord): void {
  mkdirSync(dir(config), { recursive: true, mode: 0o700 });
  writeFileSync(file(config, rec.name, 'json'), JSON.stringify(rec), { mode: 0o600 });
}

export function poolRecord(config: Config, pool: string): PoolRecord | undefined {
  try { return JSON.parse(readFileSync(file(config, pool, 'json'), 'utf8')) as PoolRecord; } catch { return undefined; }
}

export function poolRecords(config: Config): PoolRecord[] {
  let names: string[] = [];
  try { names = readdirSync(dir(config)).filter((n) => n.endsWith('.json')); } catch { /* no pool yet */ }
  return names.map((n) => poolRecord(config, n.slice(0, -'.json'.length))).filter((r): r is PoolRecord => r !== undefined);
}

/** The pool is gone: refills under way stop at their next member. */
export function forgetPoolRecord(config: Config, pool: string): void {
  rmSync(file(config, pool, 'json'), { force: true });
  rmSync(file(config, pool, 'refill'), { force: true });
}

export const poolLogFile = (config: Config, pool: string) => file(config, pool, 'log');

/** The process a lock or marker names has ended (killed, crashed); a file too new to hold its pid yet is alive. */
function holderGone(path: string): boolean {
  let text = '';
  let age = 0;
  try { text = readFileSync(path, 'utf8').trim(); age = Date.now() - statSync(path).mtimeMs; } catch { return true; }
  const pid = Number(text);
  if (!text) return age > 10_000;
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try { process.kill(pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ESRCH'; }
}

/** Creates PATH holding `pid` unless a live holder has it; false when one does. */
function takeFile(path: string, pid: number): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try { writeSync(fd, `${pid}\n`); } finally { closeSync(fd); }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!holderGone(path)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

/**
 * Runs `fn` holding the pool's lock. `waitMs` 0: undefined at once when another filler holds it
 * (the daemon's periodic pass); otherwise waits that long, then POOL_BUSY.
 */
export async function withPoolLock<T>(config: Config, pool: string, waitMs: number, fn: () => Promise<T>): Promise<T | undefined> {
  const lock = file(config, pool, 'lock');
  for (let waited = 0; !takeFile(lock, process.pid); waited += 200) {
    if (waitMs === 0) return undefined;
    if (waited >= waitMs) throw new ClawpodError('IN_USE', `warm pool ${pool} is being filled by another clawpod (lock ${lock})`, { hint: `wait for it, or try again; if no clawpod is running, rm ${lock}` });
    await new Promise((r) => setTimeout(r, 200));
  }
  try { return await fn(); } finally { rmSync(lock, { force: true }); }
}

/**
 * Held while one claimer renames a member. The rename is the claim, but Podman (4.3) looks the old
 * name up before it locks the container, so two renames of one name at the same moment could both
 * succeed (the second renaming the first's instance): a burst of 100 claims did that. With this
 * lock, a second claimer renames only after the first's rename is done, and finds no such name.
 * Undefined when another live claimer holds it (try another member).
 */
export function takeMemberLock(config: Config, member: string): (() => void) | undefined {
  const path = join(dir(config), 'claiming', member);
  if (!takeFile(path, process.pid)) return undefined;
  return () => rmSync(path, { force: true });
}

/**
 * A claim asks for a refill: true when this caller should start one (it made the marker, naming
 * itself until it names the refill it started), false when one is already on its way — that one
 * counts the members only after it took the lock and removed the marker, so it sees this claim too.
 */
export function takeRefillMarker(config: Config, pool: string): boolean {
  return takeFile(file(config, pool, 'refill'), process.pid);
}

export function setRefillMarker(config: Config, pool: string, pid: number): void {
  writeFileSync(file(config, pool, 'refill'), `${pid}\n`, { mode: 0o600 });
}

export function clearRefillMarker(config: Config, pool: string): void {
  rmSync(file(config, pool, 'refill'), { force: true });
}
