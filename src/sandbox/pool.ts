// The one place a sandbox is taken from a warm pool: a running member of pool POOL made from the
// same spec (src/ops/pool.ts claimWarm compares the specs' hashes, so a scoped token can only get a
// member it could have created), renamed to the sandbox's name; the pool then refills in the
// background. undefined: no pool, no ready member, or another spec — the caller starts cold.
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LoadedAgent } from '../spec/parse.js';
import { claimWarm } from '../ops/pool.js';
import { requestRefill } from '../ops/pool-refill.js';
import type { RunResult } from '../ops/run.js';

export async function claimFromPool(rt: Runtime, config: Config, pool: string, loaded: LoadedAgent, name: string, say: (s: string) => void): Promise<RunResult | undefined> {
  const claimed = await claimWarm(rt, config, { pool, name, loaded, say });
  if (!claimed) return undefined;
  requestRefill(config, rt, pool, say);
  return claimed.run;
}
