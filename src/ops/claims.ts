// Records of warm-pool claims (src/ops/pool.ts): a claimed member's labels still hold the pool's
// spec and names, so the instance's own spec (and labels) are kept here until an upgrade re-creates it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config.js';
import type { ContainerDetails } from '../runtime/runtime.js';
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';

function claimFile(config: Config, name: string): string {
  return join(config.dataDir, 'claims', `${name}.json`);
}

interface ClaimRecord { readonly agent: Agent; readonly specDir: string; readonly at: string; readonly labels?: Readonly<Record<string, string>> }

export function recordClaim(config: Config, name: string, agent: Agent, specDir: string, labels?: Readonly<Record<string, string>>): void {
  mkdirSync(join(config.dataDir, 'claims'), { recursive: true, mode: 0o700 });
  const rec: ClaimRecord = { agent, specDir, at: new Date().toISOString(), ...(labels && Object.keys(labels).length ? { labels } : {}) };
  writeFileSync(claimFile(config, name), JSON.stringify(rec), { mode: 0o600 });
}

function readClaim(config: Config, name: string): ClaimRecord | undefined {
  const f = claimFile(config, name);
  if (!existsSync(f)) return undefined;
  try { return JSON.parse(readFileSync(f, 'utf8')) as ClaimRecord; } catch { return undefined; }
}

/** The spec of a claimed instance, or undefined for any other container. */
export function claimedSpec(config: Config, name: string): { agent: Agent; specDir: string } | undefined {
  return readClaim(config, name);
}

/** The agent a container is: a claimed warm-pool member (renamed, its labels still the pool's) is its claimer's. */
export function agentNameOf(config: Config, c: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): string {
  const label = c.labels[LABELS.agent] ?? '';
  if (c.labels[LABELS.role] !== 'pool' || c.name === c.labels[LABELS.instance]) return label;
  return claimedSpec(config, c.name)?.agent.metadata.name ?? label;
}

/** The labels its claimer gave a claimed instance (its container's are still the pool's; the engine cannot change them). */
export function claimedLabels(config: Config, name: string): Readonly<Record<string, string>> {
  return readClaim(config, name)?.labels ?? {};
}

export function forgetClaim(config: Config, name: string): void {
  rmSync(claimFile(config, name), { force: true });
}

/**
 * The folder name under secretsDir a container's /run/secrets comes from: its name, except for a
 * claimed warm-pool member, which keeps the folder it was created with.
 */
export function secretsFolderOf(config: Config, d: Pick<ContainerDetails, 'name' | 'mounts'>): string {
  const src = d.mounts.find((m) => m.target === DEFAULTS.secretsMountPath)?.source;
  return src && src.startsWith(`${config.secretsDir}/`) ? basename(src) : d.name;
}

/**
 * A claimed instance's state volume carries the pool member's name; this record keeps it the
 * instance's across `rm` + `run` (only `rm --volumes` forgets it).
 */
function volumeFile(config: Config, name: string): string {
  return join(config.dataDir, 'volumes', name);
}

export function recordVolume(config: Config, name: string, volume: string): void {
  mkdirSync(join(config.dataDir, 'volumes'), { recursive: true, mode: 0o700 });
  writeFileSync(volumeFile(config, name), `${volume}\n`, { mode: 0o600 });
}

export function volumeAlias(config: Config, name: string): string | undefined {
  try { return readFileSync(volumeFile(config, name), 'utf8').trim() || undefined; } catch { return undefined; }
}

export function forgetVolume(config: Config, name: string): void {
  rmSync(volumeFile(config, name), { force: true });
}

/** Every recorded alias, volume → the instance it now belongs to. */
export function volumeAliases(config: Config): Map<string, string> {
  let names: string[] = [];
  try { names = readdirSync(join(config.dataDir, 'volumes')); } catch { /* none recorded */ }
  const out = new Map<string, string>();
  for (const n of names) { const v = volumeAlias(config, n); if (v) out.set(v, n); }
  return out;
}
