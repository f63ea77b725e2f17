// A tenant's state in a cluster, from what the API server says about its namespace, StatefulSet,
// Pod and events: `clawpod tenant status`, the apply wait and the upgrade wait read a tenant alike,
// as one phase and one line naming what it waits on. tenantState is pure; the readers below it
// are the few GETs it needs, shared by kube.ts and kube-upgrade.ts.
import { ClawpodError, type ErrorCode } from '../errors.js';
import { apiError, ClusterApi, httpCode, type Cluster } from '../kube/cluster.js';
import { K8S_LABELS, MANAGED_BY, SPEC_ANNOTATION } from '../kube/defaults.js';
import { detectOpenShift } from '../kube/openshift.js';
import { IMAGE_FAILURES, podState, type ContainerStatus, type Obj } from '../kube/wait.js';
import { tenantNames, TENANT_LABELS } from './derive.js';
import type { LlmWiring } from './kube-render.js';

export type TenantPhase = 'Provisioning' | 'Ready' | 'Failed' | 'Terminating' | 'Suspended';

export interface Meta { name?: string; uid?: string; generation?: number; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
/** The fields of a Namespace, StatefulSet or Pod read here. */
export interface KObj extends Omit<Obj, 'metadata' | 'status'> {
  metadata?: Meta;
  spec?: Obj['spec'] & { template?: { metadata?: Meta; spec?: { containers?: { name?: string; image?: string }[] } } };
  status?: NonNullable<Obj['status']> & {
    initContainerStatuses?: (ContainerStatus & { restartCount?: number })[];
    observedGeneration?: number; updateRevision?: string; currentRevision?: string; updatedReplicas?: number;
  };
}
export interface KEvent { reason?: string; message?: string; type?: string; involvedObject?: { kind?: string; name?: string }; lastTimestamp?: string; eventTime?: string }

export interface TenantState {
  readonly phase: TenantPhase;
  /** One line: what it waits on, or why it failed (the API's own words where there are some). */
  readonly waitingOn?: string;
  /** Why a Failed tenant failed, as the error code a wait reports. */
  readonly code?: ErrorCode;
}

/** Reasons a container waits in that will not clear by waiting: its command or its config is wrong. */
const BROKEN = ['CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'InvalidImageName'];

/** The payload version a StatefulSet runs: its spec annotation's profile version, else the image tag. */
export function versionOf(sts: KObj | undefined): string | undefined {
  const ann = sts?.spec?.template?.metadata?.annotations?.[SPEC_ANNOTATION] ?? sts?.metadata?.annotations?.[SPEC_ANNOTATION];
  try {
    const v = (JSON.parse(ann ?? '') as { spec?: { profile?: { version?: string } } }).spec?.profile?.version;
    if (v) return v;
  } catch { /* no annotation: the image says */ }
  return sts?.spec?.template?.spec?.containers?.[0]?.image?.split(':').pop();
}

/** A Pod's containers (init ones first) that are broken for good, as one line; undefined when none is. */
export function brokenContainer(pod: KObj): string | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []).map((s) => ({ s, init: true })), ...(pod.status?.containerStatuses ?? []).map((s) => ({ s, init: false }))];
  for (const { s, init } of all) {
    const w = s.state?.waiting;
    if (w?.reason && BROKEN.includes(w.reason)) {
      const last = (s as { lastState?: ContainerStatus['state'] }).lastState?.terminated;
      return `pod/${pod.metadata?.name ?? '?'}: ${init ? 'init container' : 'container'} ${s.name ?? '?'} ${w.reason}${last ? ` (exit code ${last.exitCode ?? '?'}${last.reason ? `, ${last.reason}` : ''})` : ''}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  return undefined;
}

/** The newest Warning that says the quota refused a Pod or a claim, in the API's words. */
export function quotaRefusal(events: readonly KEvent[]): string | undefined {
  const hits = events.filter((e) => e.type === 'Warning' && /exceeded quota/.test(e.message ?? ''));
  hits.sort((a, b) => String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime)));
  const last = hits.pop();
  return last ? `${(last.involvedObject?.kind ?? '').toLowerCase()}/${last.involvedObject?.name ?? '?'}: ${last.reason ?? ''}: ${last.message ?? ''}` : undefined;
}

/** Is the StatefulSet's newest template fully rolled out and Ready? */
export function rolledOut(sts: KObj): boolean {
  const s = sts.status ?? {};
  const want = sts.spec?.replicas ?? 1;
  return (s.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0)
    && (s.readyReplicas ?? 0) >= want
    && (s.updatedReplicas ?? want) >= want
    && (!s.updateRevision || s.updateRevision === s.currentRevision);
}

/**
 * Phase and "what it waits on" of one tenant. Failed: the quota refused its Pod, the image cannot
 * be pulled, a container crashes or cannot be configured. Provisioning: anything still expected to
 * come (a claim binding, a Pod being scheduled, pulled, probed, a rollout).
 */
export function tenantState(t: { ns?: KObj; sts?: KObj; pods: readonly KObj[]; events: readonly KEvent[]; workload: string; since?: string }): TenantState {
  if (t.ns?.metadata?.deletionTimestamp) return { phase: 'Terminating', waitingOn: `namespace ${t.ns.metadata.name ?? ''} is being deleted` };
  if (!t.sts) return { phase: 'Provisioning', waitingOn: `statefulset/${t.workload} not applied yet` };
  if (t.sts.spec?.replicas === 0) return { phase: 'Suspended', waitingOn: `statefulset/${t.workload} is scaled to 0` };
  // a wait ignores what happened before it began (an event stays an hour)
  const events = t.since ? t.events.filter((e) => String(e.lastTimestamp ?? e.eventTime ?? '') >= t.since!) : t.events;
  const quota = quotaRefusal(events);
  if (quota && t.pods.length === 0) return { phase: 'Failed', waitingOn: quota, code: 'QUOTA_EXCEEDED' };
  const pod = t.pods.find((p) => p.metadata?.name === `${t.workload}-0`) ?? t.pods[0];
  if (pod?.metadata?.deletionTimestamp) return { phase: 'Provisioning', waitingOn: `pod/${pod.metadata.name ?? ''} is terminating` };
  if (pod) {
    const broken = brokenContainer(pod);
    if (broken) return { phase: 'Failed', waitingOn: broken, code: 'UNHEALTHY' };
    const s = podState(pod as Obj);
    if (s.failed) {
      const image = (pod.status?.containerStatuses ?? []).some((c) => (IMAGE_FAILURES as readonly string[]).includes(c.state?.waiting?.reason ?? ''));
      return { phase: 'Failed', waitingOn: s.line, code: image ? 'IMAGE_NOT_FOUND' : 'UNHEALTHY' };
    }
    if (rolledOut(t.sts) && s.ready) return { phase: 'Ready' };
    if (!s.ready) return { phase: 'Provisioning', waitingOn: s.line };
  }
  if (!pod) {
    const warn = events.filter((e) => e.type === 'Warning').pop();
    return { phase: 'Provisioning', waitingOn: `statefulset/${t.workload}: waiting for its pod${warn ? ` — last event ${warn.reason ?? ''}: ${warn.message ?? ''}` : ''}` };
  }
  return { phase: 'Provisioning', waitingOn: `statefulset/${t.workload}: rolling out revision ${t.sts.status?.updateRevision ?? '?'}` };
}

// ---- reading a tenant from the API server ----

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The same connection, aimed at another namespace (paths and messages name it). */
export function inNamespace(c: Cluster, namespace: string): Cluster {
  return { ...c, namespace, api: ClusterApi.make(c.kc, namespace) };
}

export async function resolveOpenShift(c: Cluster, o: boolean | 'auto' | undefined): Promise<boolean> {
  return o === 'auto' ? detectOpenShift(c.kc) : (o ?? false);
}

/** GET of an API path; undefined when it does not exist. */
export async function get<T>(c: Cluster, path: string): Promise<T | undefined> {
  try { return await c.api.getPath<T>(path); } catch (e) {
    if (httpCode(e) === 404) return undefined;
    throw apiError(e, c, { action: 'read', object: path.replace(/\?.*/, '').split('/').slice(-2).join('/') });
  }
}

/** Refuses a namespace clawpod did not make for this tenant: it is never taken over, upgraded nor deleted. */
export function checkOwned(ns: KObj, tenant: string): void {
  const l = ns.metadata?.labels ?? {};
  if (l[K8S_LABELS.managedBy] === MANAGED_BY && l[TENANT_LABELS.kubeTenant] === tenant) return;
  throw new ClawpodError('USAGE', `namespace ${ns.metadata?.name ?? ''} exists but is not clawpod's namespace of tenant ${tenant} (labels ${K8S_LABELS.managedBy}=${l[K8S_LABELS.managedBy] ?? '(none)'}, ${TENANT_LABELS.kubeTenant}=${l[TENANT_LABELS.kubeTenant] ?? '(none)'})`, {
    hint: `clawpod only touches namespaces it made; rename the tenant, or move what is in ${ns.metadata?.name ?? ''} elsewhere and delete it`,
  });
}

