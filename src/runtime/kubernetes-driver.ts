// The Runtime interface on a Kubernetes cluster, for what the control plane's sessions need:
// a container is a suspended Job (src/runtime/kubernetes/container-job.ts) started by unsuspending it, a
// volume is a PersistentVolumeClaim, follow-ups and frames travel over attach, output after
// the end comes from the Pod's log. Agents applied with `clawpod apply` are found too, so
// `clawpod logs`/`exec` work on them. What a cluster has no notion of (host ports, an image store on
// "the host", runtime secrets, archives, pause, rename) it simply does not implement: those facets are
// missing, and src/runtime/facets.ts tells a caller who needs one the way to do it on a cluster.
import { ClawpodError } from '../errors.js';
import { apiError, httpCode, openCluster, type Cluster, type ClusterOptions, type ObjectRef } from '../kube/cluster.js';
import { jobForContainer, kubeLabels, LABELS_ANNOTATION } from './kubernetes/container-job.js';
import { KUBE_DEFAULTS } from '../kube/defaults.js';
import { attachPod, execPod, podLogs } from './kubernetes/pod-io.js';
import { checkStorageClass } from '../kube/storage.js';
import { lastWarning, podState } from '../kube/wait.js';
import { agentStatus, details, findWorkload, info, newestPod, workloadPath, type Found, type Workload } from './kubernetes/workloads.js';
import type {
  Attached, ContainerDetails, ContainerInfo, ContainerSpec, ExecOptions, ExecResult, OutputChunk,
  Runtime, RuntimeCapabilities, RuntimeInfo, VolumeInfo,
} from './runtime.js';

export interface KubernetesDriverOptions extends ClusterOptions {
  /** ServiceAccount of session Pods (default "default"). */
  readonly serviceAccount?: string;
  /** StorageClass of the claims createVolume makes (checked once; default: the cluster's default). */
  readonly storageClass?: string;
  /** How often the driver polls a Pod's state (default 250 ms). */
  readonly pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Selector = Readonly<Record<string, string>> | undefined;
const matches = (labels: Readonly<Record<string, string>>, want: Selector) => Object.entries(want ?? {}).every(([k, v]) => labels[k] === v);

export class KubernetesDriver implements Runtime {
  readonly kind = 'kubernetes' as const;
  readonly endpoint: string;
  readonly capabilities: RuntimeCapabilities = { hostPorts: false };
  readonly cluster: Cluster;
  private storageChecked = false;

  constructor(private readonly o: KubernetesDriverOptions = {}) {
    this.cluster = openCluster(o);
    this.endpoint = `${this.cluster.server} (context ${this.cluster.context}, namespace ${this.cluster.namespace})`;
  }

  get namespace(): string { return this.cluster.namespace; }
  private get c(): Cluster { return this.cluster; }
  private fail(action: string, object: string, e: unknown): never { throw e instanceof ClawpodError ? e : apiError(e, this.c, { action, object }); }

  async info(): Promise<RuntimeInfo> {
    try {
      const v = await this.c.api.getPath<{ gitVersion?: string }>('/version');
      return { kind: 'kubernetes', version: v.gitVersion ?? '?', apiVersion: 'v1', ociRuntimes: {} };
    } catch (e) { this.fail('read the version of', 'the API server', e); }
  }

  private async found(id: string): Promise<Found> {
    const f = await findWorkload(this.c, id);
    if (!f) throw new ClawpodError('NOT_FOUND', `no clawpod agent ${id} in namespace ${this.c.namespace} (${this.c.server})`, { hint: `kubectl -n ${this.c.namespace} get jobs,statefulsets -l app.kubernetes.io/managed-by=clawpod` });
    return f;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const job = jobForContainer(spec, { serviceAccount: this.o.serviceAccount ?? 'default' });
    if (await findWorkload(this.c, `job/${spec.name}`)) throw new ClawpodError('NAME_TAKEN', `a Job named ${spec.name} already exists in namespace ${this.c.namespace}`, { hint: `kubectl -n ${this.c.namespace} delete job ${spec.name}` });
    try { await this.c.api.apply({ ...job, metadata: { ...job.metadata, namespace: this.c.namespace } } as ObjectRef, false); } catch (e) { this.fail('create', `job/${spec.name}`, e); }
    return `job/${spec.name}`;
  }

