// A sandbox's files, only ever through the engine, so a path (with "..", or through a symlink)
// resolves inside the container's own filesystem and never on the host. Reading and listing use
// the engine's archive API (a stopped sandbox's files can still be read). Writing and removing
// run as the sandbox's own user through exec: the archive API writes as root (it would make
// root-owned folders in the workspace), and Podman cannot write into the container's /tmp tmpfs
// from outside its user namespace (EOVERFLOW), where exec can.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { ClawpodError } from '../errors.js';
import type { Archives, Runtime } from '../runtime/runtime.js';

/** The largest file read or written in one call. */
export const MAX_FILE_BYTES = 16 * 2 ** 20;
/** A listing reads the folder's whole tree through the engine: this many entries at most. */
const MAX_WALK = 200_000;

export interface FileInfo { name: string; path: string; type: 'file' | 'dir' | 'link' | 'other'; size: number; mode: number; mtime: string }

/** An absolute path, normalized; ".." cannot climb above the container's "/". */
export function sandboxPath(p: string, what = 'path'): string {
  if (!p.startsWith('/') || p.includes('\0')) throw new ClawpodError('USAGE', `${what} ${JSON.stringify(p)} is not an absolute path`, { hint: 'e.g. path=/workspace/out.txt' });
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Calls `each` for every entry of the archive of `path`; false from `each` stops the walk. Undefined when the path does not exist. */
async function walk(rt: Archives, id: string, path: string, each: (h: Header, body: AsyncIterable<Buffer>) => Promise<boolean>): Promise<true | undefined> {
  const tar = await rt.getArchive(id, path);
  if (!tar) return undefined;
  const ex = extract();
  tar.on('error', (e) => ex.destroy(e));
  tar.pipe(ex);
  try {
    for await (const entry of ex) {
      if (!(await each(entry.header, entry as AsyncIterable<Buffer>))) break;
      // what `each` left unread is drained, or the archive stops at the first file bigger than a buffer
      entry.resume();
    }
  } finally {
    tar.destroy();
  }
  return true;
}

const typeOf = (t: Header['type']): FileInfo['type'] => (t === 'file' || t === 'contiguous-file' ? 'file' : t === 'directory' ? 'dir' : t === 'symlink' ? 'link' : 'other');

/** The bytes of a regular file (a symlink is followed, inside the container). */
export async function readIn(rt: Archives, id: string, sandbox: string, path: string): Promise<Buffer> {
  let out: Buffer | undefined;
  const found = await walk(rt, id, path, async (h, body) => {
    if (typeOf(h.type) !== 'file') throw new ClawpodError('USAGE', `${path} in sandbox ${sandbox} is a ${h.type === 'directory' ? 'folder' : h.type}, not a file`, { hint: `list a folder with GET /v1/sandboxes/${sandbox}/files/list?path=${path}` });
    if ((h.size) > MAX_FILE_BYTES) throw tooLarge(path, sandbox, h.size);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    out = Buffer.concat(chunks);
    return false;
  });
  if (!found || out === undefined) throw new ClawpodError('NOT_FOUND', `no file ${path} in sandbox ${sandbox}`, { hint: `GET /v1/sandboxes/${sandbox}/files/list?path=${posix.dirname(path)} lists what is there` });
  return out;
}

function tooLarge(path: string, sandbox: string, size: number): ClawpodError {
  return new ClawpodError('TOO_LARGE', `${path} in sandbox ${sandbox} is ${size} bytes, over ${MAX_FILE_BYTES}`, { hint: 'move it in parts (exec split), or pack it smaller (exec tar czf)' });
}

/** The entries of a folder (one level), sorted by name. */
export async function listIn(rt: Archives, id: string, sandbox: string, dir: string): Promise<FileInfo[]> {
  const items: FileInfo[] = [];
  let base: string | undefined;
  let seen = 0;
  // "/." archives the root's children without a top entry; any other folder comes as "NAME/..."
  const found = await walk(rt, id, dir === '/' ? '/.' : dir, async (h) => {
    if (++seen > MAX_WALK) throw new ClawpodError('TOO_LARGE', `${dir} in sandbox ${sandbox} holds more than ${MAX_WALK} entries in all`, { hint: 'list a folder further down' });
    const name = h.name.replace(/^\.\//, '').replace(/\/+$/, '');
    if (dir !== '/' && base === undefined) {
      if (typeOf(h.type) !== 'dir') throw new ClawpodError('USAGE', `${dir} in sandbox ${sandbox} is not a folder`, { hint: `read it with GET /v1/sandboxes/${sandbox}/files?path=${dir}` });
      base = name;
      return true;
    }
    const rel = dir === '/' ? name : name.slice(base!.length + 1);
    if (rel && !rel.includes('/')) {
      items.push({ name: rel, path: posix.join(dir, rel), type: typeOf(h.type), size: h.size, mode: h.mode & 0o7777, mtime: h.mtime.toISOString() });
    }
    return true;
  });
  if (!found) throw new ClawpodError('NOT_FOUND', `no folder ${dir} in sandbox ${sandbox}`, { hint: `GET /v1/sandboxes/${sandbox}/files/list?path=/ lists from the top` });
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Runs a small shell script as the sandbox's user; a non-zero exit is `fail` with what it printed. */
async function shell(rt: Runtime, id: string, script: string, args: readonly string[], stdin: Buffer | undefined, fail: (code: number, stderr: string) => ClawpodError): Promise<void> {
  const r = await rt.exec(id, { cmd: ['/bin/sh', '-c', script, 'sh', ...args], ...(stdin ? { stdin: Readable.from([stdin]) } : {}) });
  if (r.exitCode !== 0) throw fail(r.exitCode, r.stderr.trim().slice(0, 500));
}

export function checkMode(mode: string | undefined): string {
  if (mode === undefined) return '644';
  // permission bits only: no setuid, setgid or sticky file
  if (!/^0?[0-7]{3}$/.test(mode)) throw new ClawpodError('USAGE', `mode ${JSON.stringify(mode)} is not a file mode`, { hint: 'three octal digits, e.g. mode=0644 or mode=755' });
  return mode.replace(/^0(?=\d{3}$)/, '');
}

/** Writes (replaces) a file, making its folders, as the sandbox's user. */
export async function writeIn(rt: Runtime, id: string, sandbox: string, path: string, bytes: Buffer, mode: string): Promise<void> {
  if (path === '/') throw new ClawpodError('USAGE', 'path / is a folder', { hint: 'name a file, e.g. path=/workspace/out.txt' });
  await shell(rt, id, 'set -e; d=${1%/*}; [ -z "$d" ] || mkdir -p -- "$d"; cat > "$1"; chmod "$2" "$1"', [path, mode], bytes,
    (_c, err) => new ClawpodError('USAGE', `cannot write ${path} in sandbox ${sandbox}: ${err || 'it failed'}`, { hint: 'the sandbox\'s user writes it: pick a folder it may write, e.g. /workspace or /tmp (its root filesystem is read-only)' }));
}

const GONE = 44;

/** Removes a file, or a folder with recursive; a missing path is NOT_FOUND. */
export async function removeIn(rt: Runtime, id: string, sandbox: string, path: string, recursive: boolean): Promise<void> {
  if (path === '/') throw new ClawpodError('USAGE', `path / cannot be removed from sandbox ${sandbox}`, { hint: 'kill the sandbox instead (DELETE /v1/sandboxes/{id})' });
  await shell(rt, id, `[ -e "$1" ] || [ -L "$1" ] || exit ${GONE}; if [ "$2" = 1 ]; then rm -rf -- "$1"; elif [ -d "$1" ] && [ ! -L "$1" ]; then echo "it is a folder" >&2; exit 1; else rm -f -- "$1"; fi`, [path, recursive ? '1' : '0'], undefined,
    (code, err) => code === GONE
      ? new ClawpodError('NOT_FOUND', `no file or folder ${path} in sandbox ${sandbox}`)
      : new ClawpodError('USAGE', `cannot remove ${path} from sandbox ${sandbox}: ${err || 'it failed'}`, { hint: err.includes('folder') ? 'add recursive=true to remove a folder with what it holds' : 'the sandbox\'s user removes it: it may remove what it may write' }));
}
