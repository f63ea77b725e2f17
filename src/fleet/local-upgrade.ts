// The rollout's Upgrader for tenants on this machine: `clawpod upgrade`'s swap (same volumes, ports
// and network; the old container set aside until the new one passes) with a chat round trip as
// the extra gate, and the canary replay on a copy of the state.
import type { Config } from '../config.js';
import { messageOf } from '../errors.js';
import { startAgent } from '../ops/lifecycle.js';
import { recoverUpgrade, upgradeAgent } from '../ops/upgrade.js';
import { waitForService } from '../ops/health.js';
import type { Runtime } from '../runtime/runtime.js';
import { unpauseIfPaused } from '../runtime/facets.js';
import { chatPayload } from './chat.js';
import { tenantAgent, tenantNames } from './derive.js';
import { tenantEndpoint, tenantExtra } from './local.js';
import { recordedTurns, replayOnCopy } from './replay.js';
import type { Upgrader } from './rollout.js';
import type { Tenant } from './schema.js';
import { loadTenant, saveTenant, type TenantRecord } from './store.js';

/** What the round-trip gate asks; any answer with text (or tool calls) passes. */
export const CHECK_PROMPT = 'clawpod fleet check: answer with one short sentence.';
/** Turns of a canary that a replay sends again, at most. */
const REPLAY_TURNS = 20;

export const withVersion = (t: Tenant, version: string): Tenant => ({ ...t, spec: { ...t.spec, profile: { ...t.spec.profile, version } } });

function recordOf(config: Config, t: Tenant): TenantRecord {
  const rec = loadTenant(config, t.metadata.name);
  if (!rec) throw new Error(`unreachable: tenant ${t.metadata.name} was selected from its record`);
  return rec;
}

/** The gate past the probes: one chat answer through the tenant's own endpoint and the LLM gateway. */
export async function roundTrip(rt: Runtime, config: Config, t: Tenant, container?: string): Promise<void> {
  const ep = await tenantEndpoint(rt, config, t, container);
  await chatPayload(ep.baseUrl, ep.token, CHECK_PROMPT, { profile: t.spec.profile.name, who: `tenant ${t.metadata.name}`, timeoutMs: 60_000 });
}

export function localUpgrader(rt: Runtime, config: Config, say: (s: string) => void, budgetMs?: number): Upgrader {
  const swap = async (t: Tenant, version: string, gate: boolean) => {
    const rec = recordOf(config, t);
    const next = withVersion(rec.tenant, version);
    return upgradeAgent(rt, config, tenantNames(t.metadata.name).agent, {
      version, say: (l) => say(`  ${t.metadata.name}: ${l}`), extra: tenantExtra(next, rec.plan), agent: tenantAgent(next, rec.plan),
      ...(budgetMs ? { budgetMs } : {}),
      // a plan without models has no model path to check: its probes are the gate
      ...(gate && rec.plan.spec.models.length > 0 ? { verify: () => roundTrip(rt, config, next) } : {}),
    });
  };
  return {
    target: 'local',
    recover: async (t) => {
      const name = tenantNames(t.metadata.name).agent;
      const back = await recoverUpgrade(rt, config, name, say);
      const d = await rt.inspectContainer(name);
      if (d?.state === 'paused') await unpauseIfPaused(rt, d); // a replay killed while it copied the state
      else if (d && d.state !== 'running') await startAgent(rt, config, name);
      if (back && d) {
        // up again before anything asks it (the precheck's round trip)
        const rec = recordOf(config, t);
        await waitForService(rt, { agent: tenantAgent(rec.tenant, rec.plan), file: '', dir: process.cwd() }, { id: d.id, name, ports: d.ports }, say, budgetMs);
      }
    },
    precheck: async (t) => {
      if (recordOf(config, t).plan.spec.models.length === 0) return undefined;
      try { await roundTrip(rt, config, t); return undefined; } catch (e) { return messageOf(e); }
    },
    upgrade: async (t, version) => {
      const r = await swap(t, version, true);
      return { seconds: r.seconds, unavailableSeconds: r.unavailableSeconds };
    },
    replay: async (t, version) => {
      const turns = await recordedTurns(config, t.metadata.name, REPLAY_TURNS).catch(() => []);
      if (turns.length === 0) return undefined;
      return replayOnCopy(rt, config, recordOf(config, t), version, turns, say);
    },
    downgrade: async (t, version) => { await swap(t, version, false); },
    settled: (t, version) => {
      const rec = recordOf(config, t);
      saveTenant(config, { ...rec, tenant: withVersion(rec.tenant, version), updatedAt: new Date().toISOString() });
    },
  };
}
