// What a CLI verb that reaches an agent directly (exec, tenant chat) does first: asks the daemon
// whether the lifecycle paused or suspended the agent and, if so, wakes it, saying how long that
// is expected to take. An agent stopped by hand stays stopped; without a daemon nothing happens.
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import type { AgentStatus } from './manager.js';

export async function wakeIfAsleep(config: Config, name: string, say: (l: string) => void): Promise<'woken' | 'awake' | 'no-daemon'> {
  let client: ControlClient;
  try { client = ControlClient.fromConfig(config); } catch { return 'no-daemon'; }
  const agents = await client.call<AgentStatus[]>('GET', '/v1/agents').catch(() => undefined);
  if (!agents) return 'no-daemon';
  const a = agents.find((x) => x.name === name);
  if (!a || (a.state !== 'paused' && a.state !== 'suspended')) {
    // reaching it is activity: its idle time starts again
    if (a) await client.call('POST', `/v1/agents/${encodeURIComponent(name)}/activity`).catch(() => undefined);
    return 'awake';
  }
  say(`${name} is ${a.state}: waking it (about ${(a.expectedWakeMs / 1000).toFixed(1)} s)`);
  const w = await client.call<{ ms: number }>('POST', `/v1/agents/${encodeURIComponent(name)}/wake`);
  say(`${name}: awake after ${(w.ms / 1000).toFixed(1)} s`);
  return 'woken';
}

/** While a long exec runs, it stays activity: the daemon is told every 20 s. Returns the stop. */
export function keepActive(config: Config, name: string, everyMs = 20_000): () => void {
  let client: ControlClient;
  try { client = ControlClient.fromConfig(config); } catch { return () => undefined; }
  const t = setInterval(() => { void client.call('POST', `/v1/agents/${encodeURIComponent(name)}/activity`).catch(() => undefined); }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
