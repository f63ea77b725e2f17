// Host mounts are checked against an allowlist kept outside any project
// (~/.config/clawpod/mount-allowlist.json) so a spec cannot widen its own access.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ClawpodError, messageOf } from '../errors.js';
import type { MountSpec } from '../spec/schema.js';
import { blockedRule, SENSITIVE_HOME_DIRS, type BlockRule } from './blocked.js';

export interface AllowedRoot { readonly path: string; readonly allowReadWrite: boolean; readonly description?: string }
export interface Allowlist { readonly file: string; readonly allowedRoots: readonly AllowedRoot[]; readonly blockedPatterns: readonly string[] }

export const ALLOWLIST_FILE = 'mount-allowlist.json';

function defaultAllowlist(): object {
  return {
    $comment: 'Host folders clawpod agents may mount. Paths under an allowed root are allowed; the built-in blocked patterns (.ssh, .aws, *.pem, ...) always win. Add roots here, never in a project.',
    version: 1,
    allowedRoots: [{ path: '~/clawpod', allowReadWrite: true, description: 'folders you share with agents' }],
    blockedPatterns: [],
  };
}

const expandHome = (p: string, home: string): string => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);

/** Loads the allowlist, creating it with safe defaults (0600, in a 0700 folder) when missing. */
export function loadAllowlist(configDir: string, home: string, say?: (s: string) => void): Allowlist {
  const file = join(configDir, ALLOWLIST_FILE);
  if (!existsSync(file)) {
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(defaultAllowlist(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    say?.(`created ${file} (allowed roots: ~/clawpod); edit it to share more folders`);
  }
  let raw: { allowedRoots?: unknown; blockedPatterns?: unknown };
  try { raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw; } catch (e) {
    throw new ClawpodError('MOUNT_INVALID', `${file} is not valid JSON: ${messageOf(e)}`, { hint: `fix the file or delete it to get the defaults back` });
  }
  const roots = Array.isArray(raw.allowedRoots) ? raw.allowedRoots : undefined;
  const patterns = raw.blockedPatterns === undefined ? [] : Array.isArray(raw.blockedPatterns) ? raw.blockedPatterns : undefined;
  if (!roots || !patterns || !roots.every((r) => r && typeof (r as AllowedRoot).path === 'string') || !patterns.every((p) => typeof p === 'string')) {
    throw new ClawpodError('MOUNT_INVALID', `${file}: expected {"allowedRoots": [{"path": "...", "allowReadWrite": bool}], "blockedPatterns": ["glob", ...]}`, { hint: 'fix the file or delete it to get the defaults back' });
  }
  return {
    file,
    allowedRoots: (roots as AllowedRoot[]).map((r) => ({ path: expandHome(r.path, home), allowReadWrite: r.allowReadWrite === true, ...(r.description ? { description: r.description } : {}) })),
    blockedPatterns: patterns as string[],
  };
}

export interface CheckedMount { readonly source: string; readonly target: string; readonly readOnly: boolean }

const SCAN_DEPTH = 2;
const SCAN_LIMIT = 5000;

/** Looks a little way into a folder for blocked names (a project with a .env, a stray key). */
function scanForBlocked(dir: string, check: (p: string) => BlockRule | undefined): { path: string; rule: BlockRule } | undefined {
  let seen = 0;
  const walk = (d: string, depth: number): { path: string; rule: BlockRule } | undefined => {
    let names: string[];
    try { names = readdirSync(d); } catch { return undefined; }
    for (const n of names) {
      if (++seen > SCAN_LIMIT) return undefined;
      const p = join(d, n);
      const rule = check(p);
      if (rule) return { path: p, rule };
      if (depth < SCAN_DEPTH) {
        try { if (lstatSync(p).isDirectory()) { const r = walk(p, depth + 1); if (r) return r; } } catch { /* vanished */ }
      }
    }
    return undefined;
  };
  return walk(dir, 1);
}

export function checkMount(
  m: MountSpec, index: number,
  ctx: { specDir: string; home: string; configDir: string; allowlist: Allowlist },
): CheckedMount {
  const where = `spec.mounts[${index}].hostPath`;
  if (m.hostPath.split(/[\\/]/).includes('..')) {
    throw new ClawpodError('MOUNT_INVALID', `${where}: "${m.hostPath}" contains "..", which clawpod refuses (rule: no ".." escapes)`, { hint: 'write the folder as an absolute path or a path below the spec file' });
  }
  const expanded = expandHome(m.hostPath, ctx.home);
  const abs = isAbsolute(expanded) ? expanded : resolve(ctx.specDir, expanded);
  let real: string;
  try { real = realpathSync(abs); } catch {
    throw new ClawpodError('MOUNT_INVALID', `${where}: "${m.hostPath}" does not exist (resolved to ${abs})`, { hint: `create it (mkdir -p ${abs}) or fix the path` });
  }
  const extra = ctx.allowlist.blockedPatterns.map((p) => ({ pattern: p, why: `blocked in ${ctx.allowlist.file}` }));
  const check = (p: string) => blockedRule(p, ctx.configDir, extra);
  for (const p of new Set([abs, real])) {
    const rule = check(p);
    if (rule) {
      throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}"${p === real && real !== abs ? ` (a link to ${real})` : ''} is blocked by rule "${rule.pattern}" (${rule.why})`, { hint: 'remove this mount; give secrets to agents with spec.secrets instead' });
    }
  }
  const inside = [...SENSITIVE_HOME_DIRS.map((d) => join(ctx.home, d)), ctx.configDir].find((s) => s === real || s.startsWith(real + sep));
  if (inside && existsSync(inside)) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" contains ${inside}, which is blocked (rule: no folder that holds credentials)`, { hint: 'mount a narrower folder' });
  }
  const found = lstatSync(real).isDirectory() ? scanForBlocked(real, check) : undefined;
  if (found) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" contains ${found.path}, blocked by rule "${found.rule.pattern}" (${found.rule.why})`, { hint: 'move that file out of the folder, or mount a narrower folder' });
  }
  const readOnly = m.readOnly ?? m.type !== 'data';
  const root = ctx.allowlist.allowedRoots.find((r) => {
    let rr: string;
    try { rr = realpathSync(r.path); } catch { return false; }
    return real === rr || real.startsWith(rr + sep);
  });
  if (!root) {
    throw new ClawpodError('MOUNT_NOT_ALLOWED', `${where}: "${m.hostPath}" (${real}) is under no allowed root of ${ctx.allowlist.file} (allowed: ${ctx.allowlist.allowedRoots.map((r) => r.path).join(', ') || 'none'})`, {
      hint: `add {"path": "${real}", "allowReadWrite": ${!readOnly}} to allowedRoots in ${ctx.allowlist.file}`,
    });
  }
  if (!readOnly && !root.allowReadWrite) {
    throw new ClawpodError('MOUNT_NOT_ALLOWED', `${where}: "${m.hostPath}" is under ${root.path}, which ${ctx.allowlist.file} allows read-only`, {
      hint: `set readOnly: true on the mount, or allowReadWrite: true for that root`,
    });
  }
  return { source: real, target: m.containerPath, readOnly };
}