  async startContainer(id: string): Promise<void> {
    const f = await this.found(id);
    if (f.kind !== 'job') return; // a StatefulSet runs by itself
    // a merge patch under no field manager of ours: the applied Job keeps everything else
    try { await this.c.api.mergePatch(workloadPath(this.c, 'job', f.name), { spec: { suspend: false } }); } catch (e) { this.fail('start', id, e); }
  }

  /** The name of the agent's Pod once its container runs; fails at once on an image that will not come. */
  async runningPod(id: string, timeoutMs = 300_000): Promise<string> {
    const f = await this.found(id);
    const deadline = Date.now() + timeoutMs;
    let last = 'no Pod yet';
    for (;;) {
      const p = await newestPod(this.c, f.name);
      if (p) {
        const cs = agentStatus(p);
        if (cs?.state?.running || cs?.state?.terminated) return p.metadata!.name!;
        const s = podState(p);
        if (s.failed) throw new ClawpodError(s.failed.code, `${id} in namespace ${this.c.namespace} cannot start: ${s.line}`, { hint: s.failed.hint || `kubectl -n ${this.c.namespace} describe pod ${p.metadata?.name ?? ''}` });
        last = s.line;
      }
      if (Date.now() > deadline) {
        const event = p ? await lastWarning(this.c, p.metadata?.name ?? '') : '';
        throw new ClawpodError('RUNTIME_ERROR', `${id} in namespace ${this.c.namespace} did not start within ${Math.round(timeoutMs / 1000)}s: ${last}${event}`, { hint: `kubectl -n ${this.c.namespace} describe ${id}` });
      }
      await sleep(this.o.pollMs ?? 250);
    }
  }

  async attach(id: string): Promise<Attached> {
    return attachPod(this.c, this.runningPod(id));
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    const f = await this.found(id);
    if (!f.pod || agentStatus(f.pod)?.state?.terminated) return;
    // the kubelet sends SIGTERM, then SIGKILL after the grace period, as `podman stop -t`
    try { await this.c.api.deletePath(`/api/v1/namespaces/${this.c.namespace}/pods/${f.pod.metadata!.name!}`, { gracePeriodSeconds: String(timeoutSeconds) }); } catch (e) {
      if (httpCode(e) !== 404) this.fail('stop', id, e);
    }
  }

  async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const f = await findWorkload(this.c, id);
    if (!f) return;
    try {
      // Background: the API server removes the Job now, the garbage collector its Pod after
      await this.c.api.deletePath(workloadPath(this.c, f.kind, f.name), { propagationPolicy: 'Background', ...(opts.force ? { gracePeriodSeconds: '0' } : {}) });
      if (opts.force && f.pod) await this.c.api.deletePath(`/api/v1/namespaces/${this.c.namespace}/pods/${f.pod.metadata!.name!}`, { gracePeriodSeconds: '0' }).catch(() => undefined);
    } catch (e) {
      if (httpCode(e) !== 404) this.fail('remove', id, e);
    }
  }

  async waitContainer(id: string): Promise<number> {
    for (;;) {
      const f = await findWorkload(this.c, id);
      if (!f) return -1; // removed meanwhile
      const t = agentStatus(f.pod)?.state?.terminated;
      if (t) return t.exitCode ?? -1;
      const failed = f.workload.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
      if (failed && !f.pod) return -1;
      await sleep(this.o.pollMs ?? 250);
    }
  }

