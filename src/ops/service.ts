// A service payload (OpenClaw's gateway): created, seeded, started in the background, then
// health-gated — `clawpod run` returns once its probes say so, or undoes what it made and
// shows why. Always a cold start: src/ops/start.ts decides whether a warm member is claimed instead.
import type { Config } from '../config.js';
import type { LoadedAgent } from '../spec/parse.js';
import type { Runtime } from '../runtime/runtime.js';
import { waitForService } from './health.js';
import { createAgent, startSidecarOf, undoCreate, type RunExtra, type Started } from './run.js';
import { checkAgentName } from '../spec/names.js';
import { untraced, type Phase } from '../otel/phases.js';

export async function startService(
  rt: Runtime, config: Config, loaded: LoadedAgent,
  opts: { name?: string; say: (s: string) => void; budgetMs?: number; labels?: Record<string, string>; extra?: RunExtra; index?: number; phase?: Phase },
): Promise<Started> {
  const phase = opts.phase ?? untraced;
  const t0 = Date.now();
  if (opts.name !== undefined) checkAgentName(opts.name, '--name');
  const extra: RunExtra | undefined = opts.labels || opts.extra ? { ...opts.extra, labels: { ...opts.extra?.labels, ...opts.labels } } : undefined;
  const run = await createAgent(rt, config, loaded, { ...(opts.name ? { name: opts.name } : {}), say: opts.say, ...(extra ? { extra } : {}), ...(opts.index !== undefined ? { index: opts.index } : {}), phase });
  try {
    await phase('container.start', () => rt.startContainer(run.id));
    await startSidecarOf(rt, run);
    const url = await phase('health', () => waitForService(rt, loaded, run, opts.say, opts.budgetMs));
    await run.finish?.commit();
    return { run, url, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    // nothing half-done: the container goes, a volume this run created goes (a reused one stays), its tokens are rolled back
    await undoCreate(rt, config, run);
    throw e;
  }
}
