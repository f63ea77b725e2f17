// The one place that decides how an agent starts: claimed from its warm pool when one is ready and
// made from the same spec (src/ops/pool.ts), else cold — a service health-gated (src/ops/service.ts),
// anything else created and started. `clawpod run -d`, `clawpod run PROFILE` and POST /v1/agents
// start here; the sandbox API calls claimWarm itself and starts cold its own way.
import type { Config } from '../config.js';
import type { LoadedAgent } from '../spec/parse.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkAgentName } from '../spec/names.js';
import { instanceName } from '../plan/plan.js';
import { untraced, type Phase } from '../otel/phases.js';
import { poolRecord } from './pool-records.js';
import { createAgent, nextIndex, startSidecarOf, undoCreate, type RunExtra, type Started } from './run.js';

// the claim's and the services' code (payloads, the vault, probes) is loaded only when a pool or a profile asks for it
export interface StartOptions {
  readonly name?: string;
  readonly say: (s: string) => void;
  readonly extra?: RunExtra;
  readonly budgetMs?: number;
  readonly phase?: Phase;
}

/** A new container, started (a service: and healthy); nothing of it is left when that fails. */
export async function startCold(rt: Runtime, config: Config, loaded: LoadedAgent, opts: StartOptions): Promise<Started> {
  const phase = opts.phase ?? untraced;
  if (loaded.agent.spec.profile && (await import('../profiles/index.js')).profileOf(loaded.agent)?.service) {
    return (await import('./service.js')).startService(rt, config, loaded, opts);
  }
  const t0 = Date.now();
  const run = await createAgent(rt, config, loaded, { ...(opts.name ? { name: opts.name } : {}), say: opts.say, ...(opts.extra ? { extra: opts.extra } : {}), phase });
  try {
    await phase('container.start', () => rt.startContainer(run.id));
    await startSidecarOf(rt, run);
  } catch (e) { await undoCreate(rt, config, run); throw e; }
  await run.finish?.commit();
  return { run, url: undefined, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Claims a member of warm pool `pool` (default: the spec's metadata.name) and starts a background
 * refill, or starts cold. Only a start a running container can be made into is claimed: nothing but
 * labels added by the caller (a session's IPC folder, a tenant's network start cold).
 */
export async function launch(rt: Runtime, config: Config, loaded: LoadedAgent, opts: StartOptions & { pool?: string }): Promise<Started> {
  const { agent } = loaded;
  const pool = opts.pool ?? agent.metadata.name;
  const x = opts.extra;
  const plain = !x || Object.entries(x).every(([k, v]) => k === 'labels' || v === undefined);
  // no pool, no listing: a cold start pays one stat for pools existing at all. A browser sidecar is
  // named and labelled after its member, so an agent with one always starts cold (docs/browser.md)
  if (plain && !agent.spec.browser?.enabled && poolRecord(config, pool)) {
    if (opts.name !== undefined) checkAgentName(opts.name, '--name');
    const phase = opts.phase ?? untraced;
    const name = opts.name ?? instanceName(agent.metadata.name, await nextIndex(rt, agent.metadata.name));
    const { claimWarm } = await import('./pool.js');
    const claimed = await phase('pool.claim', () => claimWarm(rt, config, { pool, name, loaded, say: opts.say, ...(x?.labels ? { labels: x.labels } : {}) }));
    if (claimed) {
      (await import('./pool-refill.js')).requestRefill(config, rt, pool, opts.say);
      return claimed;
    }
  }
  return startCold(rt, config, loaded, opts);
}
