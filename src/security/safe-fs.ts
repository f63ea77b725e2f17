// File operations for folders someone else can write to (an agent's IPC folder) or could have
// created first (/dev/shm/clawpod): never follow a symlink there, never reuse a name that exists.
// Removal goes through rmSync, which unlinks symlinks instead of following them (Node's rimraf).
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ClawpodError, messageOf } from '../errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;

/** The calling process's uid (1000 where there is none, as in src/config.ts). */
const myUid = (): number => (typeof process.getuid === 'function' ? process.getuid() : 1000);

function unsafe(path: string, why: string, hint: string): ClawpodError {
  return new ClawpodError('UNSAFE_PATH', `${path} ${why}`, { hint });
}

/**
 * Makes sure `path` is a private folder of ours: created 0700 when missing; refused (UNSAFE_PATH)
 * when it is a symlink, not a folder, owned by another user, or writable by group or others,
 * because whoever controls it steers what we later write, chown or remove beneath it.
 * `create: false` only checks, and returns false when the folder does not exist.
 */
export function privateDir(path: string, opts: { create: boolean; what: string }): boolean {
  const hint = `remove or fix ${path} (it must be a folder owned by uid ${myUid()} with no group/other write bit, e.g. \`rm -rf ${path}\` if nothing of yours is in it), or point ${opts.what} elsewhere`;
  if (opts.create) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try { mkdirSync(path, { mode: 0o700 }); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  let st;
  try { st = lstatSync(path); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !opts.create) return false;
    throw unsafe(path, `cannot be checked: ${messageOf(e)}`, hint);
  }
  if (st.isSymbolicLink()) throw unsafe(path, 'is a symlink', hint);
  if (!st.isDirectory()) throw unsafe(path, 'is not a folder', hint);
  if (st.uid !== myUid()) throw unsafe(path, `is owned by uid ${st.uid}, not by us (uid ${myUid()})`, hint);
  if (st.mode & 0o022) throw unsafe(path, `is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`, hint);
  return true;
}

/**
 * Creates `path` and writes `data` with O_CREAT|O_EXCL|O_NOFOLLOW: a name that already exists
 * (a planted symlink or hard link) makes this throw EEXIST/ELOOP instead of writing through it.
 * The owner is set on the open descriptor, so nothing can swap the file between write and chown.
 */
export function writeNewFile(path: string, data: string | Buffer, opts: { mode: number; owner?: { uid: number; gid: number } | undefined }): void {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, opts.mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
    fchmodSync(fd, opts.mode); // the umask may have narrowed the open mode
    if (opts.owner) fchownSync(fd, opts.owner.uid, opts.owner.gid);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(path); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
}

/** chmod (and chown) a folder through a descriptor opened without following a symlink. */
export function setDirMode(path: string, mode: number, owner?: { uid: number; gid: number }): void {
  const fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isDirectory()) throw unsafe(path, 'is not a folder', 'remove it and try again');
    fchmodSync(fd, mode);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
  } finally { closeSync(fd); }
}

/** True when `name` is one plain path component (no "/", not "." or ".."): safe to join under a folder. */
export function isPlainName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !name.includes('/') && !name.includes('\0') && name !== '.' && name !== '..';
}
