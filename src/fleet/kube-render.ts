// A Tenant on a Plan → the Kubernetes objects of its own namespace, pure and deterministic
// (docs/kubernetes.md, "Tenants"): the namespace, its quota and default limits, network policies
// that isolate it from every other tenant, a read-only ServiceAccount for the customer, and the
// payload as renderAgent renders a persistent agent, plus the plan's second volume, node pool and
// exposure. No Secret and no secret value is rendered: applyTenants (kube.ts) makes the Secret.
import type { ILimitRange } from 'kubernetes-models/v1/LimitRange';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ClawpodError } from '../errors.js';
import { CONTAINER_NAME, K8S_LABELS, MANAGED_BY } from '../kube/defaults.js';
import { EGRESS_PROXY, egressOf, toProxy } from '../kube/egress.js';
import { labelsFor, objectNames, selectorLabels } from '../kube/names.js';
import { DNS } from '../kube/network.js';
import { profileOf } from '../kube/payload.js';
import { portName } from '../kube/pod.js';
import { renderAgent } from '../kube/render.js';
import type { IDeployment, IIngress, INetworkPolicy, IPodSpec, IService, IServiceAccount, IStatefulSet, KubeObject, Route } from '../kube/types.js';
import type { KubeRoute } from '../lifecycle/kube-routes.js';
import type { Agent } from '../spec/schema.js';
import { formatBytes, parseCpu, validatedBytes } from '../spec/quantity.js';
import { tenantAgent, tenantNames, TENANT_LABELS } from './derive.js';
import type { Plan, Tenant } from './schema.js';

/** The model wiring of a tenant's payload, without its token (kept in the Secret's annotations). */
export interface LlmWiring { readonly url: string; readonly api: 'anthropic' | 'openai'; readonly model: string }

export interface TenantRenderOptions {
  /** Router namespace for ingress, a Route instead of an Ingress, OpenShift DNS, SCC-assigned uids. */
  readonly openshift?: boolean;
  /** clawpod's LLM gateway: the tenant may reach these Pods on this port; that namespace may reach the tenant. */
  readonly gateway?: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>>; readonly port: number };
  readonly ingressClass?: string;
  /** Namespace of the ingress controller (default ingress-nginx); ignored on OpenShift (the router's policy group). */
  readonly ingressNamespace?: string;
  /** cert-manager ClusterIssuer of the tenant's certificate (default letsencrypt). */
  readonly clusterIssuer?: string;
  readonly llm?: LlmWiring;
  /** Namespace of clawpod's activator (deploy/activator/): a tenant with idle tiers admits it to its payload's ports. */
  readonly activatorNamespace?: string;
}

export type TenantRoute = Route & { spec: Route['spec'] & { host: string } };
export type TenantObject = KubeObject | INamespace | IResourceQuota | ILimitRange | IRole | IRoleBinding | TenantRoute;

