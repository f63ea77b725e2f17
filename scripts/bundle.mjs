// Bundles the CLI into dist/bundle (one chunk per lazily loaded verb). A bundle loads in a
// fraction of the time of hundreds of separate ESM files, which `clawpod run` pays every start.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { mergeHotPath } from './merge-hot-path.mjs';

// Built aside and swapped in whole: a failed build leaves the last good bundle in place (a CLI that
// works), and stale chunks of earlier builds never pile up.
const next = `dist/bundle.next-${process.pid}`;
rmSync(next, { recursive: true, force: true });

// Keys the validated-spec cache (src/spec/load.ts): any change to the spec modules or to the
// libraries they use gives a new key, so a stale validation is never reused.
const specBuild = createHash('sha256');
// profiles fill in spec defaults before validation, so they are part of the validator too
for (const d of ['dist/src/spec', 'dist/src/profiles']) {
  for (const f of readdirSync(d).filter((n) => n.endsWith('.js')).sort()) specBuild.update(readFileSync(`${d}/${f}`));
}
specBuild.update(readFileSync('package-lock.json'));

const BANNER = "import { createRequire as __clawpodRequire } from 'node:module'; let __clawpodReq; const require = new Proxy(function require() {}, { apply: (_, self, args) => (__clawpodReq ??= __clawpodRequire(import.meta.url)).apply(self, args), get: (_, key) => (__clawpodReq ??= __clawpodRequire(import.meta.url))[key] });";

await build({
  define: { __CLAWPOD_SPEC_BUILD__: JSON.stringify(specBuild.digest('hex').slice(0, 16)) },
  // entry.ts reads the common `clawpod run` forms itself and loads commander (main.ts) for the rest
  entryPoints: { main: 'dist/src/cli/entry.js' },
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: next,
  logLevel: 'warning',
  // a native addon: it finds its .node file relative to its own package, so it stays in node_modules
  external: ['better-sqlite3'],
  // CommonJS dependencies (commander, tar-fs) call require(); give ESM chunks one, made on first use:
  // `clawpod run` loads ~30 chunks, and a createRequire for each cost ~2 ms of every start.
  banner: { js: BANNER },
  metafile: true,
}).then(async (r) => {
  // the run path's chunks folded into main.js: one file to load instead of ~30 (merge-hot-path.mjs)
  await mergeHotPath(next, r.metafile, 'dist/src/cli/entry.js', ['dist/src/cli/run.js', 'dist/src/runtime/connect.js', 'dist/src/runtime/podman-driver.js']);
}).catch((e) => { rmSync(next, { recursive: true, force: true }); throw e; });
const old = `dist/bundle.old-${process.pid}`;
if (existsSync('dist/bundle')) renameSync('dist/bundle', old);
renameSync(next, 'dist/bundle');
rmSync(old, { recursive: true, force: true });

// The reference runner `clawpod-agent`, one self-contained file copied into the agent image
// (src/images/build.ts). One file, no node_modules in the image: a session start reads and
// parses one script. The MCP SDK is imported lazily inside it, so sessions without MCP skip it.
rmSync('dist/agent', { recursive: true, force: true });
await build({
  define: { __CLAWPOD_RUNNER_VERSION__: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  entryPoints: ['dist/src/agent/main.js'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: 'dist/agent/clawpod-agent.mjs',
  logLevel: 'warning',
  // ssh2's optional native speed-ups (cpu-features, its sshcrypto.node) stay out: the image has no
  // node_modules, each require sits in a try/catch, and ssh2 falls back to Node's own crypto
  external: ['cpu-features', '*.node'],
  // __dirname/__filename: CommonJS code in it (ssh2) uses them at load time, which an ES module lacks
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __clawpodRequire } from 'node:module'; import { fileURLToPath as __clawpodPath } from 'node:url'; const require = __clawpodRequire(import.meta.url); const __filename = __clawpodPath(import.meta.url); const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));" },
});

// The egress proxy `clawpod-egress` (src/egress/main.ts), one file the agent image carries as
// /opt/clawpod/bin/clawpod-egress: the same image runs it locally and on Kubernetes (docs/egress.md).
rmSync('dist/egress', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/egress/main.js'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: 'dist/egress/clawpod-egress.mjs',
  logLevel: 'warning',
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __clawpodRequire } from 'node:module'; const require = __clawpodRequire(import.meta.url);" },
});

// The web dashboard (src/control/dashboard/assets: HTML, ES modules, CSS; no build step of its
// own) next to the bundle, where src/control/dashboard/serve.ts looks for it first.
rmSync('dist/dashboard', { recursive: true, force: true });
cpSync('src/control/dashboard/assets', 'dist/dashboard', { recursive: true });
