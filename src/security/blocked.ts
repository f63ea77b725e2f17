// Paths that never enter a container or an image, whatever an allowlist says.
import { lstatSync, readdirSync, realpathSync, type Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { ClawpodError } from '../errors.js';

export interface BlockRule { readonly pattern: string; readonly why: string }

export const BUILTIN_BLOCKED: readonly BlockRule[] = [
  { pattern: '.ssh', why: 'SSH keys' },
  { pattern: '.aws', why: 'AWS credentials' },
  { pattern: '.gnupg', why: 'GnuPG keys' },
  { pattern: '.kube', why: 'Kubernetes credentials' },
  { pattern: '.docker', why: 'registry credentials' },
  { pattern: '.env*', why: 'dotenv secrets' },
  { pattern: 'id_rsa*', why: 'SSH private key' },
  { pattern: 'id_ed25519*', why: 'SSH private key' },
  { pattern: 'id_ecdsa*', why: 'SSH private key' },
  { pattern: '*.pem', why: 'private key or certificate' },
  { pattern: '*.key', why: 'private key' },
  { pattern: 'credentials', why: 'credentials file' },
  { pattern: 'credentials.*', why: 'credentials file' },
  { pattern: '.credentials*', why: 'credentials file' },
  { pattern: '.git-credentials', why: 'git credentials' },
  { pattern: '.netrc', why: 'netrc passwords' },
  { pattern: '.pgpass', why: 'PostgreSQL passwords' },
];

/** Folders under HOME that a mount must not contain (mounting HOME itself would expose them). */
export const SENSITIVE_HOME_DIRS = ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.netrc', '.git-credentials'];

function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

export function matchesPattern(name: string, pattern: string): boolean {
  return globToRegExp(pattern).test(name);
}

/** The rule that blocks `path` (any component of it), or undefined. */
export function blockedRule(path: string, configDir: string, extra: readonly BlockRule[] = []): BlockRule | undefined {
  const abs = resolve(path);
  const cfg = resolve(configDir);
  if (abs === cfg || abs.startsWith(cfg + sep)) return { pattern: configDir, why: "clawpod's own config dir (holds the mount allowlist)" };
  const rules = [...BUILTIN_BLOCKED, ...extra];
  for (const part of abs.split(sep).filter(Boolean)) {
    const rule = rules.find((r) => matchesPattern(part, r.pattern));
    if (rule) return rule;
  }
  return undefined;
}

/**
 * Every entry under `root` (lstat: links are not followed, nor descended into), refusing the first
 * that a block rule matches: `what` names the folder in the error ("--add DIR", "spec.bundle"),
 * `into` where its files would go, `folder` what the user moves it out of. `root` must be a real
 * path (callers resolve it and refuse a link), and a folder is read only while it is still the
 * real folder the walk found, so a link swapped in after the lstat is not followed either.
 */
export function walkUnblocked(root: string, configDir: string, names: { what: string; into: string; folder: string }, visit: (path: string, st: Stats) => void): void {
  const walk = (d: string): void => {
    let real: string | undefined;
    try { real = realpathSync(d); } catch { real = undefined; }
    if (real !== d) {
      throw new ClawpodError('UNSAFE_PATH', `${names.what}: ${relative(root, d) || d} is not the folder it was (now ${real ?? 'gone'}); clawpod never follows links in ${names.folder}`, { hint: `leave ${names.folder} alone while clawpod reads it` });
    }
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rule = blockedRule(p, configDir);
      if (rule) {
        throw new ClawpodError('MOUNT_BLOCKED', `${names.what}: ${relative(root, p)} matches the blocked pattern "${rule.pattern}" (${rule.why}); secrets never go into ${names.into}`, {
          hint: `move it out of ${names.folder}; give secrets to agents with spec.secrets`,
        });
      }
      const st = lstatSync(p);
      visit(p, st);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(resolve(root));
}