export const TENANT_DEFAULTS = Object.freeze({ ingressNamespace: 'ingress-nginx', clusterIssuer: 'letsencrypt' });
/** Private and link-local ranges (169.254.169.254 is the cloud metadata service): HTTPS egress never reaches them. */
export const PRIVATE_RANGES = Object.freeze(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']);
const OPENSHIFT_INGRESS = { 'policy-group.network.openshift.io/ingress': '' };
const NS_NAME = 'kubernetes.io/metadata.name';

/** The labels every object of a tenant carries (what status, delete and the policies go by). */
export function tenantLabels(tenant: Tenant): Record<string, string> {
  return { [TENANT_LABELS.kubeTenant]: tenant.metadata.name, [TENANT_LABELS.kubePlan]: tenant.spec.plan, [K8S_LABELS.managedBy]: MANAGED_BY };
}

/** tenantAgent with the cluster's model wiring (spec.llm url/api/model), so the payload's config names it. */
export function tenantKubeAgent(tenant: Tenant, plan: Plan, llm?: LlmWiring): Agent {
  const agent = tenantAgent(tenant, plan);
  if (!llm || agent.spec.llm === false) return agent;
  return { ...agent, spec: { ...agent.spec, llm: { ...(agent.spec.llm ?? {}), url: llm.url, api: llm.api, model: llm.model } } };
}

type Res = { cpu: number; memory: number };
const cpuOf = (q: unknown) => { const r = parseCpu(String(q ?? '0m')); return r.ok ? r.value : 0; };
const memOf = (q: unknown) => (q === undefined ? 0 : validatedBytes(String(q)));
const milli = (cores: number) => `${Math.round(cores * 1000)}m`;

/** What one Pod counts against a quota: the containers' sum, or the largest init container when that is more. */
export function podRequests(spec: IPodSpec): Res {
  const of = (c: { resources?: { limits?: Record<string, unknown> } }) => ({ cpu: cpuOf(c.resources?.limits?.cpu), memory: memOf(c.resources?.limits?.memory) });
  const sum = spec.containers.map(of).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  return (spec.initContainers ?? []).map(of).reduce((a, b) => ({ cpu: Math.max(a.cpu, b.cpu), memory: Math.max(a.memory, b.memory) }), sum);
}

/** `extra`: Pods beside the instances (the namespace's egress proxy), counted once. */
function quota(plan: Plan, pod: Res, meta: Meta, extra: Res & { pods: number } = { cpu: 0, memory: 0, pods: 0 }): IResourceQuota {
  const q = plan.spec.quota;
  const n = q.instances;
  const cpu = q.cpu !== undefined ? String(q.cpu) : milli(pod.cpu * n + extra.cpu);
  const memory = q.memory !== undefined ? String(q.memory) : formatBytes(pod.memory * n + extra.memory);
  const storage = q.storage !== undefined ? String(q.storage) : formatBytes((memOf(plan.spec.volumes.state) + memOf(plan.spec.volumes.appData)) * n);
  return {
    apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('tenant-quota'),
    spec: { hard: { 'requests.cpu': cpu, 'limits.cpu': cpu, 'requests.memory': memory, 'limits.memory': memory, 'requests.storage': storage, pods: String(q.pods ?? n + extra.pods), persistentvolumeclaims: String(2 * n) } },
  };
}

type Peer = NonNullable<NonNullable<NonNullable<INetworkPolicy['spec']>['ingress']>[number]['from']>[number];
type Meta = (name: string) => { name: string; namespace: string; labels: Record<string, string> };

/**
 * Default-deny both ways, then what a tenant needs: DNS, the gateway, HTTPS to public addresses;
 * ingress to the payload's ports only from the ingress controller (or router) and the gateway's
 * namespace. Policies add up, so none may allow more than this (renderAgent's own is dropped).
 */
function policies(agent: Agent, ports: number[], opts: TenantRenderOptions, meta: Meta): INetworkPolicy[] {
  const np = (name: string, spec: INetworkPolicy['spec']): INetworkPolicy => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(name), spec });
  const all = { podSelector: {} };
  const dns = opts.openshift ? DNS.openshift : DNS.kubernetes;
  const gw = opts.gateway;
  const from: Peer[] = [
    opts.openshift ? { namespaceSelector: { matchLabels: { ...OPENSHIFT_INGRESS } } } : { namespaceSelector: { matchLabels: { [NS_NAME]: opts.ingressNamespace ?? TENANT_DEFAULTS.ingressNamespace } } },
    ...(gw ? [{ namespaceSelector: { matchLabels: { [NS_NAME]: gw.namespace } } }] : []),
    // it forwards the requests that wake the tenant, and after
    ...(opts.activatorNamespace && tenantIdle(agent) ? [{ namespaceSelector: { matchLabels: { [NS_NAME]: opts.activatorNamespace } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'clawpod-activator' } } }] : []),
  ];
  return [
    np('default-deny', { ...all, policyTypes: ['Ingress', 'Egress'] }),
    np('allow-dns', { ...all, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { [NS_NAME]: dns.namespace } }, podSelector: { matchLabels: { ...dns.pods } } }], ports: [{ protocol: 'UDP', port: dns.port }, { protocol: 'TCP', port: dns.port }] }] }),
    ...(gw ? [np('allow-gateway', { ...all, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { [NS_NAME]: gw.namespace } }, podSelector: { matchLabels: { ...gw.podLabels } } }], ports: [{ protocol: 'TCP', port: gw.port }] }] })] : []),
    // spec.egress: out only through the namespace's proxy (its own policy lets it go out), no direct HTTPS
    egressOf(agent)
      ? np('allow-egress-proxy', { ...all, policyTypes: ['Egress'], egress: [toProxy()] })
      : np('allow-https', { ...all, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...PRIVATE_RANGES] } }], ports: [{ protocol: 'TCP', port: 443 }] }] }),
    np('allow-ingress', { podSelector: { matchLabels: selectorLabels(agent) }, policyTypes: ['Ingress'], ingress: [{ from, ports: ports.map((port) => ({ protocol: 'TCP', port })) }] }),
  ];
}

/** A read-only identity for the customer: its own namespace's Pods, logs, events and workload; never Secrets. */
function viewer(name: string, meta: Meta): [IServiceAccount, IRole, IRoleBinding] {
  const verbs = ['get', 'list', 'watch'];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name), automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(name),
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'events', 'configmaps', 'persistentvolumeclaims'], verbs },
        { apiGroups: ['apps'], resources: ['statefulsets'], verbs },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs },
      ],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(name), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: meta(name).namespace }] },
  ];
}