/** The tenant's namespace, which must exist and be clawpod's. */
export async function ownedNamespace(c: Cluster, tenant: string): Promise<KObj> {
  const ns = await get<KObj>(c, `/api/v1/namespaces/${c.namespace}`);
  if (!ns) throw new ClawpodError('NOT_FOUND', `no tenant ${tenant} on ${c.server}: namespace ${c.namespace} does not exist`, { hint: 'clawpod tenant status --kube lists the tenants there (or pass --context)' });
  checkOwned(ns, tenant);
  return ns;
}

/** Non-secret wiring kept on the Secret beside the llm token, so a re-apply renders the same config without a new token. */
export const WIRING = { url: 'clawpod.dev/llm-url', api: 'clawpod.dev/llm-api', model: 'clawpod.dev/llm-model' } as const;

export function wiringOf(a: Record<string, string> | undefined): LlmWiring | undefined {
  const api = a?.[WIRING.api];
  return a?.[WIRING.url] && a[WIRING.model] && (api === 'anthropic' || api === 'openai') ? { url: a[WIRING.url]!, api, model: a[WIRING.model]! } : undefined;
}

export const quotaError = (what: string, line: string, e?: unknown) => new ClawpodError('QUOTA_EXCEEDED', `${what}: the namespace's ResourceQuota refuses it: ${line}`, {
  hint: "raise the plan's spec.quota (or lower spec.resources / spec.volumes) and apply again", ...(e ? { cause: e } : {}),
});

