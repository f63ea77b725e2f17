// An agent in a cluster as the Runtime interface sees a container: its workload (a Job made by
// the runtime driver or by `clawpod apply`, or an applied StatefulSet), its newest Pod, and the
// state, exit code and labels read from them. Ids are "job/NAME" or "statefulset/NAME".
import { LABELS } from '../../spec/defaults.js';
import type { ContainerDetails, ContainerInfo, ContainerState } from '../runtime.js';
import { apiError, httpCode, type Cluster } from '../../kube/cluster.js';
import { CONTAINER_NAME, K8S_LABELS, MANAGED_BY } from '../../kube/defaults.js';
import { LABELS_ANNOTATION } from './container-job.js';
import type { ContainerStatus, Obj } from '../../kube/wait.js';

export type WorkloadKind = 'job' | 'statefulset';
const PATHS: Record<WorkloadKind, string> = { job: '/apis/batch/v1', statefulset: '/apis/apps/v1' };
const PLURAL: Record<WorkloadKind, string> = { job: 'jobs', statefulset: 'statefulsets' };

export interface Workload extends Obj {
  metadata?: Obj['metadata'] & { annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: Obj['spec'] & { suspend?: boolean; template?: { spec?: TemplateSpec } };
}
interface SecurityContext {
  runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}
interface TemplateSpec {
  runtimeClassName?: string;
  securityContext?: SecurityContext;
  containers?: { name?: string; image?: string; securityContext?: SecurityContext }[];
}

export interface Found { readonly kind: WorkloadKind; readonly name: string; readonly workload: Workload; readonly pod: Obj | undefined }

export function workloadPath(c: Cluster, kind: WorkloadKind, name?: string): string {
  return `${PATHS[kind]}/namespaces/${c.namespace}/${PLURAL[kind]}${name ? `/${name}` : ''}`;
}

/** "job/x" → job x; a bare name is looked up as a Job, then a StatefulSet. */
export function parseId(id: string): { kinds: WorkloadKind[]; name: string } {
  const m = /^(job|statefulset)\/(.+)$/.exec(id);
  return m ? { kinds: [m[1] as WorkloadKind], name: m[2]! } : { kinds: ['job', 'statefulset'], name: id };
}

/** The selector of an agent's Pods, for Jobs and StatefulSets alike (both carry the app.kubernetes.io labels). */
export function podSelector(name: string): string {
  return `${K8S_LABELS.instance}=${name},${K8S_LABELS.component}=agent,${K8S_LABELS.managedBy}=${MANAGED_BY}`;
}

/** The agent's newest Pod, or undefined when none exists (yet). */
export async function newestPod(c: Cluster, name: string): Promise<Obj | undefined> {
  const ps = (await c.api.getPath<{ items?: Obj[] }>(`/api/v1/namespaces/${c.namespace}/pods`, { labelSelector: podSelector(name) })).items ?? [];
  return ps.sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp))).pop();
}

export async function findWorkload(c: Cluster, id: string): Promise<Found | undefined> {
  const { kinds, name } = parseId(id);
  for (const kind of kinds) {
    let workload: Workload;
    try { workload = await c.api.getPath<Workload>(workloadPath(c, kind, name)); } catch (e) {
      // 403: a user (the in-cluster control plane) allowed Jobs only does not see StatefulSets
      if (httpCode(e) === 404 || (httpCode(e) === 403 && kinds.length > 1)) continue;
      throw apiError(e, c, { action: 'read', object: `${kind}/${name}` });
    }
    return { kind, name, workload, pod: await newestPod(c, name) };
  }
  return undefined;
}

export function agentStatus(p: Obj | undefined): ContainerStatus | undefined {
  return p?.status?.containerStatuses?.find((s) => s.name === CONTAINER_NAME);
}

function state(f: Found): ContainerState {
  const cs = agentStatus(f.pod);
  if (cs?.state?.terminated) return 'exited';
  if (cs?.state?.running) return 'running';
  if (f.pod?.status?.phase === 'Succeeded' || f.pod?.status?.phase === 'Failed') return 'exited';
  return 'created';
}

/** The workload's labels as the runtime-neutral ones: the driver's own (annotation), or those an applied agent implies. */
function labelsOf(w: Workload): Record<string, string> {
  const a = w.metadata?.annotations?.[LABELS_ANNOTATION];
  if (a) { try { return JSON.parse(a) as Record<string, string>; } catch { /* fall through */ } }
  const l = w.metadata?.labels ?? {};
  return { ...l, ...(l[K8S_LABELS.managedBy] === MANAGED_BY ? { [LABELS.managed]: 'true', [LABELS.agent]: l[K8S_LABELS.instance] ?? '' } : {}) };
}

export function info(f: Found): ContainerInfo {
  const cs = agentStatus(f.pod);
  const exit = cs?.state?.terminated?.exitCode;
  return {
    id: `${f.kind}/${f.name}`,
    name: f.name,
    image: f.workload.spec?.template?.spec?.containers?.find((x) => x.name === CONTAINER_NAME)?.image ?? '',
    state: state(f),
    labels: labelsOf(f.workload),
    ports: [],
    createdAt: f.workload.metadata?.creationTimestamp ?? '',
    ...(exit !== undefined ? { exitCode: exit } : {}),
  };
}

/**
 * What `clawpod inspect` can say of a cluster agent, from its Pod template (what the kubelet enforces);
 * the raw objects for the rest. ociRuntime is the RuntimeClass ('' = the node's default runtime).
 */
export function details(f: Found): ContainerDetails {
  const t = f.workload.spec?.template?.spec;
  const pod = t?.securityContext ?? {};
  const c = t?.containers?.find((x) => x.name === CONTAINER_NAME)?.securityContext ?? {};
  const uid = c.runAsUser ?? pod.runAsUser;
  const gid = c.runAsGroup ?? pod.runAsGroup;
  return {
    ...info(f),
    user: uid === undefined ? '' : `${uid}${gid === undefined ? '' : `:${gid}`}`,
    readOnlyRootfs: c.readOnlyRootFilesystem ?? false,
    capDrop: c.capabilities?.drop ?? [], capAdd: c.capabilities?.add ?? [],
    securityOpt: c.allowPrivilegeEscalation === false ? ['no-new-privileges'] : [],
    memoryBytes: 0, pidsLimit: 0, nanoCpus: 0, networkMode: 'pod', ociRuntime: t?.runtimeClassName ?? '', mounts: [],
    raw: { workload: f.workload, pod: f.pod },
  };
}
