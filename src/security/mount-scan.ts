// The look inside a mount source before an agent gets it: every entry, down to a fixed depth and up
// to a fixed count, and an answer of "could not finish" (which the caller refuses) instead of a quiet
// stop. A secret three levels down, or after thousands of files, is as readable as one at the top.
import { readdirSync, readlinkSync, realpathSync, type Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BlockRule } from './blocked.js';

/** How far a scan goes; past either limit the mount is refused unless the allowlist says allowUnscanned. */
export const SCAN_LIMITS = Object.freeze({ depth: 32, entries: 100_000 });

export type ScanResult =
  | { readonly kind: 'clean' }
  /** `path` matched `rule`; `via` is where a symlink at `path` leads on the host. */
  | { readonly kind: 'blocked'; readonly path: string; readonly rule: BlockRule; readonly via?: string }
  /** The scan stopped at `path` for `why` (a limit, an unreadable folder): nothing after it was seen. */
  | { readonly kind: 'incomplete'; readonly path: string; readonly why: string };

const SOCKET: BlockRule = { pattern: '(unix socket)', why: 'a socket lets the agent talk to a host service, e.g. the Podman API' };

/**
 * Where a symlink leads on the host: its written target, and its resolved path when it resolves.
 * Podman binds a folder's links as links, and they resolve inside the container's own namespace,
 * so by themselves they show the agent nothing of the host. A link to a blocked file is refused all
 * the same: the same path may exist in the container (another mount, an image that mirrors the
 * host's layout), host-side tools that walk the folder (backups, editors, `cp -r`) follow it, and
 * it is how a secret is smuggled in by a later `cp -L`. It costs one readlink per link.
 */
function linkTargets(p: string): string[] {
  const out: string[] = [];
  try { out.push(resolve(dirname(p), readlinkSync(p))); } catch { return out; }
  try { out.push(realpathSync(p)); } catch { /* dangling or a loop: the written target is all there is */ }
  return out;
}

/**
 * Walks `root` without following links. `check` names the rule a path breaks (blocked names,
 * clawpod's own files), applied to every entry's path and to where every symlink leads.
 */
export function scanMountSource(root: string, check: (p: string) => BlockRule | undefined, limits = SCAN_LIMITS): ScanResult {
  let seen = 0;
  const walk = (dir: string, depth: number): ScanResult | undefined => {
    let entries: Dirent[];
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch (e) {
      return { kind: 'incomplete', path: dir, why: `it cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    if (entries.length && depth > limits.depth) return { kind: 'incomplete', path: dir, why: `it holds files more than ${limits.depth} levels deep` };
    for (const e of entries) {
      if (++seen > limits.entries) return { kind: 'incomplete', path: dir, why: `it holds more than ${limits.entries} entries` };
      const p = join(dir, e.name);
      const rule = check(p) ?? (e.isSocket() ? SOCKET : undefined);
      if (rule) return { kind: 'blocked', path: p, rule };
      if (e.isSymbolicLink()) {
        for (const t of linkTargets(p)) {
          const r = check(t);
          if (r) return { kind: 'blocked', path: p, rule: r, via: t };
        }
      } else if (e.isDirectory()) {
        const r = walk(p, depth + 1);
        if (r) return r;
      }
    }
    return undefined;
  };
  return walk(root, 1) ?? { kind: 'clean' };
}
