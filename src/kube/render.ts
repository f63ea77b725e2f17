// Agent spec → Kubernetes objects, pure (docs/kubernetes.md has the mapping table). Session
// agents → a Job and a workspace PVC; persistent agents → a one-replica StatefulSet with a
// headless Service and claim templates. Both get a ServiceAccount without a token, a
// NetworkPolicy and the hardened securityContext. No secret value is ever rendered: the Pod
// refers to a Secret NAME-secrets by key, which is created apart (docs/kubernetes.md).
import { validatedDurationMs } from '../spec/quantity.js';
import type { Agent } from '../spec/schema.js';
import { withSafeAnnotations } from './annotations.js';
import { KUBE_DEFAULTS, SPEC_ANNOTATION } from './defaults.js';
import { egressNotes, egressOf, proxyBypass, renderEgressProxy, withEgress } from './egress.js';
import { labelsFor, mountClaimName, mountVolumeName, objectNames, selectorLabels, type Component } from './names.js';
import { ingresses, isLoopback, isPublished, networkPolicy, routes, service } from './network.js';
import { configMap, withPayloadSecrets } from './payload.js';
import { buildPod, type ClaimWanted } from './pod.js';
import type { IJob, IPersistentVolumeClaim, IPodSpec, IServiceAccount, IStatefulSet, KubeObject, Rendered, RenderOptions } from './types.js';

function seconds(d: string | number): number {
  return Math.ceil(validatedDurationMs(d) / 1000);
}

/** The spec as the annotation holds it: compact JSON of the validated (defaulted) Agent. */
export function specAnnotation(agent: Agent): string {
  return JSON.stringify(agent);
}

function metaFn(agent: Agent, opts: RenderOptions) {
  return (name: string, component: Component) => ({
    name,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    labels: labelsFor(agent, component),
  });
}

/** The agent's own annotations, then the spec: on the workload and its Pods, so a Pod read back from a cluster imports too. */
function annotations(agent: Agent): Record<string, string> {
  return { ...(agent.metadata.annotations ?? {}), [SPEC_ANNOTATION]: specAnnotation(agent) };
}

function claimSpec(c: ClaimWanted, storageClass: string | undefined): NonNullable<IPersistentVolumeClaim['spec']> {
  return { accessModes: ['ReadWriteOnce'], ...(storageClass ? { storageClassName: storageClass } : {}), resources: { requests: { storage: c.size } } };
}

function withClaimVolumes(spec: IPodSpec, claims: readonly ClaimWanted[]): IPodSpec {
  return { ...spec, volumes: [...(spec.volumes ?? []), ...claims.map((c) => ({ name: c.volume, persistentVolumeClaim: { claimName: c.claimName } }))] };
}

export function pvc(agent: Agent, c: ClaimWanted, meta: ReturnType<typeof metaFn>, storageClass?: string): IPersistentVolumeClaim {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(c.claimName, c.component), spec: claimSpec(c, storageClass) };
}

/** What the user has to do or know; one line each, no values. */
export function renderNotes(agent: Agent, opts: RenderOptions & { target: 'kubernetes' | 'podman' }): string[] {
  const s = agent.spec;
  const n = objectNames(agent);
  const notes: string[] = [];
  if (s.secrets.length > 0) {
    const keys = s.secrets.map((x) => x.name);
    notes.push(opts.target === 'podman'
      ? `Podman secret ${n.secret} must hold the keys ${keys.join(', ')} as a JSON map of base64 values: printf '{"${keys[0]}":"BASE64"}' | podman secret create ${n.secret} -`
      : `Secret ${n.secret} must hold the keys ${keys.join(', ')} before the Pod starts: kubectl create secret generic ${n.secret} ${keys.map((k) => `--from-file=${k}=PATH`).join(' ')}`);
  }
  if (s.image.startsWith('localhost/') && opts.target === 'kubernetes') notes.push(`image ${s.image} is in no registry: load it into the cluster's nodes (kind load docker-image ${s.image}) or push it and set spec.image`);
  notes.push(`resources.pids (${s.resources.pids}) has no Pod field: ${opts.target === 'podman' ? 'the pids_limit of containers.conf applies' : "the node's pod PID limit applies"}`);
  for (const m of s.mounts) {
    const claim = opts.mode === 'persistent' && opts.target === 'kubernetes' ? `${mountVolumeName(m.containerPath)}-${agent.metadata.name}-0` : mountClaimName(agent, m.containerPath);
    notes.push(`mount ${m.hostPath} → ${m.containerPath} becomes the empty ${opts.target === 'podman' ? 'volume' : 'PVC'} ${claim}: the host folder's contents are not copied`);
  }
  if (opts.target === 'kubernetes') {
    if (s.ports.some((p) => p.hostPort !== 'auto')) notes.push(`hostPort is a local setting: in the cluster the ports are Service ${n.service}:${s.ports.map((p) => p.containerPort).join(',')}`);
    for (const p of s.ports.filter((x) => x.protocol === 'udp' && !isLoopback(x.hostIP))) notes.push(`UDP port ${p.containerPort} is published locally but gets no ${opts.openshift ? 'Route' : 'Ingress'} (they carry HTTP): use a LoadBalancer Service`);
    if (s.isolation === 'gvisor') notes.push('isolation gvisor needs a RuntimeClass "gvisor" (handler runsc) on the cluster');
    if (s.isolation === 'microvm') notes.push('isolation microvm needs a RuntimeClass "kata" (Kata Containers: a VM per Pod) on the cluster');
    if (opts.mode === 'persistent' && s.lifecycle.ttl !== undefined) notes.push(`lifecycle.ttl (${String(s.lifecycle.ttl)}) limits session Jobs only: a persistent StatefulSet does not expire`);
  } else {
    if (s.network === 'none') notes.push('a kube file cannot say "no network": play it with podman kube play --network none FILE');
    if (s.isolation === 'gvisor') notes.push('podman kube play has no runtime field: set runtime = "runsc" in the containers.conf it reads (CONTAINERS_CONF)');
    if (s.isolation === 'microvm') notes.push('podman kube play has no runtime field: set runtime = "clawpod-microvm" in the containers.conf it reads (CONTAINERS_CONF)');
    notes.push('Podman 4.3 puts the emptyDir at /tmp on disk, not in memory');
  }
  return notes;
}

