// A service payload (OpenClaw's gateway): created, seeded, started in the background, then
// health-gated — `clawpod run` returns once its probes say so, or undoes what it made and
// shows why.
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { LoadedAgent } from '../spec/parse.js';
import { validatedDurationMs } from '../spec/quantity.js';
import type { Runtime } from '../runtime/runtime.js';
import { waitHealthy } from './health.js';
import { profileOf } from './payload.js';
import { createAgent, undoCreate, type RunExtra, type RunResult } from './run.js';
import { checkAgentName } from '../spec/names.js';
import { untraced, type Phase } from '../otel/phases.js';

export const DEFAULT_STARTUP_BUDGET = '5m';

export interface ServiceResult {
  readonly run: RunResult;
  readonly url: string | undefined;
  readonly seconds: number;
  /** The warm-pool member this instance was claimed from (src/ops/pool.ts), when it was. */
  readonly claimed?: string;
}

/** Where a published port answers on this machine: a wildcard binding is reached on loopback. */
export function publishedUrl(p: { hostIP: string; hostPort: number }): string {
  const host = p.hostIP === '0.0.0.0' ? '127.0.0.1' : p.hostIP;
  return `http://${host.includes(':') ? `[${host}]` : host}:${p.hostPort}`;
}

/** Waits for a started container's probes; the published port of the probe port is where it asks. */
export async function waitForService(rt: Runtime, loaded: LoadedAgent, r: Pick<RunResult, 'id' | 'name' | 'ports'>, say: (s: string) => void, budgetMs?: number): Promise<string | undefined> {
  const profile = profileOf(loaded.agent);
  if (!profile?.probes) return undefined;
  const port = r.ports.find((p) => p.containerPort === profile.probes!.port);
  if (!port) {
    throw new ClawpodError('USAGE', `${r.name}: the ${profile.name} probes are served on container port ${profile.probes.port}, which spec.ports does not publish`, { hint: `keep a spec.ports entry with containerPort: ${profile.probes.port}` });
  }
  const baseUrl = publishedUrl(port);
  await waitHealthy(rt, { id: r.id, name: r.name, baseUrl }, profile.probes, {
    budgetMs: budgetMs ?? validatedDurationMs(profile.startupBudget ?? DEFAULT_STARTUP_BUDGET), say,
  });
  return `${baseUrl}/`;
}

export async function startService(
  rt: Runtime, config: Config, loaded: LoadedAgent,
  opts: { name?: string; say: (s: string) => void; budgetMs?: number; labels?: Record<string, string>; noClaim?: boolean; extra?: RunExtra; index?: number; phase?: Phase },
): Promise<ServiceResult> {
  const phase = opts.phase ?? untraced;
  const t0 = Date.now();
  // a claim records files and vault entries under the name before createAgent would check it
  if (opts.name !== undefined) checkAgentName(opts.name, '--name');
  if (!opts.noClaim) {
    const { claimMember } = await import('./pool.js');
    const claimed = await phase('pool.claim', () => claimMember(rt, config, loaded, opts.name ?? loaded.agent.metadata.name, opts.say));
    if (claimed) return claimed;
  }
  const extra: RunExtra | undefined = opts.labels || opts.extra ? { ...opts.extra, labels: { ...opts.extra?.labels, ...opts.labels } } : undefined;
  const run = await createAgent(rt, config, loaded, { ...(opts.name ? { name: opts.name } : {}), say: opts.say, ...(extra ? { extra } : {}), ...(opts.index !== undefined ? { index: opts.index } : {}), phase });
  try {
    await phase('container.start', () => rt.startContainer(run.id));
    const url = await phase('health', () => waitForService(rt, loaded, run, opts.say, opts.budgetMs));
    await run.finish?.commit();
    return { run, url, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    // nothing half-done: the container goes, a volume this run created goes (a reused one stays), its tokens are rolled back
    await undoCreate(rt, config, run);
    throw e;
  }
}
