// A Node.js binary of a given major version without a registry for images: the npm registry
// publishes the official Linux builds as node-linux-<arch>@VERSION (what `npm i node@24` fetches).
// Downloaded once with `npm pack` into the cache, then reused.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ClawpodError, messageOf } from '../errors.js';

const run = promisify(execFile);

function npmArch(): string {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  throw new ClawpodError('USAGE', `no Node.js build on the npm registry for this host's architecture (${process.arch})`, { hint: 'pass --base IMAGE with an image that has the Node version the profile needs' });
}

/** The newest published version of a major line, e.g. 24 → "24.21.0". */
export async function latestNodeVersion(major: number): Promise<string> {
  const pkg = `node-linux-${npmArch()}`;
  try {
    const { stdout } = await run('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { timeout: 60_000 });
    const v = JSON.parse(stdout) as string | string[];
    const all = (Array.isArray(v) ? v : [v]).filter((x) => x.startsWith(`${major}.`));
    const newest = all.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop();
    if (!newest) throw new Error(`no ${major}.x versions published`);
    return newest;
  } catch (e) {
    throw new ClawpodError('IMAGE_BUILD_FAILED', `cannot find a Node.js ${major} build on the npm registry (${pkg}): ${messageOf(e).slice(0, 200)}`, {
      hint: 'check that npm reaches its registry (npm ping), or pass --base IMAGE with Node ' + major,
    });
  }
}

/** Versions already downloaded into cacheDir, oldest first. */
export function cachedNodeVersions(cacheDir: string): string[] {
  const dir = join(cacheDir, 'node');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && existsSync(join(dir, v, 'package', 'bin', 'node')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Path of bin/node of that version, downloading it into cacheDir/node/VERSION when missing. */
export async function nodeBinary(version: string, cacheDir: string, say: (s: string) => void): Promise<string> {
  const dir = join(cacheDir, 'node', version);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const pkg = `node-linux-${npmArch()}@${version}`;
  const tmp = `${dir}.part-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    say(`downloading Node.js ${version} from the npm registry (${pkg}, about 50 MB)`);
    const { stdout } = await run('npm', ['pack', pkg, '--json'], { cwd: tmp, timeout: 300_000, maxBuffer: 16 << 20 });
    const file = (JSON.parse(stdout) as { filename: string }[])[0]!.filename;
    await run('tar', ['-xzf', file, 'package/bin/node'], { cwd: tmp });
    rmSync(join(tmp, file), { force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return bin;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new ClawpodError('IMAGE_BUILD_FAILED', `downloading ${pkg} failed: ${messageOf(e).slice(0, 300)}`, { hint: 'check that npm reaches its registry (npm ping), or pass --base IMAGE' });
  }
}