/** Every object of one agent, in an order that applies cleanly (identity and storage first). */
export function renderAgent(given: Agent, opts: RenderOptions): Rendered {
  // annotations that would loosen the Pod go nowhere, not even into the spec annotation
  const { agent: spec, warnings } = withSafeAnnotations(given);
  // a profile's own secrets (its generated token, the LLM token) are keys of the agent's Secret too
  const agent = withPayloadSecrets(spec);
  const meta = metaFn(agent, opts);
  const names = objectNames(agent);
  const { spec: built, claims } = buildPod(agent, { target: 'kubernetes', openshift: opts.openshift ?? false });
  // spec.egress: the namespace's proxy, and the agent pointed at it (its policy: network.ts)
  const egress = egressOf(agent);
  const pod = egress ? withEgress(built, egress, proxyBypass(agent, opts.gatewayNamespace)) : built;
  const template = { metadata: { labels: labelsFor(agent, 'agent'), annotations: annotations(spec) } };
  const objects: KubeObject[] = [];

  const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(names.serviceAccount, 'identity'), automountServiceAccountToken: false };
  objects.push(sa);
  const cm = configMap(agent, (name) => meta(name, 'config'));
  if (cm) objects.push(cm);
  if (egress) objects.push(...renderEgressProxy(egress, { agent: agent.metadata.name, image: agent.spec.image, ...(opts.namespace ? { namespace: opts.namespace } : {}), openshift: opts.openshift ?? false }));
  if (opts.mode === 'session') {
    objects.push(...claims.map((c) => pvc(agent, c, meta, opts.storageClass)));
    const svc = service(agent, 'session', meta);
    if (svc) objects.push(svc);
    objects.push(networkPolicy(agent, opts, meta));
    const job: IJob = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { ...meta(names.workload, 'agent'), annotations: annotations(spec) },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: seconds(agent.spec.lifecycle.ttl ?? KUBE_DEFAULTS.sessionDeadline),
        ttlSecondsAfterFinished: KUBE_DEFAULTS.ttlSecondsAfterFinished,
        template: { ...template, spec: { ...withClaimVolumes(pod, claims), restartPolicy: 'Never' } },
      },
    };
    objects.push(job);
  } else {
    const svc = service(agent, 'persistent', meta)!;
    objects.push(svc, networkPolicy(agent, opts, meta));
    const sts: IStatefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { ...meta(names.workload, 'agent'), annotations: annotations(spec) },
      spec: {
        replicas: 1,
        serviceName: svc.metadata!.name!,
        selector: { matchLabels: selectorLabels(agent) },
        // like the local workspace volume: kept when the agent is removed, deleted only on purpose
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: { ...template, spec: { ...pod, restartPolicy: 'Always' } },
        ...(claims.length > 0
          ? { volumeClaimTemplates: claims.map((c) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: c.volume, labels: labelsFor(agent, c.component) }, spec: claimSpec(c, opts.storageClass) })) }
          : {}),
      },
    };
    objects.push(sts);
  }
  if (agent.spec.ports.some(isPublished)) objects.push(...(opts.openshift ? routes(agent, meta) : ingresses(agent, meta)));
  return { objects, notes: [...renderNotes(agent, { ...opts, target: 'kubernetes' }), ...(egress ? egressNotes(egress) : [])], warnings };
}
