// `clawpod gc`, for setups without a daemon: destroys every agent whose ttl has passed, as the
// daemon would (src/lifecycle/destroy.ts: nothing left behind). The ttl and the creation time come
// from clawpod's record and the engine, never from labels; a container without a record is left.
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import { messageOf } from '../errors.js';
import { bornAt, trustedSpec, warmMember } from '../ops/instance-record.js';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { validatedDurationMs } from '../spec/quantity.js';
import { tenantNames } from '../fleet/derive.js';
import { destroyAgent } from './destroy.js';

export interface Collected { readonly name: string; readonly removed: readonly string[] }

export async function collectExpired(rt: Runtime, config: Config, opts: { say: (l: string) => void; now?: number }): Promise<Collected[]> {
  const now = opts.now ?? Date.now();
  let client: ControlClient | undefined;
  try { client = ControlClient.fromConfig(config); } catch { client = undefined; }
  const out: Collected[] = [];
  for (const c of await rt.listContainers({ labels: { [LABELS.managed]: 'true' }, all: true })) {
    // an unclaimed warm-pool member's ttl counts from its claim
    const ttl = warmMember(config, c) ? undefined : trustedSpec(config, c)?.agent.spec.lifecycle.ttl;
    if (ttl === undefined || bornAt(config, c) + validatedDurationMs(ttl) > now) continue;
    const removed = await destroyAgent({
      rt, config, say: opts.say,
      // with a control plane running, its gateway forgets the agent's token and a tenant's group
      revokeToken: (token, reason) => { void client?.call('POST', '/v1/tokens/revoke', { token, reason }).catch((e: unknown) => opts.say(`warning: the token of ${c.name} was not revoked: ${messageOf(e)}`)); },
      dropGroup: async (tenant) => {
        if (!client) { opts.say(`note: no control plane runs, so gateway group ${tenantNames(tenant).group} is left for \`clawpod group rm\``); return false; }
        return (await client.call<{ deleted: boolean }>('DELETE', `/v1/groups/${tenantNames(tenant).group}`)).deleted;
      },
    }, c.name);
    out.push({ name: c.name, removed });
  }
  return out;
}
