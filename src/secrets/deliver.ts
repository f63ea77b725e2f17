// Puts resolved secrets where the agent reads them: files in a host tmpfs folder mounted
// read-only at /run/secrets (default), or env variables when the spec asks (weaker: `inspect` shows env).
// The folders run as root in a world-writable place (/dev/shm): the root and secrets/ must be ours
// and private before anything is written, chowned or removed beneath them (security/safe-fs.ts).
import { existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClawpodError } from '../errors.js';
import { isPlainName, privateDir, setDirMode, writeNewFile } from '../security/safe-fs.js';
import type { ResolvedSecret } from './resolve.js';

export interface Delivery {
  /** Host folder holding the files, or undefined when no secret is file-delivered. */
  readonly hostDir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

function ids(user: string): { uid: number; gid: number } {
  const [u, g] = user.split(':');
  return { uid: Number(u), gid: Number(g ?? u) };
}

const WHAT = 'CLAWPOD_RUN_DIR';

/**
 * The checked folder of one container under secretsDir (RUN/secrets): RUN and RUN/secrets are
 * private folders of ours (created 0700 when `create`), else UNSAFE_PATH. Undefined when they do
 * not exist and `create` is false (nothing was ever delivered).
 */
export function secretsFolder(secretsDir: string, containerName: string, create: boolean): string | undefined {
  if (!isPlainName(containerName)) {
    throw new ClawpodError('UNSAFE_PATH', `container name ${JSON.stringify(containerName)} cannot name a folder under ${secretsDir}`, { hint: 'use an agent name that is a DNS label (lowercase letters, digits, "-")' });
  }
  if (!privateDir(dirname(secretsDir), { create, what: WHAT })) return undefined;
  if (!privateDir(secretsDir, { create, what: WHAT })) return undefined;
  return join(secretsDir, containerName);
}

/** True when the container's secrets folder exists (after the root checks). */
export function secretsDelivered(secretsDir: string, containerName: string): boolean {
  const dir = secretsFolder(secretsDir, containerName, false);
  return dir !== undefined && existsSync(dir);
}

/** Writes one file into a delivered folder (0500, opened for the write): never through a link. */
export function addSecretFile(dir: string, name: string, value: string, user: string, isRoot: boolean): void {
  // A running container's folder belongs to whoever the engine handed it to at start: in a user
  // namespace that is the agent's mapped host id (Podman's :U), not `user` as written. The new
  // file takes the folder's owner, or the agent could not read it (an OpenClaw gateway then
  // failed to reload the model token a warm-pool claim added).
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new ClawpodError('UNSAFE_PATH', `${dir} is not a folder (a link or a file): refusing to add secret ${name} to it`, { hint: 'remove the agent (clawpod rm -f NAME) and run it again' });
  const owner = isRoot ? (st.uid === 0 ? ids(user) : { uid: st.uid, gid: st.gid }) : undefined;
  setDirMode(dir, 0o700);
  try { writeNewFile(join(dir, name), value, { mode: 0o400, owner }); } finally { setDirMode(dir, 0o500, owner); }
}

/** `folder`: made and mounted even with no file to put in it (a warm-pool member gets its claimer's files later). */
export function deliverSecrets(secrets: readonly ResolvedSecret[], opts: { secretsDir: string; containerName: string; user: string; isRoot: boolean; folder?: boolean }): Delivery {
  const env: Record<string, string> = {};
  const files = secrets.filter((s) => s.spec.exposeAs === 'file');
  for (const s of secrets) if (s.spec.exposeAs === 'env') env[s.spec.name] = s.value;
  if (files.length === 0 && !opts.folder) return { hostDir: undefined, env };
  const dir = secretsFolder(opts.secretsDir, opts.containerName, true)!;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  const owner = opts.isRoot ? ids(opts.user) : undefined;
  for (const s of files) writeNewFile(join(dir, s.spec.name), s.value, { mode: 0o400, owner });
  setDirMode(dir, 0o500, owner);
  return { hostDir: dir, env };
}

export function removeDeliveredSecrets(secretsDir: string, containerName: string): void {
  const dir = secretsFolder(secretsDir, containerName, false);
  // rmSync unlinks a symlink it meets instead of following it
  if (dir) rmSync(dir, { recursive: true, force: true });
}
