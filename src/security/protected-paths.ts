// clawpod's own files — the control-plane token, instance records, the vault and its key, the
// secret files it delivers — never enter an agent, whatever a mount allowlist or a spec says:
// not as a mount source, not inside one, not as a folder that holds them, not through a bundle.
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Config } from '../config.js';

export interface ProtectedPath { readonly path: string; readonly why: string }

/** The paths as they are on disk (symlinks resolved), so a link to one is caught as the path itself. */
export function clawpodPaths(config: Pick<Config, 'configDir' | 'dataDir' | 'vaultFile' | 'vaultKeyFile' | 'secretsDir'>): ProtectedPath[] {
  return [
    { path: config.configDir, why: "clawpod's config dir (mount allowlist, vault key)" },
    { path: config.dataDir, why: "clawpod's data dir (control-plane token, instance records, vault)" },
    { path: config.vaultFile, why: "clawpod's secrets vault" },
    { path: config.vaultKeyFile ?? join(config.configDir, 'vault.key'), why: "the vault's key" },
    { path: dirname(config.secretsDir), why: 'where clawpod delivers secret files to agents' },
  ].map((p) => ({ ...p, path: onDisk(p.path) }));
}

/** realpath of the longest existing part, the rest appended: a folder made later is still caught. */
export function onDisk(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) {
    try { return realpathSync(abs); } catch { return abs; }
  }
  const parent = dirname(abs);
  return parent === abs ? abs : join(onDisk(parent), basename(abs));
}

export interface ProtectedHit { readonly path: ProtectedPath; readonly relation: 'is' | 'is inside' | 'contains' }

/** How `real` (a resolved path) touches a protected path, if it does. */
export function protectedHit(real: string, paths: readonly ProtectedPath[]): ProtectedHit | undefined {
  const under = (a: string, b: string) => b === sep || a.startsWith(b + sep);
  for (const p of paths) {
    if (real === p.path) return { path: p, relation: 'is' };
    if (under(real, p.path)) return { path: p, relation: 'is inside' };
    if (under(p.path, real)) return { path: p, relation: 'contains' };
  }
  return undefined;
}
