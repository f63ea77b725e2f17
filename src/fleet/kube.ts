// Tenants in a cluster: apply (one server-side-apply pass per tenant, namespace first, the token
// Secret made here and never printed, rolled back when a new tenant fails half-way), status,
// delete (the whole namespace, only when clawpod made it) and upgrade with rollback.
// docs/kubernetes.md, "Tenants". Rendering is kube-render.ts; reading a tenant's phase kube-state.ts.
import { randomBytes } from 'node:crypto';
import { ClawpodError, messageOf } from '../errors.js';
import { apiError, httpCode, openCluster, refName, type Cluster, type ClusterOptions, type ObjectRef } from '../kube/cluster.js';
import { K8S_LABELS, MANAGED_BY } from '../kube/defaults.js';
import { LLM_TOKEN_KEY } from '../kube/payload.js';
import { checkStorageClass } from '../kube/storage.js';
import { tenantNames, TENANT_LABELS } from './derive.js';
import { renderTenant, tenantLabels, tenantNamespace, tenantRoute, type LlmWiring, type TenantRenderOptions } from './kube-render.js';
import { ACTIVATOR_NAMESPACE, ROUTES_CONFIGMAP, tenantRouteKey, type KubeRoute } from '../lifecycle/kube-routes.js';
import {
  checkOwned, get, inNamespace, ownedNamespace, quotaError, resolveOpenShift, sleep, tenantState, versionOf, waitTenant, wiringOf, WIRING,
  type KEvent, type KObj, type TenantPhase,
} from './kube-state.js';
import type { Plan, Tenant } from './schema.js';

export interface TenantKubeOptions extends ClusterOptions {
  /** 'auto': asked of the cluster's API groups once. */
  readonly openshift?: boolean | 'auto';
  readonly renderOpts?: Omit<TenantRenderOptions, 'openshift' | 'llm'>;
  readonly timeoutMs: number;
  readonly onProgress?: (line: string) => void;
}
export type LlmToken = { token: string; api: 'anthropic' | 'openai'; model: string; url: string };
export interface ApplyTenantsOptions extends TenantKubeOptions {
  /** Wait until each tenant is Ready (default true). */
  readonly wait?: boolean;
  /** Tenants applied at once (default 4). */
  readonly concurrency?: number;
  /** A scoped token of the LLM gateway for the tenant's group; called only when the Secret has none. */
  readonly issueLlmToken?: (group: string) => Promise<LlmToken>;
  /** Namespace of the activator's routes ConfigMap (default clawpod-system): tenants with idle tiers get a row there. */
  readonly activatorNamespace?: string;
}
export interface TenantKubeResult {
  readonly name: string; readonly namespace: string; readonly plan: string;
  readonly ok: boolean;
  /** "kind/name" of what was applied, in order. */
  readonly applied: string[];
  /** The namespace did not exist before this call. */
  readonly createdNamespace: boolean;
  /** What happened to the Secret NAME-secrets: its values are never returned. */
  readonly secret?: 'created' | 'completed' | 'kept';
  readonly seconds: number;
  /** The namespace made by this call was deleted again after the failure. */
  readonly rolledBack?: boolean;
  readonly error?: ClawpodError;
}
export interface TenantKubeStatus { name: string; plan: string; phase: TenantPhase; waitingOn?: string; version?: string; url?: string }

