// The readiness wait of `clawpod apply` (and of the Kubernetes runtime driver): polls the claims,
// the Job or StatefulSet and their Pods, prints a line whenever one's state changes, fails at once
// on what will not get better by waiting (a Failed Job, an image that cannot be pulled), and at
// the deadline names everything still pending and why.
import { ClawpodError, type ErrorCode } from '../errors.js';
import { apiError, refName, type Cluster } from './cluster.js';
import { K8S_LABELS } from './defaults.js';
import { describeClasses, storageClasses, type StorageClass } from './storage.js';
import type { KubeObject } from './types.js';

interface Condition { type?: string; status?: string; reason?: string; message?: string }
export interface ContainerStatus {
  name?: string; image?: string; ready?: boolean;
  state?: { waiting?: { reason?: string; message?: string }; running?: { startedAt?: string }; terminated?: { reason?: string; exitCode?: number; message?: string } };
}
export interface Obj {
  kind?: string;
  metadata?: { name?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec?: { storageClassName?: string; replicas?: number; parallelism?: number; containers?: { name?: string; image?: string }[] };
  status?: {
    phase?: string; conditions?: Condition[]; ready?: number; active?: number; failed?: number; succeeded?: number; startTime?: string;
    readyReplicas?: number;
    containerStatuses?: ContainerStatus[];
  };
}
interface List { items?: Obj[] }

/** Why waiting longer will not help: the error's code and its fix. */
export interface Failure { readonly code: ErrorCode; readonly hint: string }
/** One object's state: ready, still pending (with why), or failed for good. */
export interface State { readonly ready: boolean; readonly line: string; readonly failed?: Failure }

/** Waiting reasons of a container whose image will not come: the kubelet retries, but the user must act. */
export const IMAGE_FAILURES = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'] as const;

const cond = (o: Obj, type: string) => o.status?.conditions?.find((x) => x.type === type);

function imageHint(image: string): string {
  const local = image.startsWith('localhost/');
  return local
    ? `${image} exists only where it was built: load it into the nodes (kind load docker-image ${image}; containerd: podman save ${image} | ctr -n k8s.io images import -) or push it to a registry and set spec.image`
    : `check the name and tag of ${image}, that the nodes reach its registry, and its pull credentials (imagePullSecrets); or push it, or fix spec.image`;
}

/** A Pod's state from its status alone (pure: the events are added by the caller). */
export function podState(p: Obj): State {
  const name = refName({ kind: 'Pod', metadata: p.metadata });
  const phase = p.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') return { ready: true, line: `${name}: Succeeded` };
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    const image = cs.image ?? p.spec?.containers?.find((c) => c.name === cs.name)?.image ?? '?';
    if (w?.reason && (IMAGE_FAILURES as readonly string[]).includes(w.reason)) {
      return {
        ready: false,
        line: `${name}: container ${cs.name ?? '?'}: image ${image} cannot be pulled (${w.reason}${w.message ? `: ${w.message}` : ''})`,
        failed: { code: 'IMAGE_NOT_FOUND', hint: imageHint(image) },
      };
    }
  }
  if (phase === 'Failed') return { ready: false, line: `${name}: Failed`, failed: { code: 'RUNTIME_ERROR', hint: '' } };
  const sched = cond(p, 'PodScheduled');
  if (!sched) return { ready: false, line: `${name}: Pending, not scheduled (no scheduler has looked at it yet: is a scheduler running?)` };
  if (sched.status !== 'True') return { ready: false, line: `${name}: Pending, unschedulable: ${sched.message ?? sched.reason ?? 'no reason given'}` };
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason === 'CreateContainerConfigError') return { ready: false, line: `${name}: ${w.reason}: ${w.message ?? ''} — a missing Secret or key? kubectl create secret generic ...` };
    if (w?.reason) return { ready: false, line: `${name}: ${phase}, container ${cs.name ?? ''} waiting (${w.reason}${w.message ? `: ${w.message}` : ''})` };
  }
  if (cond(p, 'Ready')?.status === 'True') return { ready: true, line: `${name}: Ready` };
  return { ready: false, line: `${name}: ${phase}, not Ready${phase === 'Running' ? ' (the readiness probe has not passed yet)' : ''}` };
}

