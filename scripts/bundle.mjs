// Bundles the CLI into dist/bundle (one chunk per lazily loaded verb). A bundle loads in a
// fraction of the time of hundreds of separate ESM files, which `clawpod run` pays every start.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: 'dist/bundle',
  logLevel: 'warning',
  // CommonJS dependencies (commander, tar-fs) call require(); give ESM chunks one.
  banner: { js: "import { createRequire as __clawpodRequire } from 'node:module'; const require = __clawpodRequire(import.meta.url);" },
});
