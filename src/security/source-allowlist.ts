// Secret sources reach the host the way mounts do, so they pass the same host-side checks: a
// `file` source reads only a file under an allowed root of the mount allowlist (by its real
// path, so a link cannot lead elsewhere; the blocked patterns and clawpod's own folders always
// win), and an `exec` source runs only a command listed in the same file's allowedExecCommands.
// That file lives outside any project (~/.config/clawpod/mount-allowlist.json): a spec names
// what it wants, the host's user decides what it may have.
import { realpathSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { blockedRule } from './blocked.js';
import { loadAllowlist } from './mount-allowlist.js';
import { clawpodPaths, protectedHit } from './protected-paths.js';

const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
const real = (p: string): string | undefined => { try { return realpathSync(p); } catch { return undefined; } };

/**
 * The real path of a `file` source's file when the host allows reading it, else a refusal:
 * MOUNT_BLOCKED for what is never read (keys, credentials, clawpod's own files), SOURCE_NOT_ALLOWED
 * for a file under no allowed root. `path` is absolute; a missing file is the caller's SECRET_MISSING.
 */
export function checkSecretFile(path: string, ctx: { where: string; config: Config }): string | undefined {
  const target = real(path);
  if (!target) return undefined;
  const allowlist = loadAllowlist(ctx.config.configDir, ctx.config.home);
  const extra = allowlist.blockedPatterns.map((p) => ({ pattern: p, why: `blocked in ${allowlist.file}` }));
  const link = target !== path ? ` (a link to ${target})` : '';
  for (const p of new Set([path, target])) {
    const rule = blockedRule(p, ctx.config.configDir, extra);
    if (rule) {
      throw new ClawpodError('MOUNT_BLOCKED', `${ctx.where}: ${path}${p === target ? link : ''} is blocked by rule "${rule.pattern}" (${rule.why}); a file source never reads it`, {
        hint: 'keep the secret in the vault instead: clawpod secret set NAME < FILE, then source: vault, secretRef: {name: NAME}',
      });
    }
  }
  // the same list of clawpod's own files the mount checks use (a file can only be or be inside one)
  const own = protectedHit(target, clawpodPaths(ctx.config));
  if (own) throw new ClawpodError('MOUNT_BLOCKED', `${ctx.where}: ${path}${link} ${own.relation} ${own.path.path}, ${own.path.why}`, { hint: 'point secretRef.name at a file of yours under an allowed root' });
  const root = allowlist.allowedRoots.find((r) => { const rr = real(r.path); return !!rr && inside(target, rr); });
  if (!root) {
    const folder = dirname(target);
    throw new ClawpodError('SOURCE_NOT_ALLOWED', `${ctx.where}: ${path}${link} is under no allowed root of ${allowlist.file} (allowed: ${allowlist.allowedRoots.map((r) => r.path).join(', ') || 'none'}), so a spec may not read it`, {
      hint: `move the file under an allowed root, or add {"path": "${folder}", "allowReadWrite": false} to allowedRoots in ${allowlist.file}`,
    });
  }
  return target;
}

/** The real path of an exec command the host's user listed; else SOURCE_NOT_ALLOWED naming the line to add. */
export function checkExecCommand(cmd: string, ctx: { where: string; config: Config }): string {
  // parsed and checked with the rest of the file (loadAllowlist), not read a second time
  const { file, allowedExecCommands: commands } = loadAllowlist(ctx.config.configDir, ctx.config.home);
  const target = real(cmd) ?? cmd;
  if (commands.some((c) => real(c) === target)) return target;
  throw new ClawpodError('SOURCE_NOT_ALLOWED', `${ctx.where}: the command ${cmd}${target !== cmd ? ` (${target})` : ''} is not in allowedExecCommands of ${file}, so a spec may not run it`, {
    hint: `if this host should run it whenever a spec asks, add it to ${file}: "allowedExecCommands": ["${target}"] (list only dedicated secret helpers, never a shell or an interpreter)`,
  });
}
