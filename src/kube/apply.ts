// `clawpod apply`: rendered objects → a cluster by server-side apply (field manager "clawpod",
// strict field validation), in the renderer's dependency order, then a wait until the agent is
// ready. The namespace must exist (createNamespace creates it, as `helm --create-namespace`);
// the Secret NAME-secrets is never created here (its values are not clawpod's to read).
import { ClawpodError } from '../errors.js';
import { apiError, httpCode, openCluster, refName, type Cluster, type ClusterOptions, type ObjectRef } from './cluster.js';
import { K8S_LABELS } from './defaults.js';
import type { KubeObject } from './types.js';

export interface ApplyOptions extends ClusterOptions {
  /** Server-side dry run (`dryRun=All`): validated and admitted by the server, nothing stored. */
  readonly dryRun?: boolean;
  /** Create the namespace when it is missing (default false: a typo should not make a namespace). */
  readonly createNamespace?: boolean;
  /** Wait until the workload is ready (default true; never on a dry run). */
  readonly wait?: boolean;
  /** How long to wait for readiness. */
  readonly timeoutMs: number;
  /** Progress lines ("job/x: waiting for pods (0/1 active)"); stderr in the CLI. */
  readonly onProgress?: (line: string) => void;
}

export interface ApplyResult {
  readonly server: string;
  readonly context: string;
  readonly namespace: string;
  readonly dryRun: boolean;
  /** "kind/name" of every object applied, in order. */
  readonly applied: string[];
  /** True when waited and ready; undefined when not waited. */
  readonly ready?: boolean;
}

async function ensureNamespace(c: Cluster, opts: ApplyOptions, say: (l: string) => void): Promise<void> {
  try {
    await c.api.getPath(`/api/v1/namespaces/${c.namespace}`);
    return;
  } catch (e) {
    const code = httpCode(e);
    if (code === 403) return; // may not read namespaces, may still apply in one: the apply says
    if (code !== 404) throw apiError(e, c, { action: 'read', object: `namespace/${c.namespace}`, done: [] });
  }
  if (!opts.createNamespace || opts.dryRun) {
    throw new ClawpodError('NOT_FOUND', `namespace ${c.namespace} does not exist on ${c.server} (context ${c.context})${opts.dryRun && opts.createNamespace ? '; a dry run does not create it' : ''}`, {
      hint: `kubectl create namespace ${c.namespace}, or add --create-namespace (or pick another with --namespace)`,
      details: ['nothing was applied'],
    });
  }
  try {
    await c.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: c.namespace, labels: { 'app.kubernetes.io/managed-by': 'clawpod' } } }, false);
  } catch (e) {
    throw apiError(e, c, { action: 'apply', object: `namespace/${c.namespace}`, done: [] });
  }
  say(`namespace/${c.namespace} created`);
}

/** Applies `objects` in order into the cluster of `opts`; see ApplyOptions for what is waited for. */
export async function applyAgents(objects: readonly KubeObject[], opts: ApplyOptions): Promise<ApplyResult> {
  const say = opts.onProgress ?? (() => undefined);
  const c = openCluster(opts);
  const dryRun = opts.dryRun ?? false;
  await ensureNamespace(c, opts, say);
  const applied: string[] = [];
  const inNs = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: c.namespace } }) as KubeObject);
  for (const o of inNs) {
    const ref = refName(o);
    try {
      await c.api.apply(o as ObjectRef, dryRun);
    } catch (e) {
      throw apiError(e, c, { action: 'apply', object: ref, done: applied });
    }
    applied.push(ref);
    say(`${ref} ${dryRun ? 'valid (server dry run, not stored)' : 'applied'}`);
  }
  const result = { server: c.server, context: c.context, namespace: c.namespace, dryRun, applied };
  if (dryRun || opts.wait === false) return result;
  await waitReady(c, inNs, { timeoutMs: opts.timeoutMs, onProgress: say, applied });
  return { ...result, ready: true };
}

// ---- waiting for readiness (kept here: the wait is part of what `apply` promises) ----

