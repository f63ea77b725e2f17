// Reads a spec file and returns its validated agents. A spec that validated once is kept,
// already parsed and defaulted, under dataDir/spec-cache keyed by a hash of its text and of
// the validator build: a repeated `clawpod run -f same.yaml` then skips loading the YAML
// parser and the schema library (~50 ms of a ~250 ms run on these machines; bench/README.md).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ClawpodError, messageOf } from '../errors.js';
import type { LoadedAgent } from './parse.js';
import type { Agent } from './schema.js';
import { decodeUtf8 } from './utf8.js';

/** Set by scripts/bundle.mjs to a hash of the compiled spec modules; absent when unbundled (no cache). */
declare const __CLAWPOD_SPEC_BUILD__: string | undefined;
const BUILD = typeof __CLAWPOD_SPEC_BUILD__ === 'string' ? __CLAWPOD_SPEC_BUILD__ : undefined;
const MAX_ENTRIES = 256;

function readSpecText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? readFileSync(0) : readFileSync(file);
  } catch (e) {
    throw new ClawpodError('FILE_NOT_FOUND', `cannot read spec file ${file}: ${messageOf(e)}`, {
      hint: 'check the path given to -f (use - to read the spec from stdin)',
      cause: e,
    });
  }
  return decodeUtf8(bytes, file);
}

function readCache(path: string): Agent[] | undefined {
  try { return JSON.parse(readFileSync(path, 'utf8')) as Agent[]; } catch { return undefined; }
}

/** Best effort: a cache that cannot be written only costs speed. */
function writeCache(dir: string, path: string, agents: readonly Agent[]): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(agents), { mode: 0o600 });
    renameSync(tmp, path);
    const entries = readdirSync(dir);
    if (entries.length > MAX_ENTRIES) {
      const byAge = entries.map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs })).sort((a, b) => a.t - b.t);
      for (const { n } of byAge.slice(0, entries.length - MAX_ENTRIES)) rmSync(join(dir, n), { force: true });
    }
  } catch { /* read-only home, full disk: validate again next time */ }
}

export async function loadAgents(file: string, cacheRoot: string | undefined): Promise<LoadedAgent[]> {
  const text = readSpecText(file);
  const dir = file === '-' ? process.cwd() : dirname(resolve(file));
  const cacheDir = BUILD && cacheRoot ? join(cacheRoot, 'spec-cache') : undefined;
  const cachePath = cacheDir ? join(cacheDir, createHash('sha256').update(`${BUILD}\0${text}`).digest('hex')) : undefined;
  const cached = cachePath ? readCache(cachePath) : undefined;
  if (cached) return cached.map((agent) => ({ agent, file, dir }));
  const { parseAgents } = await import('./parse.js');
  const loaded = parseAgents(text, file);
  if (cacheDir && cachePath) writeCache(cacheDir, cachePath, loaded.map((l) => l.agent));
  return loaded;
}

/** `clawpod run PROFILE [--name N] [-f overrides.yaml]`: see parseProfileAgent. */
export async function loadProfileAgent(profile: string, name: string | undefined, file: string | undefined): Promise<LoadedAgent> {
  const text = file ? readSpecText(file) : '';
  const { parseProfileAgent } = await import('./parse.js');
  return parseProfileAgent(profile, name, text, file);
}