export const SECRET_KEYS = Object.freeze({ gateway: 'gateway-token', llm: LLM_TOKEN_KEY });
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Makes the Secret NAME-secrets or adds its missing keys; existing values are kept. Returns the model wiring. */
async function ensureSecret(c: Cluster, tenant: Tenant, plan: Plan, issue: ApplyTenantsOptions['issueLlmToken'], retried = false): Promise<{ wiring?: LlmWiring; secret: 'created' | 'completed' | 'kept' }> {
  const names = tenantNames(tenant.metadata.name);
  const name = `${names.agent}-secrets`;
  const path = `/api/v1/namespaces/${c.namespace}/secrets/${name}`;
  const cur = await get<{ data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } }>(c, path);
  const a = cur?.metadata?.annotations ?? {};
  let wiring: LlmWiring | undefined = wiringOf(a);
  const data: Record<string, string> = {};
  let annotations: Record<string, string> = {};
  if (!cur?.data?.[SECRET_KEYS.gateway]) data[SECRET_KEYS.gateway] = b64(randomBytes(32).toString('base64url'));
  // a token without its wiring (a Secret made by hand) is replaced: the config must name the gateway it belongs to
  if (plan.spec.models.length > 0 && issue && (!cur?.data?.[SECRET_KEYS.llm] || !wiring)) {
    let t: LlmToken;
    try { t = await issue(names.group); } catch (e) {
      throw new ClawpodError('RUNTIME_ERROR', `tenant ${tenant.metadata.name}: no LLM gateway token for group ${names.group}: ${messageOf(e)}`, { hint: 'check that clawpod serve runs and knows the plan\'s models (spec.models)', cause: e });
    }
    data[SECRET_KEYS.llm] = b64(t.token);
    wiring = { url: t.url, api: t.api, model: t.model };
    annotations = { [WIRING.url]: t.url, [WIRING.api]: t.api, [WIRING.model]: t.model };
  }
  const secret = !cur ? 'created' : Object.keys(data).length ? 'completed' : 'kept';
  try {
    if (!cur) {
      await c.api.create({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: c.namespace, labels: tenantLabels(tenant), annotations }, data } as never);
    } else if (secret === 'completed') {
      await c.api.mergePatch(path, { metadata: { annotations }, data });
    }
  } catch (e) {
    // made meanwhile by another run: read it again (its values win)
    if (!cur && httpCode(e) === 409 && !retried) return ensureSecret(c, tenant, plan, issue, true);
    throw apiError(e, c, { action: cur ? 'patch' : 'create', object: `secret/${name}` });
  }
  return { ...(wiring ? { wiring } : {}), secret };
}

// Workloads that make the tenant's Pods: removed before the namespace (their controllers would make the Pods again).
const WORKLOADS = ['apis/apps/v1/namespaces/NS/statefulsets', 'apis/apps/v1/namespaces/NS/deployments', 'apis/batch/v1/namespaces/NS/jobs'];
// how long the Pods get to go before the namespace is deleted anyway (the agent stops in ~1 s on SIGTERM)
const PODS_GONE_MS = 15_000;

/**
 * The namespace's Pods stopped first, best effort: a namespace deleted while its Pods terminate is
 * looked at again by the namespace controller only after about half their grace period, so a
 * tenant's delete took ~17 s on the harness, most of it waiting for that second look. No right to
 * delete a workload (403) or a slow Pod only means the namespace's own deletion does the rest.
 */
async function stopPods(c: Cluster, timeoutMs: number): Promise<void> {
  const ns = c.namespace;
  for (const w of WORKLOADS) {
    try { await c.api.deletePath(`/${w.replace('NS', ns)}`, { propagationPolicy: 'Background' }); } catch (e) {
      if (httpCode(e) === 404 || httpCode(e) === 403) continue;
      throw apiError(e, c, { action: 'delete', object: w.split('/').pop()! });
    }
  }
  const end = Date.now() + Math.min(timeoutMs, PODS_GONE_MS);
  for (;;) {
    const pods = await get<{ items?: KObj[] }>(c, `/api/v1/namespaces/${ns}/pods`).catch(() => undefined);
    if (!pods?.items?.length || Date.now() > end) return;
    await sleep(200);
  }
}

/** Deletes the namespace (its Pods first) and waits until the API server has removed it and all it held. */
async function deleteNamespace(c: Cluster, timeoutMs: number, say: (l: string) => void): Promise<void> {
  await stopPods(c, timeoutMs);
  try { await c.api.deletePath(`/api/v1/namespaces/${c.namespace}`, { propagationPolicy: 'Foreground' }); } catch (e) {
    if (httpCode(e) !== 404) throw apiError(e, c, { action: 'delete', object: `namespace/${c.namespace}` });
  }
  const start = Date.now();
  let last = '';
  for (;;) {
    const ns = await get<KObj & { status?: { conditions?: { type?: string; status?: string; message?: string }[] } }>(c, `/api/v1/namespaces/${c.namespace}`);
    if (!ns) { say(`namespace/${c.namespace} deleted`); return; }
    const left = ns.status?.conditions?.find((x) => x.type === 'NamespaceContentRemaining' && x.status === 'True')?.message;
    const line = `namespace/${c.namespace}: Terminating${left ? ` (${left})` : ''}`;
    if (line !== last) { say(line); last = line; }
    if (Date.now() - start > timeoutMs) {
      throw new ClawpodError('RUNTIME_ERROR', `namespace ${c.namespace} is still terminating after ${Math.round(timeoutMs / 1000)}s${left ? `: ${left}` : ''}`, { hint: `kubectl get namespace ${c.namespace} -o yaml (a finalizer that no controller removes keeps it)` });
    }
    await sleep(500);
  }
}