interface Condition { type?: string; status?: string; reason?: string; message?: string }
interface Obj {
  kind?: string;
  metadata?: { name?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec?: { storageClassName?: string; replicas?: number; parallelism?: number; containers?: { name?: string; image?: string }[] };
  status?: {
    phase?: string; conditions?: Condition[]; ready?: number; active?: number; failed?: number; succeeded?: number; startTime?: string;
    readyReplicas?: number;
    containerStatuses?: { name?: string; image?: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}
interface List { items?: Obj[] }
interface StorageClass { metadata?: { name?: string; annotations?: Record<string, string> }; volumeBindingMode?: string }

/** One object's state: ready, still pending (with why), or failed for good. */
interface State { ready: boolean; line: string; failed?: boolean }

const cond = (o: Obj, type: string) => o.status?.conditions?.find((x) => x.type === type);

function podState(p: Obj): State {
  const name = refName({ kind: 'Pod', metadata: p.metadata });
  const phase = p.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') return { ready: true, line: `${name}: Succeeded` };
  if (phase === 'Failed') return { ready: false, failed: true, line: `${name}: Failed` };
  const sched = cond(p, 'PodScheduled');
  if (!sched) return { ready: false, line: `${name}: Pending, not scheduled (no scheduler has looked at it yet: is a scheduler running?)` };
  if (sched.status !== 'True') return { ready: false, line: `${name}: Pending, unschedulable: ${sched.message ?? sched.reason ?? 'no reason given'}` };
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason === 'ErrImagePull' || w?.reason === 'ImagePullBackOff') {
      return { ready: false, line: `${name}: image ${cs.image ?? '?'} cannot be pulled (${w.reason}: ${w.message ?? ''}) — push it to a registry the nodes reach, or load it into them (kind load docker-image)` };
    }
    if (w?.reason === 'CreateContainerConfigError') return { ready: false, line: `${name}: ${w.reason}: ${w.message ?? ''} — a missing Secret or key? kubectl create secret generic ...` };
    if (w?.reason) return { ready: false, line: `${name}: ${phase}, container ${cs.name ?? ''} waiting (${w.reason}${w.message ? `: ${w.message}` : ''})` };
  }
  if (cond(p, 'Ready')?.status === 'True') return { ready: true, line: `${name}: Ready` };
  return { ready: false, line: `${name}: ${phase}, not Ready${phase === 'Running' ? ' (the readiness probe has not passed yet)' : ''}` };
}

async function lastWarning(c: Cluster, name: string): Promise<string> {
  try {
    const ev = await c.api.getPath<{ items?: { reason?: string; message?: string; lastTimestamp?: string; eventTime?: string }[] }>(
      `/api/v1/namespaces/${c.namespace}/events`, { fieldSelector: `involvedObject.name=${name},type=Warning` });
    const last = (ev.items ?? []).sort((a, b) => String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime))).pop();
    return last ? ` — last event ${last.reason ?? ''}: ${last.message ?? ''}` : '';
  } catch { return ''; }
}

async function pvcState(c: Cluster, o: Obj, classes: StorageClass[] | undefined): Promise<State> {
  const name = `pvc/${o.metadata?.name ?? '?'}`;
  if (o.status?.phase === 'Bound') return { ready: true, line: `${name}: Bound` };
  const cls = o.spec?.storageClassName;
  let why: string;
  if (classes === undefined) why = cls ? `StorageClass ${cls}` : 'no StorageClass named';
  else if (cls !== undefined && cls !== '') {
    const sc = classes.find((x) => x.metadata?.name === cls);
    if (!sc) why = `no StorageClass named ${cls} exists: create it or set the cluster's default StorageClass`;
    else if (sc.volumeBindingMode === 'WaitForFirstConsumer') return { ready: true, line: `${name}: Pending until its Pod is scheduled (StorageClass ${cls}, WaitForFirstConsumer)` };
    else why = `waiting for StorageClass ${cls} to provision a volume`;
  } else why = 'no StorageClass named and the cluster has no default StorageClass: mark one default (storageclass.kubernetes.io/is-default-class) or create a matching PersistentVolume';
  return { ready: false, line: `${name}: Pending (${why})${await lastWarning(c, o.metadata?.name ?? '')}` };
}

async function pods(c: Cluster, selector: string): Promise<Obj[]> {
  return (await c.api.getPath<List>(`/api/v1/namespaces/${c.namespace}/pods`, { labelSelector: selector })).items ?? [];
}

