// `clawpod delete`: removes what `clawpod apply` made for an agent, found by its labels
// (app.kubernetes.io/managed-by=clawpod, app.kubernetes.io/instance=NAME), not by a file, so it
// also removes objects an older spec rendered. Claims are kept unless `volumes` (like `rm
// --volumes`), including a StatefulSet's workspace-NAME-0. Deletion is Background: the API
// server removes the Job/StatefulSet at once and the garbage collector its Pods after, as kubectl does.
import { ClawpodError } from '../errors.js';
import { apiError, httpCode, openCluster, refName, type Cluster, type ClusterOptions } from './cluster.js';
import { K8S_LABELS, MANAGED_BY } from './defaults.js';

export interface DeleteOptions extends ClusterOptions {
  /** Also delete the PersistentVolumeClaims (the workspace and data mounts). Default false. */
  readonly volumes?: boolean;
  readonly onProgress?: (line: string) => void;
}

export interface DeleteResult {
  readonly namespace: string;
  readonly deleted: string[];
  /** Claims left in place (without `volumes`). */
  readonly kept: string[];
}

/** Collection paths, workloads first so nothing is recreated from what remains. */
const KINDS = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', path: 'apis/networking.k8s.io/v1', plural: 'ingresses' },
  { apiVersion: 'route.openshift.io/v1', kind: 'Route', path: 'apis/route.openshift.io/v1', plural: 'routes', optional: true },
  { apiVersion: 'batch/v1', kind: 'Job', path: 'apis/batch/v1', plural: 'jobs' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', path: 'apis/apps/v1', plural: 'statefulsets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', path: 'apis/networking.k8s.io/v1', plural: 'networkpolicies' },
  { apiVersion: 'v1', kind: 'Service', path: 'api/v1', plural: 'services' },
  { apiVersion: 'v1', kind: 'ServiceAccount', path: 'api/v1', plural: 'serviceaccounts' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', path: 'api/v1', plural: 'persistentvolumeclaims', claim: true },
] as const;

interface Named { metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string } }

async function list(c: Cluster, k: (typeof KINDS)[number], selector: string, done: readonly string[]): Promise<Named[]> {
  try {
    return (await c.api.getPath<{ items?: Named[] }>(`/${k.path}/namespaces/${c.namespace}/${k.plural}`, { labelSelector: selector })).items ?? [];
  } catch (e) {
    if ('optional' in k && httpCode(e) === 404) return []; // not OpenShift: no Routes
    throw apiError(e, c, { action: 'delete', object: `${k.plural} of the agent`, done });
  }
}

/** Names of the clawpod agents in the namespace (for a miss: "these exist"). */
async function instances(c: Cluster): Promise<string[]> {
  const names = new Set<string>();
  for (const k of KINDS.filter((x) => x.kind === 'Job' || x.kind === 'StatefulSet')) {
    for (const o of await list(c, k, `${K8S_LABELS.managedBy}=${MANAGED_BY}`, [])) {
      const n = o.metadata?.labels?.[K8S_LABELS.instance];
      if (n) names.add(n);
    }
  }
  return [...names].sort();
}

/** Deletes every object of the agents `names` in the namespace of `opts`. */
export async function deleteAgents(names: readonly string[], opts: DeleteOptions): Promise<DeleteResult> {
  const say = opts.onProgress ?? (() => undefined);
  const c = openCluster(opts);
  const deleted: string[] = [];
  const kept: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const selector = `${K8S_LABELS.managedBy}=${MANAGED_BY},${K8S_LABELS.instance}=${name}`;
    let found = 0;
    for (const k of KINDS) {
      for (const o of await list(c, k, selector, deleted)) {
        found++;
        const ref = refName({ kind: k.kind, metadata: o.metadata });
        // a finalizer holds it (a claim in use: pvc-protection); it goes once released
        if (o.metadata?.deletionTimestamp) { say(`${ref} is already being deleted`); continue; }
        if ('claim' in k && !opts.volumes) { kept.push(ref); continue; }
        try {
          await c.api.delete({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: o.metadata!.name!, namespace: c.namespace } }, undefined, undefined, undefined, undefined, 'Background');
        } catch (e) {
          if (httpCode(e) === 404) continue; // gone meanwhile (the garbage collector was faster)
          throw apiError(e, c, { action: 'delete', object: ref, done: deleted });
        }
        deleted.push(ref);
        say(`${ref} deleted`);
      }
    }
    if (found === 0) missing.push(name);
  }
  for (const k of kept) say(`${k} kept (its data stays; clawpod delete --volumes removes it)`);
  if (missing.length) {
    const there = await instances(c).catch(() => [] as string[]);
    throw new ClawpodError('NOT_FOUND', `no clawpod agent ${missing.join(', ')} in namespace ${c.namespace} on ${c.server}`, {
      hint: there.length ? `agents there: ${there.join(', ')}` : `there is none in ${c.namespace}: pass --namespace, or --context`,
      details: deleted.length ? [`deleted: ${deleted.join(', ')}`] : [],
    });
  }
  return { namespace: c.namespace, deleted, kept };
}
