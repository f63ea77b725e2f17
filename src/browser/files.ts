// Which host files make the browser sidecar's root filesystem: Debian's chromium, the shared
// libraries ldd names for it and for what it loads at run time (GL, NSS), fonts, and tini.
// No registry is needed: the image is the host's own browser (docs/browser.md).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClawpodError } from '../errors.js';
import { sharedLibraries } from '../images/host-base.js';
import { CHROMIUM_BIN, CHROMIUM_DIR } from './image-ref.js';

const TINI = '/usr/bin/tini-static';
const MULTIARCH = '/usr/lib/x86_64-linux-gnu';
/** Loaded with dlopen, so ldd of the browser does not name them: GL (SwiftShader) and NSS's crypto modules. */
const DLOPENED = [`${CHROMIUM_DIR}/libEGL.so`, `${CHROMIUM_DIR}/libGLESv2.so`, `${CHROMIUM_DIR}/libvk_swiftshader.so`];
const NSS_MODULES = ['libsoftokn3', 'libfreeblpriv3', 'libfreebl3', 'libnssckbi', 'libnssdbm3'];
const FONT_DIRS = ['/etc/fonts', '/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/liberation'];
/** Unneeded in a headless browser and large (the Vulkan validation layer alone is 23 MB). */
const SKIPPED = /libVkLayer_khronos_validation|libVkICD_mock_icd|\.TOC$/;

/** One file of the image: read from `host`, placed at `path`. */
export interface ImageFile { readonly path: string; readonly host: string; readonly size: number; readonly mtimeMs: number; readonly mode: number }

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

/** The browser's files on this host, sorted by path; refuses with the install command when chromium is missing. */
export function browserFiles(): ImageFile[] {
  for (const need of [CHROMIUM_BIN, TINI]) {
    if (!existsSync(need)) {
      throw new ClawpodError('IMAGE_BUILD_FAILED', `the browser sidecar image is built from the host's Chromium, and ${need} is missing`, {
        hint: 'apt-get install -y chromium tini (./scripts/setup.sh installs both)',
      });
    }
  }
  const paths = new Set<string>();
  for (const f of walk(CHROMIUM_DIR)) {
    // one locale is enough for a headless browser (the others are 40 MB)
    if (f.includes('/locales/') && !f.endsWith('/en-US.pak')) continue;
    if (!SKIPPED.test(f)) paths.add(f);
  }
  const nss = readdirSync(MULTIARCH).filter((n) => NSS_MODULES.some((m) => n === `${m}.so` || n === `${m}.chk`)).map((n) => join(MULTIARCH, n));
  for (const elf of [CHROMIUM_BIN, `${CHROMIUM_DIR}/chrome_crashpad_handler`, ...DLOPENED, ...nss.filter((n) => n.endsWith('.so'))]) {
    if (existsSync(elf)) for (const lib of sharedLibraries(elf)) paths.add(lib);
  }
  for (const p of [...nss, ...FONT_DIRS.flatMap(walk)]) paths.add(p);
  const files = [...paths].map((p): ImageFile => {
    const st = statSync(p); // follows links: the image holds the files themselves
    return { path: p, host: p, size: st.size, mtimeMs: Math.trunc(st.mtimeMs), mode: st.mode & 0o7777 };
  });
  files.push({ path: '/usr/bin/tini', host: TINI, ...(({ size, mtimeMs, mode }) => ({ size, mtimeMs: Math.trunc(mtimeMs), mode: mode & 0o7777 }))(statSync(TINI)) });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The image's content hash: every file's path, size, mtime and mode, and what the builder adds.
 * Reading stats only, so a `clawpod run` whose image is built pays milliseconds; a package upgrade
 * changes sizes and mtimes and so the tag.
 */
export function contentHash(files: readonly ImageFile[], builder: string): string {
  const h = createHash('sha256').update(builder);
  for (const f of files) h.update(`\n${f.path}\0${f.size}\0${f.mtimeMs}\0${f.mode}`);
  return h.digest('hex').slice(0, 16);
}
