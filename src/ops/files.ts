// Files in and out of a container through the engine's archive API: works on a created (not yet
// started) or stopped container and reaches into its volumes, so config is seeded onto the state
// volume before the payload starts, and never as a live read-only mount.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import type { Archives } from '../runtime/runtime.js';

export interface FileEntry {
  /** Path relative to the target folder. */
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode?: number;
}

/** Writes files (and their parent folders) under `dir`, owned by uid:gid. */
export async function putFiles(rt: Archives, id: string, dir: string, files: readonly FileEntry[], owner: { uid: number; gid: number }): Promise<void> {
  const p = pack();
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = posix.dirname(f.path).split('/').filter((x) => x && x !== '.');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) { dirs.add(d); p.entry({ name: `${d}/`, type: 'directory', mode: 0o700, ...owner }); }
    }
    p.entry({ name: f.path, mode: f.mode ?? 0o600, ...owner }, f.content);
  }
  p.finalize();
  await rt.putArchive(id, dir, p as unknown as Readable);
}

/** The content of one file in a container, or undefined when it does not exist. */
export async function readFile(rt: Archives, id: string, path: string, maxBytes = 4 << 20): Promise<Buffer | undefined> {
  const tar = await rt.getArchive(id, path);
  if (!tar) return undefined;
  const ex = extract();
  let out: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: unknown) => { const b = c as Buffer; size += b.length; if (size <= maxBytes) chunks.push(b); });
      stream.on('end', () => {
        if (out === undefined && header.type === 'file') {
          if (size > maxBytes) { reject(new Error(`${path} is larger than ${maxBytes} bytes`)); return; }
          out = Buffer.concat(chunks);
        }
        next();
      });
      stream.resume();
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  tar.pipe(ex);
  await done;
  return out;
}