/**
 * The tenant's row in the activator's routes ConfigMap (its own key, so tenants applied at once never
 * overwrite each other's): written when its lifecycle has idle tiers, removed when it no longer has.
 * Returns what was done, for the progress line.
 */
async function writeRoute(c0: Cluster, tenant: string, route: KubeRoute | undefined, namespace: string): Promise<string | undefined> {
  const c = inNamespace(c0, namespace);
  const path = `/api/v1/namespaces/${namespace}/configmaps/${ROUTES_CONFIGMAP}`;
  const key = tenantRouteKey(tenant);
  const where = `configmap/${ROUTES_CONFIGMAP} in namespace ${namespace}`;
  if (!route) {
    try { await c.api.mergePatch(path, { data: { [key]: null } }); } catch (e) {
      // no activator there, or no right to its namespace: then there is no row to remove either
      if (httpCode(e) === 404 || httpCode(e) === 403) return undefined;
      throw apiError(e, c, { action: 'patch', object: `configmap/${ROUTES_CONFIGMAP}` });
    }
    return undefined;
  }
  const data = { [key]: `${JSON.stringify([route])}\n` };
  try { await c.api.mergePatch(path, { data }); return `activator route ${route.host} written to ${where}`; } catch (e) {
    if (httpCode(e) !== 404) throw apiError(e, c, { action: 'patch', object: `configmap/${ROUTES_CONFIGMAP}` });
  }
  try {
    await c.api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROUTES_CONFIGMAP, namespace, labels: { [K8S_LABELS.managedBy]: MANAGED_BY } }, data } as never);
  } catch (e) {
    // made meanwhile by another tenant's apply
    if (httpCode(e) === 409) { await c.api.mergePatch(path, { data }); return `activator route ${route.host} written to ${where}`; }
    if (httpCode(e) === 404) {
      throw new ClawpodError('NOT_FOUND', `tenant ${tenant}: its plan has idle tiers but namespace ${namespace} of clawpod's activator does not exist`, {
        hint: `install the activator first (kubectl apply -k deploy/activator), or remove lifecycle.idle from the plan; without it nothing scales the tenant to 0 or wakes it`,
      });
    }
    throw apiError(e, c, { action: 'create', object: `configmap/${ROUTES_CONFIGMAP}` });
  }
  return `activator route ${route.host} written to ${where} (made)`;
}

/** Removes a deleted tenant's row; the activator forgets its host at its next check. */
async function dropRoute(c0: Cluster, tenant: string, namespace: string): Promise<void> {
  await writeRoute(c0, tenant, undefined, namespace);
}

