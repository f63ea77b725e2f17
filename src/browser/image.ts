// The browser sidecar's image, localhost/clawpod-browser:HASH, built from the host's Chromium
// when no image of that content hash exists: the files are streamed into a tar that the engine
// imports (no staging copy of ~400 MB), with progress every tenth of the way.
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { ClawpodError, messageOf } from '../errors.js';
import type { Images } from '../runtime/runtime.js';
import { browserFiles, contentHash, type ImageFile } from './files.js';
import { BROWSER_IMAGE_REPO } from './image-ref.js';

/** The uid:gid Chromium runs as: a passwd entry of its own, never root. */
export const BROWSER_USER = '1000:1000';
/** Bumped when what the builder adds (passwd, folders, ENV) changes: part of the content hash. */
const BUILDER = 'clawpod-browser-image/1';

const PASSWD = 'root:x:0:0:root:/root:/bin/false\nbrowser:x:1000:1000:browser:/tmp:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nbrowser:x:1000:\nnogroup:x:65534:\n';

function addDirs(p: Pack, files: readonly ImageFile[]): void {
  const dirs = new Set<string>();
  for (const f of files) for (let d = dirname(f.path); d !== '/' && !dirs.has(d); d = dirname(d)) dirs.add(d);
  for (const d of [...dirs].sort()) p.entry({ name: d.slice(1), type: 'directory', mode: 0o755 });
  // tmpfs mounts copy the image folder's mode (docs: ENVIRONMENT.md); 1777 so the browser can write its profile
  for (const d of ['tmp', 'proc', 'sys', 'dev', 'run', 'etc']) if (!dirs.has(`/${d}`)) p.entry({ name: d, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755 });
  p.entry({ name: 'etc/passwd', mode: 0o644 }, PASSWD);
  p.entry({ name: 'etc/group', mode: 0o644 }, GROUP);
  p.entry({ name: 'etc/nsswitch.conf', mode: 0o644 }, 'passwd: files\ngroup: files\nhosts: files dns\n');
}

/** Writes every file into the tar, one at a time, calling `progress` with the bytes written so far. */
async function fill(p: Pack, files: readonly ImageFile[], progress: (bytes: number) => void): Promise<void> {
  addDirs(p, files);
  let done = 0;
  for (const f of files) {
    const entry = p.entry({ name: f.path.slice(1), size: f.size, mode: f.mode });
    const from = createReadStream(f.host);
    // by chunk: the browser binary alone is three quarters of the bytes
    from.on('data', (c) => progress((done += c.length)));
    await pipeline(from, entry);
  }
  p.finalize();
}

export function browserImageRef(hash: string): string {
  return `${BROWSER_IMAGE_REPO}:${hash}`;
}

/** The sidecar image for this host's Chromium: the cached one, or built now (with progress through `say`). */
export async function ensureBrowserImage(rt: Images, say: (s: string) => void): Promise<string> {
  const files = browserFiles();
  const ref = browserImageRef(contentHash(files, BUILDER));
  if (await rt.inspectImage(ref)) return ref;
  const total = files.reduce((n, f) => n + f.size, 0);
  const mb = (n: number) => (n / 1_048_576).toFixed(0);
  say(`building the browser sidecar image ${ref} from this host's Chromium (${files.length} files, ${mb(total)} MB; once per Chromium version)`);
  const t0 = Date.now();
  const p = pack();
  let shown = 0;
  const filling = fill(p, files, (bytes) => {
    if (bytes - shown < total / 10 && bytes < total) return;
    shown = bytes;
    say(`  ${mb(bytes)}/${mb(total)} MB`);
  }).catch((e: unknown) => { p.destroy(e as Error); throw e; });
  try {
    await Promise.all([
      rt.importImage(p as unknown as Readable, ref, {
        changes: ['ENV PATH=/usr/bin:/bin', 'ENV HOME=/tmp', 'ENV XDG_CONFIG_HOME=/tmp/.config', 'ENV XDG_CACHE_HOME=/tmp/.cache', `USER ${BROWSER_USER}`, 'LABEL dev.clawpod.built=true'],
      }),
      filling,
    ]);
  } catch (e) {
    if (e instanceof ClawpodError) throw e;
    throw new ClawpodError('IMAGE_BUILD_FAILED', `building the browser sidecar image ${ref} failed: ${messageOf(e)}`, { hint: 'check that podman is running and /var/lib/containers has ~500 MB free', cause: e });
  }
  say(`  imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return ref;
}
