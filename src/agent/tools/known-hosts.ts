// Strict host key checking for the SSH shell, as OpenSSH's `StrictHostKeyChecking yes` does it:
// the key the server shows must be one known_hosts lists for that host (plain or hashed names,
// `[host]:port` for ports other than 22, `*`/`?` patterns, `!` negation); `@revoked` keys are
// refused; `@cert-authority` lines are not used (no certificates). Pure: the caller reads the file.
import { createHash, createHmac } from 'node:crypto';

export interface KnownKey {
  readonly type: string;
  /** The key blob, as the server sends it. */
  readonly blob: Buffer;
  readonly revoked: boolean;
}

/** The name known_hosts files this host under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcard(pattern: string, name: string): boolean {
  const body = pattern.replace(/[.+^$(){}|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i').test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return wildcard(pattern, name);
}

/** Does a host-pattern list (`a,b,!c`) name `name`? A negated match wins. */
function listMatches(list: string, name: string): boolean {
  let hit = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) { if (patternMatches(p.slice(1), name)) return false; } else if (patternMatches(p, name)) hit = true;
  }
  return hit;
}

/** The keys known_hosts (its text) holds for `name`; malformed lines are skipped, as ssh does. */
export function keysFor(text: string, name: string): KnownKey[] {
  const out: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const marker = f[0]!.startsWith('@') ? f.shift() : undefined;
    if (marker === '@cert-authority' || f.length < 3) continue;
    const [hosts, type, b64] = f as [string, string, string];
    if (!listMatches(hosts, name)) continue;
    const blob = Buffer.from(b64, 'base64');
    if (blob.length > 0) out.push({ type, blob, revoked: marker === '@revoked' });
  }
  return out;
}

/** `SHA256:…`, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a key blob (its first SSH string). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

export type HostKeyVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether `presented` may be trusted for `name`; the reason names the host, the key's type and fingerprint, and the fix. */
export function checkHostKey(known: readonly KnownKey[], presented: Buffer, name: string, file: string): HostKeyVerdict {
  const shown = `${blobType(presented)} ${fingerprint(presented)}`;
  if (known.some((k) => k.revoked && k.blob.equals(presented))) {
    return { ok: false, reason: `the host key of ${name} (${shown}) is marked @revoked in ${file}; nothing was run` };
  }
  const trusted = known.filter((k) => !k.revoked);
  if (trusted.some((k) => k.blob.equals(presented))) return { ok: true };
  const fix = `if this key is the host's, put its line (ssh-keyscan${name.startsWith('[') ? ` -p ${name.slice(name.lastIndexOf(':') + 1)}` : ''} HOST, checked against the host's own \`ssh-keygen -lf\`) in the known_hosts secret`;
  if (trusted.length === 0) return { ok: false, reason: `host ${name} is not in ${file} (it showed ${shown}); nothing was run. Fix: ${fix}` };
  return {
    ok: false,
    reason: `the host key of ${name} does not match ${file}: it showed ${shown}, known_hosts has ${trusted.map((k) => `${k.type} ${fingerprint(k.blob)}`).join(', ')}; nothing was run (the host was changed or someone is in between). Fix: ${fix}`,
  };
}

/** Host key algorithms to offer for the known key types, so a server with several keys shows a known one. */
export function hostKeyAlgorithms(known: readonly KnownKey[]): string[] {
  const algs = new Set<string>();
  for (const k of known) {
    if (k.revoked) continue;
    if (k.type === 'ssh-rsa') { algs.add('rsa-sha2-512'); algs.add('rsa-sha2-256'); algs.add('ssh-rsa'); } else algs.add(k.type);
  }
  return [...algs];
}