async function applyOne(c0: Cluster, item: { tenant: Tenant; plan: Plan }, opts: ApplyTenantsOptions, openshift: boolean): Promise<TenantKubeResult> {
  const { tenant, plan } = item;
  const start = Date.now();
  const name = tenant.metadata.name;
  const c = inNamespace(c0, tenantNames(name).namespace);
  const say = (l: string) => opts.onProgress?.(`tenant ${name}: ${l}`);
  const applied: string[] = [];
  let created = false;
  let secret: TenantKubeResult['secret'];
  const base = () => ({ name, namespace: c.namespace, plan: plan.metadata.name, applied, createdNamespace: created, ...(secret ? { secret } : {}), seconds: (Date.now() - start) / 1000 });
  const apply = async (o: ObjectRef) => {
    try { await c.api.apply(o, false); } catch (e) {
      const err = apiError(e, c, { action: 'apply', object: refName(o), done: applied });
      throw httpCode(e) === 403 && /exceeded quota/.test(err.message) ? quotaError(`tenant ${name}: ${refName(o)}`, err.message, e) : err;
    }
    applied.push(refName(o));
    say(`${refName(o)} applied`);
  };
  try {
    if (plan.spec.storageClass) await checkStorageClass(c, plan.spec.storageClass);
    const ns = await get<KObj>(c, `/api/v1/namespaces/${c.namespace}`);
    if (ns) checkOwned(ns, name);
    if (ns?.metadata?.deletionTimestamp) throw new ClawpodError('RUNTIME_ERROR', `namespace ${c.namespace} of tenant ${name} is being deleted`, { hint: 'apply again once it is gone (clawpod tenant status shows Terminating until then)' });
    await apply(tenantNamespace(tenant, plan) as ObjectRef);
    created = !ns;
    const s = await ensureSecret(c, tenant, plan, opts.issueLlmToken);
    secret = s.secret;
    say(`secret/${tenantNames(name).agent}-secrets ${s.secret}`);
    const activatorNamespace = opts.activatorNamespace ?? ACTIVATOR_NAMESPACE;
    for (const o of renderTenant(tenant, plan, { ...opts.renderOpts, openshift, activatorNamespace, ...(s.wiring ? { llm: s.wiring } : {}) }).slice(1)) await apply(o as ObjectRef);
    const row = await writeRoute(c0, name, tenantRoute(tenant, plan), activatorNamespace);
    if (row) say(row);
    if (opts.wait !== false) await waitTenant(c, name, opts.timeoutMs, say);
    return { ...base(), ok: true };
  } catch (e) {
    const error = e instanceof ClawpodError ? e : new ClawpodError('RUNTIME_ERROR', `tenant ${name}: ${messageOf(e)}`, { cause: e });
    if (!created) return { ...base(), ok: false, error };
    // a tenant new in this call leaves nothing behind: its namespace goes, and everything in it
    say(`failed; deleting namespace/${c.namespace} made by this run`);
    try { await deleteNamespace(c, Math.max(opts.timeoutMs, 60_000), say); } catch (d) {
      return { ...base(), ok: false, error: new ClawpodError(error.code, error.message, { hint: error.hint, details: [...error.details, `rollback: ${messageOf(d)}`], cause: e }) };
    }
    return { ...base(), ok: false, rolledBack: true, error };
  }
}

/** Applies every tenant (at most `concurrency` at once); one tenant's failure is in its result, not thrown. */
export async function applyTenants(items: readonly { tenant: Tenant; plan: Plan }[], opts: ApplyTenantsOptions): Promise<TenantKubeResult[]> {
  const c = openCluster(opts);
  const openshift = await resolveOpenShift(c, opts.openshift);
  const out: TenantKubeResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => { for (let i = next++; i < items.length; i = next++) out[i] = await applyOne(c, items[i]!, opts, openshift); };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, items.length)) }, worker));
  return out;
}

type List = { items?: KObj[] };
const byNs = (l: List | undefined) => {
  const m = new Map<string, KObj[]>();
  for (const o of l?.items ?? []) { const ns = (o.metadata as { namespace?: string } | undefined)?.namespace ?? ''; m.set(ns, [...(m.get(ns) ?? []), o]); }
  return m;
};

/**
 * Every tenant of the cluster (or those named): namespaces labelled as clawpod's tenants, each
 * confirmed by its own StatefulSet's labels (a namespace label alone is only a hint), with its
 * phase, what it waits on, the payload version and its URL. Lists cluster-wide, then reads events
 * only of tenants that are not Ready.
 */
