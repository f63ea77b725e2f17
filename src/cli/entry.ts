// The CLI's entry (bin/clawpod.js → dist/bundle/main.js). The common `clawpod run` forms start
// without commander and the other verbs' definitions (src/cli/run-args.ts); every other command
// line, help and error included, is commander's (main.ts).
import { trace } from '../trace.js';
import { fastRunArgs } from './run-args.js';
import { invoke, report } from './invoke.js';

const fast = fastRunArgs(process.argv.slice(2));
if (fast) {
  trace('entry: fast run path');
  invoke(fast.globals, true, () => import('./run.js'), [fast.profile, fast.opts]).catch((e: unknown) => { process.exitCode = report(e); });
} else {
  void import('./main.js');
}
