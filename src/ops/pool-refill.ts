// After a claim, the pool refills to its size in the background: a detached `clawpod pool fill
// --pool NAME` (its output appended to dataDir/pools/NAME.log), so `clawpod run` returns at once. One refill at a time per pool: a claim that finds one on its way starts none (see
// takeRefillMarker), and fillers of any kind (this, `pool fill`, `clawpod serve`) share the pool's lock.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { clearRefillMarker, poolLogFile, poolRecord, setRefillMarker, takeRefillMarker } from './pool-records.js';

/**
 * Starts a background refill of `pool` unless one is on its way (clawpod's own CLI, from its package,
 * whichever process asks: the CLI, `clawpod serve`, a program using these modules). Says where its
 * output goes.
 */
export function requestRefill(config: Config, rt: Runtime, pool: string, say: (s: string) => void): void {
  const rec = poolRecord(config, pool);
  const cli = join(config.packageRoot, 'bin', 'clawpod.js');
  if (!rec || rec.size === 0) return;
  if (!existsSync(cli)) { say(`warm pool ${pool} is not refilled: no clawpod CLI at ${cli} (\`clawpod pool fill --pool ${pool}\` refills it)`); return; }
  if (!takeRefillMarker(config, pool)) return;
  const log = openSync(poolLogFile(config, pool), 'a', 0o600);
  try {
    const host = rt.endpoint.startsWith('unix://') ? ['--host', rt.endpoint] : [];
    const child = spawn(process.execPath, [cli, ...host, 'pool', 'fill', '--pool', pool], { detached: true, stdio: ['ignore', log, log] });
    child.on('error', () => clearRefillMarker(config, pool));
    if (child.pid === undefined) { clearRefillMarker(config, pool); return; }
    setRefillMarker(config, pool, child.pid);
    // background work: on a small machine the claims and their commands come first
    try { setPriority(child.pid, 10); } catch { /* not allowed here: it runs at the claimer's priority */ }
    child.unref();
    say(`refilling warm pool ${pool} to ${rec.size} in the background (log: ${poolLogFile(config, pool)})`);
  } finally { closeSync(log); }
}