/** The StatefulSet with the app-data claim and its mount, the node pool, and the tenant's labels on Pods and claims. */
function tenantStatefulSet(sts: IStatefulSet, agent: Agent, plan: Plan, tenant: Tenant): IStatefulSet {
  const spec = sts.spec!;
  const pod = spec.template.spec!;
  const claim = tenantNames(tenant.metadata.name).appDataClaim;
  const pool = plan.spec.nodePool;
  const labels = tenantLabels(tenant);
  // claim templates cannot change after creation: only the tenant label, never the plan's
  const claimLabels = { [TENANT_LABELS.kubeTenant]: tenant.metadata.name };
  const taken = pod.containers.find((c) => c.name === CONTAINER_NAME)?.volumeMounts?.find((m) => m.mountPath === plan.spec.volumes.appDataPath);
  if (taken) {
    throw new ClawpodError('SPEC_INVALID', `plan ${plan.metadata.name}: spec.volumes.appDataPath ${plan.spec.volumes.appDataPath} is where tenant ${tenant.metadata.name}'s payload already mounts its ${taken.name} volume`, {
      hint: `pick another path for the app data, e.g. ${plan.spec.volumes.appDataPath.replace(/\/+$/, '')}/app-data or /data`,
    });
  }
  const templates = spec.volumeClaimTemplates ?? [];
  const appData: NonNullable<typeof spec.volumeClaimTemplates>[number] = {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim, labels: { ...labelsFor(agent, 'data'), ...claimLabels } },
    spec: { accessModes: ['ReadWriteOnce'], ...(plan.spec.storageClass ? { storageClassName: plan.spec.storageClass } : {}), resources: { requests: { storage: String(plan.spec.volumes.appData) } } },
  };
  return {
    ...sts,
    spec: {
      ...spec,
      template: {
        metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...labels } },
        spec: {
          ...pod,
          containers: pod.containers.map((c) => (c.name === CONTAINER_NAME ? { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name: claim, mountPath: plan.spec.volumes.appDataPath }] } : c)),
          ...(pool && Object.keys(pool.nodeSelector).length ? { nodeSelector: { ...pool.nodeSelector } } : {}),
          ...(pool?.tolerations.length ? { tolerations: pool.tolerations.map((t) => ({ ...t })) } : {}),
        },
      },
      volumeClaimTemplates: [...templates.map((t) => ({ ...t, metadata: { ...t.metadata, labels: { ...t.metadata?.labels, ...claimLabels } } })), appData],
    },
  };
}

/** Ingress with a cert-manager certificate (or a Route with edge TLS on OpenShift) for NAME.DOMAIN. */
function exposure(agent: Agent, tenant: Tenant, port: string, opts: TenantRenderOptions, meta: Meta): (IIngress | TenantRoute | IService)[] {
  if (!tenant.spec.domain) return [];
  const host = `${tenant.metadata.name}.${tenant.spec.domain}`;
  const m = meta(objectNames(agent).workload);
  const service = objectNames(agent).service;
  // idle tiers: the host goes to clawpod's activator (it wakes a tenant at 0 replicas; the tenant's own
  // Service has no endpoint then), through a Service of the tenant's namespace naming the activator's
  if (!opts.openshift && opts.activatorNamespace && tenantIdle(agent)) {
    const via: IService = {
      apiVersion: 'v1', kind: 'Service', metadata: meta(`${objectNames(agent).workload}-activator`),
      spec: { type: 'ExternalName', externalName: `clawpod-activator.${opts.activatorNamespace}.svc.cluster.local`, ports: [{ name: 'http', port: 80 }] },
    };
    return [via, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
      metadata: { ...m, annotations: { 'cert-manager.io/cluster-issuer': opts.clusterIssuer ?? TENANT_DEFAULTS.clusterIssuer } },
      spec: {
        ...(opts.ingressClass ? { ingressClassName: opts.ingressClass } : {}),
        tls: [{ hosts: [host], secretName: `${objectNames(agent).workload}-tls` }],
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: via.metadata!.name!, port: { number: 80 } } } }] } }],
      },
    }];
  }
  if (opts.openshift) {
    return [{ apiVersion: 'route.openshift.io/v1', kind: 'Route', metadata: m, spec: { host, to: { kind: 'Service', name: service, weight: 100 }, port: { targetPort: port }, tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' } } }];
  }
  return [{
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
    metadata: { ...m, annotations: { 'cert-manager.io/cluster-issuer': opts.clusterIssuer ?? TENANT_DEFAULTS.clusterIssuer } },
    spec: {
      ...(opts.ingressClass ? { ingressClassName: opts.ingressClass } : {}),
      tls: [{ hosts: [host], secretName: `${objectNames(agent).workload}-tls` }],
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { name: port } } } }] } }],
    },
  }];
}

