// Records of warm-pool claims (src/ops/pool.ts): a claimed member's labels still hold the pool's
// spec and names, so the instance's own spec is kept here until an upgrade re-creates it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config.js';
import type { ContainerDetails } from '../runtime/runtime.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';

function claimFile(config: Config, name: string): string {
  return join(config.dataDir, 'claims', `${name}.json`);
}

export function recordClaim(config: Config, name: string, agent: Agent, specDir: string): void {
  mkdirSync(join(config.dataDir, 'claims'), { recursive: true, mode: 0o700 });
  writeFileSync(claimFile(config, name), JSON.stringify({ agent, specDir, at: new Date().toISOString() }), { mode: 0o600 });
}

/** The spec of a claimed instance, or undefined for any other container. */
export function claimedSpec(config: Config, name: string): { agent: Agent; specDir: string } | undefined {
  const f = claimFile(config, name);
  if (!existsSync(f)) return undefined;
  try { return JSON.parse(readFileSync(f, 'utf8')) as { agent: Agent; specDir: string }; } catch { return undefined; }
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
