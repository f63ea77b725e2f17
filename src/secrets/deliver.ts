// Puts resolved secrets where the agent reads them: files in a host tmpfs folder mounted
// read-only at /run/secrets (default), or env variables when the spec asks (weaker: `inspect` shows env).
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedSecret } from './resolve.js';

export interface Delivery {
  /** Host folder holding the files, or undefined when no secret is file-delivered. */
  readonly hostDir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

function ids(user: string): [number, number] {
  const [u, g] = user.split(':');
  return [Number(u), Number(g ?? u)];
}

export function deliverSecrets(secrets: readonly ResolvedSecret[], opts: { secretsDir: string; containerName: string; user: string; isRoot: boolean }): Delivery {
  const env: Record<string, string> = {};
  const files = secrets.filter((s) => s.spec.exposeAs === 'file');
  for (const s of secrets) if (s.spec.exposeAs === 'env') env[s.spec.name] = s.value;
  if (files.length === 0) return { hostDir: undefined, env };
  const dir = join(opts.secretsDir, opts.containerName);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const [uid, gid] = ids(opts.user);
  for (const s of files) {
    const f = join(dir, s.spec.name);
    writeFileSync(f, s.value, { mode: 0o400 });
    if (opts.isRoot) chownSync(f, uid, gid);
  }
  chmodSync(dir, 0o500);
  if (opts.isRoot) chownSync(dir, uid, gid);
  return { hostDir: dir, env };
}

export function removeDeliveredSecrets(secretsDir: string, containerName: string): void {
  rmSync(join(secretsDir, containerName), { recursive: true, force: true });
}