const tenantIdle = (agent: Agent) => (agent.spec.lifecycle?.idle ?? []).length > 0;

/**
 * The tenant's row in the activator's routes ConfigMap (src/lifecycle/kube-routes.ts), when its
 * lifecycle (the plan's, the tenant's over it) has idle tiers: its host (NAME.DOMAIN, else NAME),
 * its StatefulSet and the port its payload serves on.
 */
export function tenantRoute(tenant: Tenant, plan: Plan): KubeRoute | undefined {
  const agent = tenantAgent(tenant, plan);
  if (!tenantIdle(agent)) return undefined;
  const ports = agent.spec.ports.filter((p) => p.protocol === 'tcp');
  const main = ports.find((p) => p.containerPort === profileOf(agent)?.probes?.port) ?? ports[0];
  if (!main) return undefined;
  const n = tenantNames(tenant.metadata.name);
  return {
    host: tenant.spec.domain ? `${tenant.metadata.name}.${tenant.spec.domain}` : tenant.metadata.name,
    namespace: n.namespace, statefulset: objectNames(agent).workload, port: main.containerPort,
    idle: agent.spec.lifecycle!.idle!.map((t) => ({ after: String(t.after), action: t.action })),
  };
}

/** Where a tenant's ttl (the plan's, the tenant's over it) goes: `clawpod gc --kube` destroys it that long after the namespace was created. */
export const TTL_ANNOTATION = 'clawpod.dev/ttl';

/** The tenant's namespace: its labels are what status finds it by and what delete checks before it deletes. */
export function tenantNamespace(tenant: Tenant, plan?: Plan): INamespace {
  const ttl = plan ? tenantAgent(tenant, plan).spec.lifecycle.ttl : undefined;
  return {
    apiVersion: 'v1', kind: 'Namespace',
    // the restricted Pod Security Standard, enforced by the API server: what every agent Pod meets already
    metadata: {
      name: tenantNames(tenant.metadata.name).namespace, labels: { ...tenantLabels(tenant), 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' },
      // a duration, not a time: applying again does not move the expiry (it counts from creationTimestamp)
      ...(ttl !== undefined ? { annotations: { [TTL_ANNOTATION]: String(ttl) } } : {}),
    },
  };
}

/** Every object of one tenant, in apply order: namespace, its limits and policies, identities, then the payload. */
export function renderTenant(tenant: Tenant, plan: Plan, opts: TenantRenderOptions = {}): TenantObject[] {
  const agent = tenantKubeAgent(tenant, plan, opts.llm);
  const namespace = tenantNames(tenant.metadata.name).namespace;
  const labels = tenantLabels(tenant);
  const meta: Meta = (name) => ({ name, namespace, labels: { ...labels } });
  const rendered = renderAgent(agent, { mode: 'persistent', namespace, ...(plan.spec.storageClass ? { storageClass: plan.spec.storageClass } : {}), openshift: opts.openshift ?? false });
  const withLabels = <T extends KubeObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata?.labels, ...labels } } });
  const payload = rendered.objects
    // renderAgent's own policy goes (policies() replaces it); the egress proxy's stays
    .filter((o) => (o.kind !== 'NetworkPolicy' || o.metadata?.name === EGRESS_PROXY.name) && o.kind !== 'Ingress' && o.kind !== 'Route')
    .map((o) => withLabels(o.kind === 'StatefulSet' ? tenantStatefulSet(o, agent, plan, tenant) : o));
  const sts = payload.find((o): o is IStatefulSet => o.kind === 'StatefulSet')!;
  const proxyPod = payload.find((o): o is IDeployment => o.kind === 'Deployment' && o.metadata?.name === EGRESS_PROXY.name)?.spec?.template.spec;
  const ports = agent.spec.ports.filter((p) => p.protocol === 'tcp');
  const main = ports.find((p) => p.containerPort === profileOf(agent)?.probes?.port) ?? ports[0];
  const s = agent.spec.resources;
  const limits: ILimitRange = { apiVersion: 'v1', kind: 'LimitRange', metadata: meta('tenant-limits'), spec: { limits: [{ type: 'Container', default: { cpu: String(s.cpu), memory: String(s.memory) }, defaultRequest: { cpu: String(s.cpu), memory: String(s.memory) } }] } };
  return [
    tenantNamespace(tenant, plan),
    quota(plan, podRequests(sts.spec!.template.spec!), meta, proxyPod ? { ...podRequests(proxyPod), pods: 1 } : undefined),
    limits,
    ...policies(agent, ports.map((p) => p.containerPort), opts, meta),
    ...viewer(`${namespace}-viewer`, meta),
    ...payload,
    ...(main ? exposure(agent, tenant, portName(main), opts, meta) : []),
  ];
}
