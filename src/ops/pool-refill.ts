// After a claim, the pool refills to its size in the background: a detached `clawpod pool fill
// --pool NAME` (its output appended to dataDir/pools/NAME.log), so `clawpod run` returns at once. One refill at a time per pool: a claim that finds one on its way starts none (see
// takeRefillMarker), and fillers of any kind (this, `pool fill`, `clawpod serve`) share the pool's lock.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { clearRefillMarker, poolLogFile, poolRecord, setRefillMarker, takeRefillMarker } from './pool-records.js';

/**
 * Starts a background refill of `pool` unless one is on its way. `cli` is clawpod's entry script
 * (this process's own when it is the CLI or `clawpod serve`). Says where its output goes.
 */
export function requestRefill(config: Config, rt: Runtime, pool: string, say: (s: string) => void, cli: string | undefined = process.argv[1]): void {
  const rec = poolRecord(config, pool);
  if (!rec || rec.size === 0 || !cli || !existsSync(cli)) return;
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
