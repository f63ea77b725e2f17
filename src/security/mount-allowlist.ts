// Host mounts are checked against an allowlist kept outside any project
// (~/.config/clawpod/mount-allowlist.json) so a spec cannot widen its own access.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ClawpodError, messageOf } from '../errors.js';
import type { MountSpec } from '../spec/schema.js';
import { blockedRule, SENSITIVE_HOME_DIRS } from './blocked.js';
import { scanMountSource, SCAN_LIMITS } from './mount-scan.js';
import { protectedHit, type ProtectedPath } from './protected-paths.js';

export interface AllowedRoot { readonly path: string; readonly allowReadWrite: boolean; readonly description?: string }
export interface Allowlist {
  readonly file: string; readonly allowedRoots: readonly AllowedRoot[]; readonly blockedPatterns: readonly string[];
  /** Folders mounted even when the scan cannot finish (too deep, too many entries, unreadable); what it does see still counts. */
  readonly allowUnscanned: readonly string[];
  /** Commands (absolute, ~ expanded) an `exec` secret source may run; none by default. */
  readonly allowedExecCommands: readonly string[];
}

export const ALLOWLIST_FILE = 'mount-allowlist.json';

function defaultAllowlist(): object {
  return {
    $comment: 'Host folders clawpod agents may mount. Paths under an allowed root are allowed; the built-in blocked patterns (.ssh, .aws, *.pem, ...) always win. Add roots here, never in a project. allowUnscanned: folders mounted even when the secret scan cannot finish (see docs/configuration.md).',
    version: 1,
    allowedRoots: [{ path: '~/clawpod', allowReadWrite: true, description: 'folders you share with agents' }],
    blockedPatterns: [],
    allowUnscanned: [],
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
  let raw: { allowedRoots?: unknown; blockedPatterns?: unknown; allowUnscanned?: unknown; allowedExecCommands?: unknown };
  try { raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw; } catch (e) {
    throw new ClawpodError('MOUNT_INVALID', `${file} is not valid JSON: ${messageOf(e)}`, { hint: `fix the file or delete it to get the defaults back` });
  }
  const roots = Array.isArray(raw.allowedRoots) ? raw.allowedRoots : undefined;
  const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) && v.every((p) => typeof p === 'string') ? (v as string[]) : undefined);
  const patterns = list(raw.blockedPatterns);
  const unscanned = list(raw.allowUnscanned);
  if (!roots || !patterns || !unscanned || !roots.every((r) => r && typeof (r as AllowedRoot).path === 'string')) {
    throw new ClawpodError('MOUNT_INVALID', `${file}: expected {"allowedRoots": [{"path": "...", "allowReadWrite": bool}], "blockedPatterns": ["glob", ...], "allowUnscanned": ["path", ...]}`, { hint: 'fix the file or delete it to get the defaults back' });
  }
  const commands = list(raw.allowedExecCommands);
  if (!commands || !commands.every((c) => isAbsolute(c) || c.startsWith('~/'))) {
    throw new ClawpodError('MOUNT_INVALID', `${file}: allowedExecCommands must be a list of absolute command paths`, { hint: 'e.g. "allowedExecCommands": ["/usr/local/bin/get-secret"]' });
  }
  return {
    file,
    allowedRoots: (roots as AllowedRoot[]).map((r) => ({ path: expandHome(r.path, home), allowReadWrite: r.allowReadWrite === true, ...(r.description ? { description: r.description } : {}) })),
    blockedPatterns: patterns,
    allowUnscanned: unscanned.map((p) => expandHome(p, home)),
    allowedExecCommands: commands.map((c) => expandHome(c, home)),
  };
}

export interface CheckedMount { readonly source: string; readonly target: string; readonly readOnly: boolean }

export interface MountCheckContext {
  readonly specDir: string;
  readonly home: string;
  readonly configDir: string;
  readonly allowlist: Allowlist;
  /** clawpod's own files (clawpodPaths): never a mount source, inside one, or held by one. */
  readonly protectedPaths: readonly ProtectedPath[];
  /** How errors name the mount; default spec.mounts[INDEX].hostPath. */
  readonly where?: string;
}

