// The cluster side of the fleet verbs: the LLM token a tenant's Pod gets (from the control plane,
// for the tenant's group with its plan's models and budget), the chat round trip inside a Pod, and
// the rollout's Upgrader for tenants in a cluster. The cluster's objects are what a tenant is there:
// no local record is kept, so the fleet file names the plans and tenants to act on.
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import { ClawpodError, messageOf } from '../errors.js';
import { execPod } from '../runtime/kubernetes/pod-io.js';
import { openCluster, type Cluster } from '../kube/cluster.js';
import { PROFILES } from '../profiles/index.js';
import { tenantNames, tenantProfile } from './derive.js';
import { gatewayBaseUrl } from '../ops/payload.js';
import { ensureGroup } from './local.js';
import { CHECK_PROMPT, withVersion } from './local-upgrade.js';
import { upgradeTenantKube, type LlmToken, type TenantKubeOptions } from './kube.js';
import type { Upgrader } from './rollout.js';
import type { Plan, Tenant } from './schema.js';

/** Issues each tenant's group token from the control plane; the Pod reaches the gateway at gatewayUrl. */
export function llmTokens(config: Config, pairs: readonly { tenant: Tenant; plan: Plan }[], gatewayUrl: string): (group: string) => Promise<LlmToken> {
  const byGroup = new Map(pairs.map((p) => [tenantNames(p.tenant.metadata.name).group, p]));
  return async (group) => {
    const p = byGroup.get(group);
    if (!p) throw new ClawpodError('NOT_FOUND', `no tenant has the gateway group ${group}`, { hint: 'unreachable: groups come from the fleet file' });
    await ensureGroup(config, p.tenant, p.plan);
    const r = await ControlClient.fromConfig(config).call<{ token: string; model: { provider: string; model: string } }>('POST', `/v1/groups/${group}/tokens`);
    const api = r.model.provider === 'anthropic' ? 'anthropic' : 'openai';
    return { token: r.token, api, model: r.model.model, url: gatewayBaseUrl(gatewayUrl, api) };
  };
}

/**
 * One chat answer from the payload, asked from inside its own Pod with the token the Pod holds
 * (clawpod never reads it out of the cluster): the same gate as locally, through the gateway.
 */
export async function podRoundTrip(c: Cluster, namespace: string, pod: string, tenant: Tenant): Promise<void> {
  const profile = tenantProfile(tenant);
  const port = profile.probes?.port ?? 8080;
  const model = profile.name === 'openclaw' ? 'openclaw' : 'default';
  const js = `const t=require('fs').readFileSync('/run/secrets/gateway-token','utf8').trim();`
    + `fetch('http://127.0.0.1:${port}/v1/chat/completions',{method:'POST',headers:{authorization:'Bearer '+t,'content-type':'application/json'},`
    + `body:JSON.stringify({model:${JSON.stringify(model)},messages:[{role:'user',content:${JSON.stringify(CHECK_PROMPT)}}]}),signal:AbortSignal.timeout(60000)})`
    // only the status and the answer's first words come back out of the Pod
    + `.then(async r=>{const b=await r.text();let a='';try{a=String(JSON.parse(b).choices[0].message.content)}catch{a=''}`
    + `console.log(r.status+' '+JSON.stringify(a?{answer:a.slice(0,200)}:{body:b.slice(0,200)}))},e=>console.log('0 '+JSON.stringify({body:e.message})))`;
  const r = await execPod({ ...c, namespace }, pod, { cmd: ['node', '-e', js] });
  const [status, ...rest] = r.stdout.trim().split(' ');
  let out: { answer?: string; body?: string } = {};
  try { out = JSON.parse(rest.join(' ')) as typeof out; } catch { /* nothing printed: reported below */ }
  const text = out.answer ?? '';
  const body = out.body ?? '';
  if (status !== '200' || !text) {
    throw new ClawpodError('UNHEALTHY', `tenant ${tenant.metadata.name}: the chat round trip inside pod ${pod} answered ${status || 'nothing'}: ${body.slice(0, 200) || r.stderr.slice(0, 200)}`, {
      hint: 'the payload or its model path (the gateway URL, the group\'s models and budget) is broken; `clawpod logs --kube -n NAMESPACE POD` shows the payload',
    });
  }
}

export function kubeUpgrader(pairs: ReadonlyMap<string, { tenant: Tenant; plan: Plan }>, opts: TenantKubeOptions): Upgrader {
  const planOf = (t: Tenant) => {
    const p = pairs.get(t.metadata.name);
    if (!p) throw new ClawpodError('NOT_FOUND', `tenant ${t.metadata.name} is not in the fleet file`, { hint: 'pass the file the tenants were applied from with -f' });
    return p.plan;
  };
  return {
    target: `kubernetes${opts.context ? `:${opts.context}` : ''}`,
    // server-side apply is idempotent: a killed upgrade is finished or undone by applying again
    recover: async () => undefined,
    precheck: async (t) => {
      if (planOf(t).spec.models.length === 0) return undefined;
      const ns = tenantNames(t.metadata.name).namespace;
      try { await podRoundTrip(openCluster({ ...opts, namespace: ns }), ns, `${tenantNames(t.metadata.name).agent}-0`, t); return undefined; } catch (e) { return messageOf(e); }
    },
    upgrade: async (t, version) => {
      const r = await upgradeTenantKube(withVersion(t, version), planOf(t), version, {
        ...opts, ...(planOf(t).spec.models.length > 0 ? { verify: ({ namespace, podName, cluster }) => podRoundTrip(cluster, namespace, podName, t) } : {}),
      });
      return { seconds: r.seconds, unavailableSeconds: r.unavailableSeconds };
    },
    downgrade: async (t, version) => { await upgradeTenantKube(withVersion(t, version), planOf(t), version, opts); },
    settled: () => undefined,
  };
}

/** The version a tenant runs in the cluster (its StatefulSet says), else the file's, else the profile's pin. */
export function runningVersion(running: ReadonlyMap<string, string | undefined>): (t: Tenant) => string {
  return (t) => running.get(t.metadata.name) ?? t.spec.profile.version ?? PROFILES[t.spec.profile.name]?.defaultVersion ?? '';
}
