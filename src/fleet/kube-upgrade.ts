// Upgrading one tenant's payload in a cluster: the StatefulSet applied again with the new
// version's image (same claims, same everything else), the rollout waited for, the caller's check
// run; on any failure the previous version is applied again and waited for, and the error says
// which version failed and why. The time without a Ready Pod is measured while it happens.
import { ClawpodError, messageOf } from '../errors.js';
import { apiError, httpCode, openCluster, type Cluster, type ObjectRef } from '../kube/cluster.js';
import type { IStatefulSet } from '../kube/types.js';
import { profileOf } from '../kube/payload.js';
import { tenantAgent, tenantNames } from './derive.js';
import { renderTenant } from './kube-render.js';
import { get, inNamespace, ownedNamespace, resolveOpenShift, sleep, versionOf, waitTenant, wiringOf, type KObj } from './kube-state.js';
import type { TenantKubeOptions } from './kube.js';
import type { Plan, Tenant } from './schema.js';

export interface UpgradeResult {
  readonly name: string; readonly from: string; readonly to: string;
  /** From the apply to a verified Ready Pod. */
  readonly seconds: number;
  /** From the old Pod no longer Ready to the new one Ready. */
  readonly unavailableSeconds: number;
}
export interface UpgradeOptions extends TenantKubeOptions {
  /** The caller's end-to-end check of the new Pod (a chat round trip); a throw rolls back. */
  readonly verify?: (ctx: { namespace: string; podName: string; cluster: Cluster }) => Promise<void>;
}

const isReady = (p: KObj | undefined) => p?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;

/** Polls the Pod every 200 ms: when the one Ready at the start stops being so, and when a new one is Ready. */
function watchUnavailable(c: Cluster, pod: string) {
  let first: string | undefined;
  let down: number | undefined;
  let up: number | undefined;
  let stop = false;
  let started!: () => void;
  const ready = new Promise<void>((r) => { started = r; });
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const p = await get<KObj>(c, `/api/v1/namespaces/${c.namespace}/pods/${pod}`).catch(() => undefined);
      const now = Date.now();
      if (i === 0) first = isReady(p) ? p?.metadata?.uid : undefined;
      const same = p?.metadata?.uid !== undefined && p.metadata.uid === first;
      if (down === undefined && !(same && isReady(p))) down = now;
      if (down !== undefined && up === undefined && !same && isReady(p)) up = now;
      if (i === 0) started();
      await sleep(200);
    }
  })();
  return {
    /** Resolves once the Pod of the start has been seen. */
    ready,
    /** Seconds without a Ready Pod (0 when the Pod never went away). */
    async end(): Promise<number> {
      stop = true;
      await loop;
      return down === undefined ? 0 : ((up ?? Date.now()) - down) / 1000;
    },
  };
}

/** Upgrades (or downgrades) one tenant to `version`; throws UNHEALTHY after rolling back when it does not work. */
export async function upgradeTenantKube(tenant: Tenant, plan: Plan, version: string, opts: UpgradeOptions): Promise<UpgradeResult> {
  const start = Date.now();
  const name = tenant.metadata.name;
  const names = tenantNames(name);
  const c = inNamespace(openCluster(opts), names.namespace);
  const say = (l: string) => opts.onProgress?.(`tenant ${name}: ${l}`);
  await ownedNamespace(c, name);
  const live = await get<KObj>(c, `/apis/apps/v1/namespaces/${c.namespace}/statefulsets/${names.agent}`);
  if (!live) throw new ClawpodError('NOT_FOUND', `tenant ${name} has no statefulset/${names.agent} in namespace ${c.namespace}`, { hint: 'apply the tenant first (clawpod tenant apply --kube)' });
  const from = versionOf(live) ?? tenant.spec.profile.version ?? profileOf(tenantAgent(tenant, plan))?.defaultVersion ?? 'unknown';
  const openshift = await resolveOpenShift(c, opts.openshift);
  // the wiring the tenant was applied with (the Secret's annotations): the new template differs in the image only
  const secret = await get<{ metadata?: { annotations?: Record<string, string> } }>(c, `/api/v1/namespaces/${c.namespace}/secrets/${names.agent}-secrets`);
  const llm = wiringOf(secret?.metadata?.annotations);
  const statefulSet = (v: string) => renderTenant({ ...tenant, spec: { ...tenant.spec, profile: { ...tenant.spec.profile, version: v } } }, plan, { ...opts.renderOpts, openshift, ...(llm ? { llm } : {}) })
    .find((o): o is IStatefulSet => o.kind === 'StatefulSet')!;
  const apply = async (v: string) => {
    try { await c.api.apply(statefulSet(v) as ObjectRef, false); } catch (e) { throw apiError(e, c, { action: 'apply', object: `statefulset/${names.agent}` }); }
    say(`statefulset/${names.agent} applied with version ${v}`);
  };
  const pod = `${names.agent}-0`;
  const watch = watchUnavailable(c, pod);
  await watch.ready;
  try {
    await apply(version);
    await waitTenant(c, name, opts.timeoutMs, say);
    if (opts.verify) { say(`verifying pod/${pod}`); await opts.verify({ namespace: c.namespace, podName: pod, cluster: c }); }
    const unavailableSeconds = await watch.end();
    say(`upgraded ${from} → ${version} (unavailable ${unavailableSeconds.toFixed(1)} s)`);
    return { name, from, to: version, seconds: (Date.now() - start) / 1000, unavailableSeconds };
  } catch (e) {
    await watch.end();
    const reason = messageOf(e);
    say(`version ${version} failed: ${reason}; rolling back to ${from}`);
    const details = [`version ${version}: ${reason}`];
    let back = false;
    try {
      await apply(from);
      // a StatefulSet does not replace a Pod of a failed revision that never became Ready (OrderedReady): delete it
      await c.api.deletePath(`/api/v1/namespaces/${c.namespace}/pods/${pod}`).catch((d: unknown) => { if (httpCode(d) !== 404) throw d; });
      await waitTenant(c, name, opts.timeoutMs, say);
      details.push(`rolled back to ${from}: Ready`);
      back = true;
    } catch (r) {
      details.push(`rollback to ${from} failed too: ${messageOf(r)}`);
    }
    throw new ClawpodError('UNHEALTHY', `tenant ${name}: version ${version} did not become healthy (${reason}); ${back ? `rolled back to ${from}` : `the rollback to ${from} failed`}`, {
      hint: `kubectl -n ${c.namespace} describe pod ${pod}; check the image of version ${version} (clawpod image build --profile ${tenant.spec.profile.name} --version ${version})`,
      details, cause: e,
    });
  }
}