const realOf = (p: string): string | undefined => { try { return realpathSync(p); } catch { return undefined; } };
const within = (p: string, root: string): boolean => p === root || p.startsWith(root + sep);

export function checkMount(m: MountSpec, index: number, ctx: MountCheckContext): CheckedMount {
  const where = ctx.where ?? `spec.mounts[${index}].hostPath`;
  if (m.hostPath.split(/[\\/]/).includes('..')) {
    throw new ClawpodError('MOUNT_INVALID', `${where}: "${m.hostPath}" contains "..", which clawpod refuses (rule: no ".." escapes)`, { hint: 'write the folder as an absolute path or a path below the spec file' });
  }
  const expanded = expandHome(m.hostPath, ctx.home);
  const abs = isAbsolute(expanded) ? expanded : resolve(ctx.specDir, expanded);
  const real = realOf(abs);
  if (real === undefined) {
    throw new ClawpodError('MOUNT_INVALID', `${where}: "${m.hostPath}" does not exist (resolved to ${abs})`, { hint: `create it (mkdir -p ${abs}) or fix the path` });
  }
  const extra = ctx.allowlist.blockedPatterns.map((p) => ({ pattern: p, why: `blocked in ${ctx.allowlist.file}` }));
  // inside the folder: a blocked name, or a path that is (or lies in) one of clawpod's own files
  const check = (p: string) => {
    const hit = protectedHit(p, ctx.protectedPaths);
    return blockedRule(p, ctx.configDir, extra) ?? (hit && hit.relation !== 'contains' ? { pattern: hit.path.path, why: hit.path.why } : undefined);
  };
  for (const p of new Set([abs, real])) {
    const rule = blockedRule(p, ctx.configDir, extra);
    if (rule) {
      throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}"${p === real && real !== abs ? ` (a link to ${real})` : ''} is blocked by rule "${rule.pattern}" (${rule.why})`, { hint: 'remove this mount; give secrets to agents with spec.secrets instead' });
    }
  }
  const inside = [...SENSITIVE_HOME_DIRS.map((d) => join(ctx.home, d)), ctx.configDir].find((s) => s === real || s.startsWith(real + sep));
  if (inside && existsSync(inside)) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" contains ${inside}, which is blocked (rule: no folder that holds credentials)`, { hint: 'mount a narrower folder' });
  }
  const hit = protectedHit(real, ctx.protectedPaths);
  if (hit) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" (${real}) ${hit.relation} ${hit.path.path}, ${hit.path.why} (rule: clawpod's own files never enter an agent)`, { hint: 'mount a folder that neither holds nor lies inside it' });
  }
  const st = lstatSync(real);
  if (st.isSocket()) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" (${real}) is a unix socket (rule: no sockets; one lets the agent talk to a host service, e.g. the Podman API)`, { hint: 'remove this mount' });
  }
  const readOnly = m.readOnly ?? m.type !== 'data';
  const root = ctx.allowlist.allowedRoots.find((r) => { const rr = realOf(r.path); return rr !== undefined && within(real, rr); });
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
  const found = st.isDirectory() ? scanMountSource(real, check) : { kind: 'clean' as const };
  if (found.kind === 'blocked') {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" contains ${found.path}${found.via ? `, a symlink to ${found.via},` : ','} blocked by rule "${found.rule.pattern}" (${found.rule.why})`, {
      hint: found.via ? 'remove the link from the folder, or mount a narrower folder' : 'move that file out of the folder, or mount a narrower folder',
    });
  }
  if (found.kind === 'incomplete' && !ctx.allowlist.allowUnscanned.some((u) => { const ru = realOf(u); return ru !== undefined && within(real, ru); })) {
    throw new ClawpodError('MOUNT_BLOCKED', `${where}: "${m.hostPath}" could not be scanned for secrets: ${found.path}: ${found.why} (the scan reads ${SCAN_LIMITS.depth} levels and ${SCAN_LIMITS.entries} entries; clawpod refuses what it could not check)`, {
      hint: `mount a narrower folder, or accept that what lies past the limit goes in unchecked: add "${real}" to "allowUnscanned" in ${ctx.allowlist.file}`,
    });
  }
  return { source: real, target: m.containerPath, readOnly };
}