export type ReadState = TenantState & { sts?: KObj; pod?: KObj };

/** Everything tenantState needs for one tenant namespace (its events only while no Pod is Ready). */
export async function readTenant(c: Cluster, tenant: string, since?: string): Promise<ReadState> {
  const w = tenantNames(tenant).agent;
  const ns = c.namespace;
  const [nsObj, sts, pods] = await Promise.all([
    get<KObj>(c, `/api/v1/namespaces/${ns}`),
    get<KObj>(c, `/apis/apps/v1/namespaces/${ns}/statefulsets/${w}`),
    get<{ items?: KObj[] }>(c, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`${K8S_LABELS.instance}=${w},${K8S_LABELS.component}=agent`)}`),
  ]);
  const items = pods?.items ?? [];
  const ready = items.some((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
  const events = ready || !nsObj ? [] : ((await get<{ items?: KEvent[] }>(c, `/api/v1/namespaces/${ns}/events?fieldSelector=type%3DWarning`))?.items ?? []);
  const pod = items.find((p) => p.metadata?.name === `${w}-0`);
  return { ...tenantState({ ...(nsObj ? { ns: nsObj } : {}), ...(sts ? { sts } : {}), pods: items, events, workload: w, ...(since ? { since } : {}) }), ...(sts ? { sts } : {}), ...(pod ? { pod } : {}) };
}

/** Polls until the tenant is Ready (rolled out); fails at once when it cannot become so, and at the deadline naming what it waits on. */
export async function waitTenant(c: Cluster, tenant: string, timeoutMs: number, say: (l: string) => void): Promise<void> {
  const start = Date.now();
  const since = new Date(start - 5000).toISOString().replace(/\.\d+Z$/, 'Z');
  const pod = `${tenantNames(tenant).agent}-0`;
  let last = '';
  for (;;) {
    const s = await readTenant(c, tenant, since);
    const line = s.waitingOn ?? s.phase;
    if (line !== last) { say(line); last = line; }
    if (s.phase === 'Ready') return;
    if (s.phase === 'Failed') {
      if (s.code === 'QUOTA_EXCEEDED') throw quotaError(`tenant ${tenant}`, s.waitingOn ?? '');
      throw new ClawpodError(s.code ?? 'UNHEALTHY', `tenant ${tenant} cannot become ready in namespace ${c.namespace}: ${s.waitingOn ?? ''}`, { hint: `kubectl -n ${c.namespace} describe pod ${pod}; kubectl -n ${c.namespace} logs ${pod} --all-containers` });
    }
    if (Date.now() - start >= timeoutMs) {
      throw new ClawpodError('RUNTIME_ERROR', `tenant ${tenant}: not ready after ${Math.round(timeoutMs / 1000)}s in namespace ${c.namespace}: ${line}`, { hint: `kubectl -n ${c.namespace} get events; wait longer (--timeout), or fix what it waits on` });
    }
    await sleep(Math.min(500, Math.max(0, timeoutMs - (Date.now() - start))));
  }
}
