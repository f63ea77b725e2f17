// Canary replay: before a rollout goes past its canaries, the turns recorded for a canary tenant
// (the control plane's store: prompts and the shape of each answer) are sent again to the new
// version running on a COPY of the canary's state — a throwaway instance, so the tenant's own
// conversation is not touched — and each answer's shape (text, length, tool calls) is compared
// with the recorded one. Too many divergent turns halt the rollout, naming the first one.
import { dirname } from 'node:path';
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import { ClawpodError, messageOf } from '../errors.js';
import { ownedBy } from '../ops/backup.js';
import { removeAgent } from '../ops/lifecycle.js';
import { createAgent } from '../ops/run.js';
import { waitForService } from '../ops/health.js';
import { requireFacet } from '../runtime/facets.js';
import type { Runtime } from '../runtime/runtime.js';
import { chatPayload, divergence, type AnswerShape } from './chat.js';
import { tenantAgent, tenantEngineLabels, tenantNames } from './derive.js';
import { tenantEndpoint } from './local.js';
import type { TenantRecord } from './store.js';

export interface RecordedTurn { readonly seq: number; readonly prompt: string; readonly shape: AnswerShape }
export interface ReplayResult { readonly turns: number; readonly diverged: { seq: number; prompt: string; why: string }[]; readonly seconds: number }

/** Replay instances sit far above tenant slots, so their host ports never meet a tenant's. */
const REPLAY_SLOT_OFFSET = 1500;

export async function recordedTurns(config: Config, tenant: string, limit: number): Promise<RecordedTurn[]> {
  return ControlClient.fromConfig(config).call<RecordedTurn[]>('GET', `/v1/tenants/${tenant}/turns?limit=${limit}`);
}

/** Records one turn for later replays (best effort: a chat works without a control plane). */
export async function recordTurn(config: Config, tenant: string, prompt: string, shape: AnswerShape): Promise<boolean> {
  try { await ControlClient.fromConfig(config).call('POST', `/v1/tenants/${tenant}/turns`, { prompt, shape }); return true; } catch { return false; }
}

/** Runs `version` on a copy of the canary's state, replays `turns` and removes the copy again. */
export async function replayOnCopy(rt: Runtime, config: Config, rec: TenantRecord, version: string, turns: readonly RecordedTurn[], say: (s: string) => void): Promise<ReplayResult> {
  const t0 = Date.now();
  const n = tenantNames(rec.tenant.metadata.name);
  const name = `${n.agent}-replay`;
  const tenant = { ...rec.tenant, spec: { ...rec.tenant.spec, profile: { ...rec.tenant.spec.profile, version } } };
  const agent = tenantAgent(tenant, rec.plan);
  const loaded = { agent, file: '', dir: process.cwd() };
  const canary = await rt.inspectContainer(n.agent);
  if (!canary) throw new ClawpodError('NOT_FOUND', `canary ${n.agent} is gone`, { hint: 'provision it again, then resume the rollout' });
  if (await rt.inspectContainer(name)) await removeAgent(rt, config, name, { force: true, volumes: true });
  // no app-data volume: a replay must not write to the tenant's data
  const r = await createAgent(rt, config, loaded, { name, say: () => undefined, index: REPLAY_SLOT_OFFSET + rec.slot, extra: { network: n.network, labels: tenantEngineLabels(rec.tenant) } });
  try {
    const home = agent.spec.workspace.mountPath;
    // paused while read: a consistent copy, and the canary keeps its memory
    const what = `copying ${n.agent}'s state for a replay`;
    const freezer = requireFacet(rt, 'pausing', what);
    const files = requireFacet(rt, 'archives', what);
    await freezer.pauseContainer(canary.id);
    try {
      const tar = await files.getArchive(canary.id, home);
      if (tar) await files.putArchive(r.id, dirname(home), ownedBy(tar, agent.spec.user));
    } finally { await freezer.unpauseContainer(canary.id); }
    await rt.startContainer(r.id);
    await waitForService(rt, loaded, { id: r.id, name, ports: r.ports }, () => undefined);
    const ep = await tenantEndpoint(rt, config, tenant, name);
    const diverged: ReplayResult['diverged'] = [];
    for (const t of turns) {
      let why: string | undefined;
      try {
        const a = await chatPayload(ep.baseUrl, ep.token, t.prompt, { profile: tenant.spec.profile.name, who: name });
        why = divergence(t.shape, a.shape);
      } catch (e) { why = `no answer: ${messageOf(e)}`; }
      if (why) diverged.push({ seq: t.seq, prompt: t.prompt, why });
      say(`replay ${rec.tenant.metadata.name} turn ${t.seq}: ${why ?? 'same shape'}`);
    }
    return { turns: turns.length, diverged, seconds: (Date.now() - t0) / 1000 };
  } finally {
    // its tokens (a generated gateway token, an LLM token of the tenant's group) go with it
    await r.finish?.rollback().catch(() => undefined);
    await removeAgent(rt, config, name, { force: true, volumes: true }).catch(() => undefined);
  }
}