/** " — last event REASON: MESSAGE" of the object's newest Warning event, or '' (none, or events may not be read). */
export async function lastWarning(c: Cluster, name: string): Promise<string> {
  try {
    const ev = await c.api.getPath<{ items?: { reason?: string; message?: string; lastTimestamp?: string; eventTime?: string }[] }>(
      `/api/v1/namespaces/${c.namespace}/events`, { fieldSelector: `involvedObject.name=${name},type=Warning` });
    const last = (ev.items ?? []).sort((a, b) => String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime))).pop();
    return last ? ` — last event ${last.reason ?? ''}: ${last.message ?? ''}` : '';
  } catch { return ''; }
}

/** A claim's state; `classes` undefined when they could not be listed. */
export function pvcState(o: Obj, classes: readonly StorageClass[] | undefined): State {
  const name = `pvc/${o.metadata?.name ?? '?'}`;
  if (o.status?.phase === 'Bound') return { ready: true, line: `${name}: Bound` };
  const cls = o.spec?.storageClassName;
  let why: string;
  if (classes === undefined) why = cls ? `StorageClass ${cls}` : 'no StorageClass named';
  else if (cls !== undefined && cls !== '') {
    const sc = classes.find((x) => x.metadata?.name === cls);
    if (!sc) why = `its StorageClass ${cls} does not exist (${describeClasses(classes)}): create it, or apply again with --storage-class naming one of them`;
    else if (sc.volumeBindingMode === 'WaitForFirstConsumer') return { ready: true, line: `${name}: Pending until its Pod is scheduled (StorageClass ${cls}, WaitForFirstConsumer)` };
    else why = `waiting for StorageClass ${cls} (provisioner ${sc.provisioner ?? '?'}) to provision a volume`;
  } else why = 'no StorageClass named and the cluster has no default StorageClass: mark one default (storageclass.kubernetes.io/is-default-class), pass --storage-class, or create a matching PersistentVolume';
  return { ready: false, line: `${name}: Pending (${why})` };
}

async function pods(c: Cluster, selector: string): Promise<Obj[]> {
  return (await c.api.getPath<List>(`/api/v1/namespaces/${c.namespace}/pods`, { labelSelector: selector })).items ?? [];
}

/** Pod states, each pending one with its last Warning event. */
async function podStates(c: Cluster, ps: readonly Obj[]): Promise<State[]> {
  return Promise.all(ps.map(async (p) => { const s = podState(p); return s.ready ? s : { ...s, line: `${s.line}${await lastWarning(c, p.metadata?.name ?? '')}` }; }));
}

