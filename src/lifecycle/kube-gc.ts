// `clawpod gc --kube`: the ttl of tenants in a cluster. Their namespace carries the ttl as a
// duration (clawpod.dev/ttl, written by `tenant apply --kube`; only whoever may update namespaces
// — who could delete them anyway — can change it), counted from the namespace's creationTimestamp,
// which the API server sets. An expired tenant goes the way `tenant delete --kube` takes it: the
// whole namespace, its activator route, and its gateway group with the control plane's help.
import { messageOf } from '../errors.js';
import { openCluster, type ClusterOptions } from '../kube/cluster.js';
import { K8S_LABELS, MANAGED_BY } from '../kube/defaults.js';
import { tenantNames, TENANT_LABELS } from '../fleet/derive.js';
import { deleteTenantKube } from '../fleet/kube.js';
import { TTL_ANNOTATION } from '../fleet/kube-render.js';
import { parseDuration } from '../spec/quantity.js';

interface Ns { metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }

export interface KubeCollected { readonly name: string; readonly namespace: string; readonly expiredAt: string }

export async function collectExpiredKube(opts: ClusterOptions & { readonly activatorNamespace?: string }, o: { say: (l: string) => void; now?: number; dropGroup: (tenant: string) => Promise<boolean> }): Promise<KubeCollected[]> {
  const now = o.now ?? Date.now();
  const c = openCluster(opts);
  const list = await c.api.getPath<{ items?: Ns[] }>('/api/v1/namespaces', { labelSelector: `${TENANT_LABELS.kubeTenant},${K8S_LABELS.managedBy}=${MANAGED_BY}` });
  const out: KubeCollected[] = [];
  for (const ns of list.items ?? []) {
    const m = ns.metadata ?? {};
    const name = m.labels?.[TENANT_LABELS.kubeTenant] ?? '';
    // a namespace labelled for a tenant whose name would not make it is not one clawpod made
    if (!name || m.name !== tenantNames(name).namespace || m.deletionTimestamp) continue;
    const ttl = m.annotations?.[TTL_ANNOTATION];
    if (ttl === undefined) continue;
    const d = parseDuration(ttl);
    if (!d.ok) { o.say(`warning: namespace ${m.name}: ${TTL_ANNOTATION} "${ttl}" is not a duration (${d.expected}); left alone`); continue; }
    const expiredAt = Date.parse(m.creationTimestamp ?? '') + d.value;
    if (!Number.isFinite(expiredAt) || expiredAt > now) continue;
    await deleteTenantKube(name, { ...opts, onProgress: o.say });
    await o.dropGroup(name).catch((e: unknown) => o.say(`${name}: gateway group ${tenantNames(name).group} not removed (${messageOf(e)}); \`clawpod group rm ${tenantNames(name).group}\` with the control plane up`));
    out.push({ name, namespace: m.name, expiredAt: new Date(expiredAt).toISOString() });
  }
  return out;
}