  async listContainers(filter: { labels?: Readonly<Record<string, string>>; all?: boolean } = {}): Promise<ContainerInfo[]> {
    const selector = Object.entries({ ...kubeLabels(filter.labels ?? {}), 'app.kubernetes.io/managed-by': 'clawpod' }).map(([k, v]) => `${k}=${v}`).join(',');
    const out: ContainerInfo[] = [];
    for (const kind of ['job', 'statefulset'] as const) {
      let items: Workload[];
      try { items = (await this.c.api.getPath<{ items?: Workload[] }>(workloadPath(this.c, kind), { labelSelector: selector })).items ?? []; } catch (e) {
        // the in-cluster control plane's Role has Jobs only (deploy/role.yaml): no StatefulSets to list for it
        if (kind === 'statefulset' && httpCode(e) === 403) continue;
        this.fail('list', `${kind}s`, e);
      }
      for (const w of items) {
        const name = w.metadata!.name!;
        const i = info({ kind, name, workload: w, pod: await newestPod(this.c, name) });
        if (matches(i.labels, filter.labels) && (filter.all || i.state !== 'exited')) out.push(i);
      }
    }
    return out;
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    const f = await findWorkload(this.c, idOrName);
    return f ? details(f) : undefined;
  }

  logs(id: string, opts: { follow?: boolean; tail?: number } = {}): AsyncIterable<OutputChunk> {
    const pod = this.found(id).then((f) => f.pod?.metadata?.name ?? this.runningPod(id));
    const c = this.c;
    return { async *[Symbol.asyncIterator]() { yield* podLogs(c, await pod, opts); } };
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const f = await this.found(id);
    if (!f.pod || !agentStatus(f.pod)?.state?.running) throw new ClawpodError('USAGE', `${id} in namespace ${this.c.namespace} is not running`, { hint: `kubectl -n ${this.c.namespace} get pods -l app.kubernetes.io/instance=${f.name}` });
    return execPod(this.c, f.pod.metadata!.name!, opts);
  }

  // ---- volumes: PersistentVolumeClaims

  private claimPath(name?: string): string { return `/api/v1/namespaces/${this.c.namespace}/persistentvolumeclaims${name ? `/${name}` : ''}`; }

  async createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    if (this.o.storageClass && !this.storageChecked) { await checkStorageClass(this.c, this.o.storageClass); this.storageChecked = true; }
    const claim = {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: this.c.namespace, labels: { ...kubeLabels(labels), 'app.kubernetes.io/managed-by': 'clawpod', 'app.kubernetes.io/component': 'workspace' }, annotations: { [LABELS_ANNOTATION]: JSON.stringify(labels) } },
      spec: { accessModes: ['ReadWriteOnce'], ...(this.o.storageClass ? { storageClassName: this.o.storageClass } : {}), resources: { requests: { storage: KUBE_DEFAULTS.workspaceSize } } },
    };
    try { await this.c.api.apply(claim, false); } catch (e) { this.fail('create', `persistentvolumeclaim/${name}`, e); }
  }

  async removeVolume(name: string): Promise<void> {
    try { await this.c.api.deletePath(this.claimPath(name)); } catch (e) { if (httpCode(e) !== 404) this.fail('delete', `persistentvolumeclaim/${name}`, e); }
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    try {
      const v = await this.c.api.getPath<{ metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>(this.claimPath(name));
      return { name, labels: JSON.parse(v.metadata?.annotations?.[LABELS_ANNOTATION] ?? 'null') as Record<string, string> | null ?? v.metadata?.labels ?? {} };
    } catch (e) {
      if (httpCode(e) === 404) return undefined;
      this.fail('read', `persistentvolumeclaim/${name}`, e);
    }
  }

  async listVolumes(filter: { labels?: Readonly<Record<string, string>> } = {}): Promise<VolumeInfo[]> {
    const selector = Object.entries(kubeLabels(filter.labels ?? {})).map(([k, v]) => `${k}=${v}`).join(',');
    try {
      const items = (await this.c.api.getPath<{ items?: { metadata?: { name?: string; labels?: Record<string, string> } }[] }>(this.claimPath(), selector ? { labelSelector: selector } : {})).items ?? [];
      return items.map((v) => ({ name: v.metadata?.name ?? '', labels: v.metadata?.labels ?? {} }));
    } catch (e) { this.fail('list', 'persistentvolumeclaims', e); }
  }
}