async function workloadState(c: Cluster, o: Obj): Promise<State[]> {
  const name = refName(o);
  const ns = c.namespace;
  if (o.kind === 'Job') {
    const j = await c.api.getPath<Obj>(`/apis/batch/v1/namespaces/${ns}/jobs/${o.metadata!.name!}`);
    if (cond(j, 'Complete')?.status === 'True') return [{ ready: true, line: `${name}: Complete` }];
    const failed = cond(j, 'Failed');
    if (failed?.status === 'True') return [{ ready: false, line: `${name}: Failed (${failed.reason ?? ''}: ${failed.message ?? ''})`, failed: { code: 'RUNTIME_ERROR', hint: '' } }];
    if ((j.status?.ready ?? 0) >= 1) return [{ ready: true, line: `${name}: running (${j.status?.ready} Ready)` }];
    const ps = await pods(c, `batch.kubernetes.io/job-name=${o.metadata!.name!}`);
    if (ps.length === 0) {
      const picked = j.status?.startTime ? '' : ' — the Job controller has not started it: is kube-controller-manager running?';
      return [{ ready: false, line: `${name}: waiting for pods (${j.status?.active ?? 0}/${j.spec?.parallelism ?? 1} active)${picked}` }];
    }
    return podStates(c, ps);
  }
  // StatefulSet
  const s = await c.api.getPath<Obj>(`/apis/apps/v1/namespaces/${ns}/statefulsets/${o.metadata!.name!}`);
  const want = s.spec?.replicas ?? 1;
  if ((s.status?.readyReplicas ?? 0) >= want) return [{ ready: true, line: `${name}: ${want}/${want} Ready` }];
  const inst = o.metadata?.labels?.[K8S_LABELS.instance] ?? o.metadata?.name ?? '';
  const ps = await pods(c, `${K8S_LABELS.instance}=${inst},${K8S_LABELS.component}=agent`);
  if (ps.length === 0) return [{ ready: false, line: `${name}: waiting for pods (${s.status?.readyReplicas ?? 0}/${want} ready)${s.status?.conditions === undefined && s.status?.readyReplicas === undefined && !('replicas' in (s.status ?? {})) ? ' — the StatefulSet controller has not picked it up: is kube-controller-manager running?' : ''}` }];
  return podStates(c, ps);
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly onProgress: (line: string) => void;
  /** What was applied before the wait (named in every error: it stays). */
  readonly applied: readonly string[];
  readonly pollMs?: number;
}

/** The first failure as one error: an image that cannot be pulled is IMAGE_NOT_FOUND, the rest RUNTIME_ERROR. */
function failedError(c: Cluster, failed: readonly State[], applied: readonly string[]): ClawpodError {
  const first = failed[0]!;
  const what = first.line.split(':')[0]!;
  return new ClawpodError(first.failed!.code, `the agent failed in namespace ${c.namespace}: ${failed.map((s) => s.line).join('; ')}`, {
    hint: `${first.failed!.hint ? `${first.failed!.hint}; then ` : `kubectl -n ${c.namespace} describe ${what} and clawpod logs; then `}clawpod apply again (the objects stay: clawpod delete removes them)`,
    details: [`applied: ${applied.join(', ')}`],
  });
}

/**
 * Polls (every second) until every PVC is bound (or waits for its Pod) and the Job has a Ready Pod
 * or completed, or the StatefulSet has its ready replicas. Throws naming what is still pending at
 * the deadline, or at once what failed (a Failed Job or Pod, an image that cannot be pulled).
 */
export async function waitReady(c: Cluster, objects: readonly KubeObject[], o: WaitOptions): Promise<void> {
  const start = Date.now();
  const seen = new Map<string, string>();
  const classes = await storageClasses(c).catch(() => undefined);
  const watched = objects.filter((x) => ['PersistentVolumeClaim', 'Job', 'StatefulSet'].includes(x.kind)) as Obj[];
  for (;;) {
    let states: State[];
    try {
      states = (await Promise.all(watched.map(async (x) => {
        if (x.kind !== 'PersistentVolumeClaim') return workloadState(c, x);
        const s = pvcState(await c.api.getPath<Obj>(`/api/v1/namespaces/${c.namespace}/persistentvolumeclaims/${x.metadata!.name!}`), classes);
        return [s.ready ? s : { ...s, line: `${s.line}${await lastWarning(c, x.metadata!.name!)}` }];
      }))).flat();
    } catch (e) {
      throw apiError(e, c, { action: 'read the state of', object: watched.map(refName).join(', '), done: o.applied });
    }
    for (const s of states) {
      const key = s.line.split(':')[0]!;
      if (seen.get(key) !== s.line) { seen.set(key, s.line); o.onProgress(s.line); }
    }
    const failed = states.filter((s) => s.failed);
    if (failed.length) throw failedError(c, failed, o.applied);
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