async function workloadState(c: Cluster, o: Obj): Promise<State[]> {
  const name = refName(o);
  const ns = c.namespace;
  if (o.kind === 'Job') {
    const j = await c.api.getPath<Obj>(`/apis/batch/v1/namespaces/${ns}/jobs/${o.metadata!.name!}`);
    if (cond(j, 'Complete')?.status === 'True') return [{ ready: true, line: `${name}: Complete` }];
    const failed = cond(j, 'Failed');
    if (failed?.status === 'True') return [{ ready: false, failed: true, line: `${name}: Failed (${failed.reason ?? ''}: ${failed.message ?? ''})` }];
    if ((j.status?.ready ?? 0) >= 1) return [{ ready: true, line: `${name}: running (${j.status?.ready} Ready)` }];
    const ps = await pods(c, `batch.kubernetes.io/job-name=${o.metadata!.name!}`);
    if (ps.length === 0) {
      const picked = j.status?.startTime ? '' : ' — the Job controller has not started it: is kube-controller-manager running?';
      return [{ ready: false, line: `${name}: waiting for pods (${j.status?.active ?? 0}/${j.spec?.parallelism ?? 1} active)${picked}` }];
    }
    return Promise.all(ps.map(async (p) => { const s = podState(p); return s.ready ? s : { ...s, line: `${s.line}${await lastWarning(c, p.metadata?.name ?? '')}` }; }));
  }
  // StatefulSet
  const s = await c.api.getPath<Obj>(`/apis/apps/v1/namespaces/${ns}/statefulsets/${o.metadata!.name!}`);
  const want = s.spec?.replicas ?? 1;
  if ((s.status?.readyReplicas ?? 0) >= want) return [{ ready: true, line: `${name}: ${want}/${want} Ready` }];
  const inst = o.metadata?.labels?.[K8S_LABELS.instance] ?? o.metadata?.name ?? '';
  const ps = await pods(c, `${K8S_LABELS.instance}=${inst},${K8S_LABELS.component}=agent`);
  if (ps.length === 0) return [{ ready: false, line: `${name}: waiting for pods (${s.status?.readyReplicas ?? 0}/${want} ready)${s.status?.conditions === undefined && s.status?.readyReplicas === undefined && !('replicas' in (s.status ?? {})) ? ' — the StatefulSet controller has not picked it up: is kube-controller-manager running?' : ''}` }];
  return Promise.all(ps.map(async (p) => { const st = podState(p); return st.ready ? st : { ...st, line: `${st.line}${await lastWarning(c, p.metadata?.name ?? '')}` }; }));
}

/**
 * Polls (every second) until every PVC is bound (or waits for its Pod) and the Job has a Ready Pod
 * or completed, or the StatefulSet has its ready replicas. A line is printed whenever an
 * object's state changes. Throws naming what is still pending at the deadline, or what failed.
 */
export async function waitReady(c: Cluster, objects: readonly KubeObject[], o: { timeoutMs: number; onProgress: (l: string) => void; applied: readonly string[]; pollMs?: number }): Promise<void> {
  const start = Date.now();
  const seen = new Map<string, string>();
  let classes: StorageClass[] | undefined;
  try { classes = (await c.api.getPath<{ items?: StorageClass[] }>('/apis/storage.k8s.io/v1/storageclasses')).items ?? []; } catch { classes = undefined; }
  const watched = objects.filter((x) => ['PersistentVolumeClaim', 'Job', 'StatefulSet'].includes(x.kind)) as Obj[];
  for (;;) {
    let states: State[];
    try {
      states = (await Promise.all(watched.map(async (x) => {
        if (x.kind !== 'PersistentVolumeClaim') return workloadState(c, x);
        return [await pvcState(c, await c.api.getPath<Obj>(`/api/v1/namespaces/${c.namespace}/persistentvolumeclaims/${x.metadata!.name!}`), classes)];
      }))).flat();
    } catch (e) {
      throw apiError(e, c, { action: 'read the state of', object: watched.map(refName).join(', '), done: o.applied });
    }
    for (const s of states) {
      const key = s.line.split(':')[0]!;
      if (seen.get(key) !== s.line) { seen.set(key, s.line); o.onProgress(s.line); }
    }
    const failed = states.filter((s) => s.failed);
    if (failed.length) {
      throw new ClawpodError('RUNTIME_ERROR', `the agent failed in namespace ${c.namespace}: ${failed.map((s) => s.line).join('; ')}`, {
        hint: `kubectl -n ${c.namespace} describe ${failed[0]!.line.split(':')[0]} and clawpod logs; then clawpod delete and apply again`,
        details: [`applied: ${o.applied.join(', ')}`],
      });
    }
    const pending = states.filter((s) => !s.ready);
    if (pending.length === 0) return;
    const elapsed = Date.now() - start;
    if (elapsed >= o.timeoutMs) {
      const names = pending.map((s) => s.line.split(':')[0]!);
      throw new ClawpodError('RUNTIME_ERROR', `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for the agent in namespace ${c.namespace} to be ready; still pending: ${names.join(', ')}`, {
        hint: `the objects stay applied: kubectl -n ${c.namespace} describe ${names[0]}; wait longer with --timeout, skip the wait with --no-wait, or remove them with clawpod delete`,
        details: [...pending.map((s) => s.line), `applied: ${o.applied.join(', ')}`],
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 1000, o.timeoutMs - elapsed)));
  }
}