export async function tenantStatusKube(opts: ClusterOptions & { readonly names?: readonly string[] }): Promise<TenantKubeStatus[]> {
  const c = openCluster(opts);
  const mine = encodeURIComponent(`${TENANT_LABELS.kubeTenant},${K8S_LABELS.managedBy}=${MANAGED_BY}`);
  const list = async (path: string, optional = false): Promise<List | undefined> => {
    try { return await c.api.getPath<List>(`${path}?labelSelector=${mine}`); } catch (e) {
      if (optional && httpCode(e) === 404) return undefined; // no Routes: not OpenShift
      throw apiError(e, c, { action: 'list', object: path.split('/').pop() });
    }
  };
  const [nss, stss, pods, ingresses, routes] = await Promise.all([
    list('/api/v1/namespaces'), list('/apis/apps/v1/statefulsets'), list('/api/v1/pods'),
    list('/apis/networking.k8s.io/v1/ingresses'), list('/apis/route.openshift.io/v1/routes', true),
  ]);
  const [stsBy, podsBy, ingBy, routeBy] = [byNs(stss), byNs(pods), byNs(ingresses), byNs(routes)];
  const wanted = opts.names ? new Set(opts.names) : undefined;
  const tenants = (nss?.items ?? []).map((ns) => ({ ns, name: ns.metadata?.labels?.[TENANT_LABELS.kubeTenant] ?? '', nsName: ns.metadata?.name ?? '' }))
    .filter((t) => t.nsName === tenantNames(t.name).namespace);
  const out = await Promise.all(tenants.filter((t) => !wanted || wanted.has(t.name)).map(async ({ ns, name, nsName }): Promise<TenantKubeStatus> => {
    const w = tenantNames(name).agent;
    const sts = (stsBy.get(nsName) ?? []).find((s) => s.metadata?.name === w && s.metadata.labels?.[TENANT_LABELS.kubeTenant] === name);
    const input = { ns, ...(sts ? { sts } : {}), pods: podsBy.get(nsName) ?? [], events: [] as KEvent[], workload: w };
    let state = tenantState(input);
    if (state.phase !== 'Ready' && state.phase !== 'Terminating') {
      // events say why (a quota refusal, a failed mount): read only for tenants that need them
      const ev = await get<{ items?: KEvent[] }>(inNamespace(c, nsName), `/api/v1/namespaces/${nsName}/events?fieldSelector=type%3DWarning`).catch(() => undefined);
      state = tenantState({ ...input, events: ev?.items ?? [] });
    }
    const ing = (ingBy.get(nsName) ?? [])[0] as { spec?: { rules?: { host?: string }[] } } | undefined;
    const route = (routeBy.get(nsName) ?? [])[0] as { spec?: { host?: string } } | undefined;
    const host = ing?.spec?.rules?.[0]?.host ?? route?.spec?.host;
    const version = versionOf(sts);
    return { name, plan: ns.metadata?.labels?.[TENANT_LABELS.kubePlan] ?? '', phase: state.phase, ...(state.waitingOn ? { waitingOn: state.waitingOn } : {}), ...(version ? { version } : {}), ...(host ? { url: `https://${host}` } : {}) };
  }));
  const missing = [...(wanted ?? [])].filter((n) => !out.some((t) => t.name === n));
  if (missing.length) {
    throw new ClawpodError('NOT_FOUND', `no tenant ${missing.join(', ')} on ${c.server} (context ${c.context})`, {
      hint: tenants.length ? `tenants there: ${tenants.map((t) => t.name).sort().join(', ')}` : 'there is no tenant on this cluster: check --context',
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Deletes a tenant: its whole namespace (foreground), so the claims, the Secret and everything
 * else go with it, and waits until it is gone. Refuses a namespace clawpod did not make for it.
 */
export async function deleteTenantKube(name: string, opts: ClusterOptions & { readonly timeoutMs?: number; readonly onProgress?: (line: string) => void; readonly activatorNamespace?: string }): Promise<{ name: string; namespace: string; seconds: number }> {
  const start = Date.now();
  const c = inNamespace(openCluster(opts), tenantNames(name).namespace);
  await ownedNamespace(c, name);
  await deleteNamespace(c, opts.timeoutMs ?? 120_000, (l) => opts.onProgress?.(`tenant ${name}: ${l}`));
  await dropRoute(c, name, opts.activatorNamespace ?? ACTIVATOR_NAMESPACE).catch((e: unknown) => opts.onProgress?.(`tenant ${name}: its activator route was not removed: ${messageOf(e)}`));
  return { name, namespace: c.namespace, seconds: (Date.now() - start) / 1000 };
}

export { upgradeTenantKube, type UpgradeResult } from './kube-upgrade.js';
