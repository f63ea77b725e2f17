// spec.egress on Kubernetes (docs/kubernetes.md, "Egress allowlist"): one egress proxy per
// namespace — a Deployment and Service `clawpod-egress` running the agent image's clawpod-egress
// (src/egress/) with its config in a ConfigMap and its CA and credential values in a Secret mounted
// as files (tmpfs) — and the agent's NetworkPolicy narrowed to that proxy. The proxy is the only
// Pod of the namespace that may go out. Pure: what to render, never a secret value.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { agentProxyEnv, EGRESS_DEFAULTS, egressCommand, egressConfig, egressFiles } from '../egress/config.js';
import type { EgressSpec } from '../spec/egress.js';
import type { Agent } from '../spec/schema.js';
import { CONTAINER_NAME, K8S_LABELS, MANAGED_BY } from './defaults.js';
import { containerSecurityContext, podSecurityContext } from './security.js';
import type { IConfigMap, IEnvVar, INetworkPolicy, IPodSpec, IService, IVolume, IVolumeMount } from './types.js';

export const EGRESS_PROXY = Object.freeze({
  /** The Deployment, Service, ConfigMap, Secret and NetworkPolicy of a namespace's proxy. */
  name: 'clawpod-egress',
  /** What selects the proxy's Pods (the agents' policy allows egress to these). */
  pods: { [K8S_LABELS.name]: 'clawpod-egress', [K8S_LABELS.component]: 'egress-proxy' },
  /** DNS inside the Pod: the proxy is not root and keeps no capability, so not 53; the Service maps 53 to it. */
  dnsTargetPort: 5353,
  /** Where the proxy reads config.json (the ConfigMap) and its secret files (the Secret, tmpfs). */
  configDir: EGRESS_DEFAULTS.dir,
  secretsDir: `${EGRESS_DEFAULTS.dir}-secrets`,
  /** Where an agent whose requests get credentials finds the CA it must trust. */
  agentCaDir: '/run/clawpod-egress-ca',
  /** The uid the proxy runs as (the agent image's own non-root user). */
  user: '1000:1000',
});

export interface EgressRenderOptions {
  /** The agent (or tenant) the proxy serves: its events carry the name. */
  readonly agent: string;
  /** The agent image: it carries /opt/clawpod/bin/clawpod-egress. */
  readonly image: string;
  readonly namespace?: string;
  readonly openshift?: boolean;
  /** Labels added to every object (a tenant's). */
  readonly labels?: Readonly<Record<string, string>>;
}

type Meta = { name: string; namespace?: string; labels: Record<string, string> };
type EgressRule = NonNullable<NonNullable<INetworkPolicy['spec']>['egress']>[number];

function meta(opts: EgressRenderOptions): Meta {
  return {
    name: EGRESS_PROXY.name,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    labels: { ...opts.labels, ...EGRESS_PROXY.pods, [K8S_LABELS.managedBy]: MANAGED_BY },
  };
}

/** spec.egress of an agent, when it has one (the agent then reaches out only through the proxy). */
export function egressOf(agent: Agent): EgressSpec | undefined {
  return agent.spec.egress;
}

/** The proxy's config.json as the ConfigMap holds it: secrets only named by their file paths. */
export function proxyConfig(egress: EgressSpec, agent: string) {
  return egressConfig(egress, {
    agent,
    dir: EGRESS_PROXY.configDir,
    secretsDir: EGRESS_PROXY.secretsDir,
    listen: { dnsPort: EGRESS_PROXY.dnsTargetPort },
  });
}

/**
 * Keys the Secret `clawpod-egress` must hold: every file the config names in the secrets folder
 * (the CA, each credential, whatever else the proxy's config asks for), none without credentials
 * (then it is not mounted). Read from the config itself, so the Secret and the config cannot disagree.
 */
export function proxySecretKeys(egress: EgressSpec): string[] {
  const keys = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.startsWith(`${EGRESS_PROXY.secretsDir}/`)) keys.add(v.slice(EGRESS_PROXY.secretsDir.length + 1));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(proxyConfig(egress, 'keys'));
  return [...keys].sort();
}

/** ConfigMap, Deployment, Service and the proxy's own NetworkPolicy; apply order. */
export function renderEgressProxy(egress: EgressSpec, opts: EgressRenderOptions): [IConfigMap, IDeployment, IService, INetworkPolicy] {
  const m = meta(opts);
  const config = proxyConfig(egress, opts.agent);
  const keys = proxySecretKeys(egress);
  const volumes: IVolume[] = [
    { name: 'config', configMap: { name: EGRESS_PROXY.name, defaultMode: 0o444 } },
    // Secret volumes are tmpfs: the CA key and the credentials never touch the node's disk
    ...(keys.length ? [{ name: 'secrets', secret: { secretName: EGRESS_PROXY.name, defaultMode: 0o440, items: keys.map((k) => ({ key: k, path: k })) } }] : []),
  ];
  const mounts: IVolumeMount[] = [
    { name: 'config', mountPath: EGRESS_PROXY.configDir, readOnly: true },
    ...(keys.length ? [{ name: 'secrets', mountPath: EGRESS_PROXY.secretsDir, readOnly: true }] : []),
  ];
  const { httpPort, metricsPort } = config.listen;
  const cm: IConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: m, data: { [egressFiles.config]: `${JSON.stringify(config, null, 2)}\n` } };
  const deployment: IDeployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: m,
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...EGRESS_PROXY.pods } },
      template: {
        // a changed list restarts the proxy: the config is read once, at start
        metadata: { labels: m.labels, annotations: { 'clawpod.dev/egress-config': configHash(cm.data![egressFiles.config]!) } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(EGRESS_PROXY.user, opts.openshift ?? false),
          volumes,
          containers: [{
            name: 'proxy',
            image: opts.image,
            imagePullPolicy: opts.image.startsWith('localhost/') ? 'IfNotPresent' : undefined,
            command: egressCommand(EGRESS_PROXY.configDir),
            ports: [
              { name: 'http', containerPort: httpPort, protocol: 'TCP' },
              { name: 'dns', containerPort: EGRESS_PROXY.dnsTargetPort, protocol: 'UDP' },
              ...(metricsPort ? [{ name: 'metrics', containerPort: metricsPort, protocol: 'TCP' as const }] : []),
            ],
            ...(metricsPort ? { readinessProbe: { httpGet: { path: '/healthz', port: metricsPort }, periodSeconds: 5 } } : {}),
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
            securityContext: containerSecurityContext(),
            volumeMounts: mounts,
          }],
        },
      },
    },
  };
  if (deployment.spec!.template.spec!.containers[0]!.imagePullPolicy === undefined) delete deployment.spec!.template.spec!.containers[0]!.imagePullPolicy;
  const service: IService = {
    apiVersion: 'v1', kind: 'Service', metadata: m,
    spec: {
      selector: { ...EGRESS_PROXY.pods },
      ports: [
        { name: 'http', port: httpPort, targetPort: 'http', protocol: 'TCP' },
        { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
      ],
    },
  };
  // the proxy answers the namespace's Pods and may go out anywhere: the allowlist is its own job
  const policy: INetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: m,
    spec: {
      podSelector: { matchLabels: { ...EGRESS_PROXY.pods } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: httpPort }, { protocol: 'UDP', port: EGRESS_PROXY.dnsTargetPort }] }],
      egress: [{}],
    },
  };
  return [cm, deployment, service, policy];
}

/** The agent's egress rule: the namespace's proxy, its HTTP port and its DNS. */
export function toProxy(): EgressRule {
  return {
    to: [{ podSelector: { matchLabels: { ...EGRESS_PROXY.pods } } }],
    ports: [{ protocol: 'TCP', port: EGRESS_DEFAULTS.httpPort }, { protocol: 'UDP', port: EGRESS_PROXY.dnsTargetPort }],
  };
}

/**
 * Hosts the agent reaches without the proxy (NO_PROXY): the LLM gateway, which its policy lets it
 * reach directly and which the proxy's allow list does not name — its spec.llm.url's host and, with
 * a gateway namespace, the gateway Service's names there.
 */
export function proxyBypass(agent: Agent, gatewayNamespace?: string): string[] {
  const hosts = new Set<string>();
  const url = agent.spec.llm ? agent.spec.llm.url : undefined;
  if (url) { try { hosts.add(new URL(url).hostname); } catch { /* the schema checked it; nothing to add */ } }
  if (gatewayNamespace) for (const h of [`clawpod.${gatewayNamespace}.svc`, `clawpod.${gatewayNamespace}.svc.cluster.local`]) hosts.add(h);
  return [...hosts];
}

/** The agent container's proxy environment (the Service's name) and, with credentials, the CA it must trust. */
export function agentEgressEnv(egress: EgressSpec, bypass: readonly string[] = []): IEnvVar[] {
  const noProxy = bypass.join(',');
  const env = Object.entries({ ...agentProxyEnv(EGRESS_PROXY.name), NO_PROXY: noProxy, no_proxy: noProxy }).map(([name, value]) => ({ name, value }));
  if (egress.credentials.length === 0) return env;
  return [...env, { name: 'NODE_EXTRA_CA_CERTS', value: `${EGRESS_PROXY.agentCaDir}/${egressFiles.caCert}` }];
}

/** With credentials: the CA certificate only (never its key) from the proxy's Secret, for the agent. */
export function agentCaVolume(egress: EgressSpec): { volume: IVolume; mount: IVolumeMount } | undefined {
  if (egress.credentials.length === 0) return undefined;
  return {
    volume: { name: 'egress-ca', secret: { secretName: EGRESS_PROXY.name, defaultMode: 0o444, items: [{ key: egressFiles.caCert, path: egressFiles.caCert }] } },
    mount: { name: 'egress-ca', mountPath: EGRESS_PROXY.agentCaDir, readOnly: true },
  };
}

/** What the user must create: the Secret's keys, one line, no values. */
export function egressNotes(egress: EgressSpec): string[] {
  const keys = proxySecretKeys(egress);
  if (keys.length === 0) return [`egress: the namespace's proxy Deployment ${EGRESS_PROXY.name} allows ${egress.allow.join(', ') || 'nothing'}; one proxy per namespace, its list is the last applied agent's`];
  const creds = egress.credentials.map((c, i) => `${egressFiles.credential(i)} (${c.header} for ${c.host})`).join(', ');
  return [
    `egress: Secret ${EGRESS_PROXY.name} must hold ${keys.join(', ')} before the proxy starts (ca.*: a CA of this agent's own, docs/egress.md; ${creds}): kubectl create secret generic ${EGRESS_PROXY.name} ${keys.map((k) => `--from-file=${k}=PATH`).join(' ')}`,
  ];
}

/** A short, stable fingerprint of the config (FNV-1a): not a secret, the config holds none. */
function configHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, '0');
}

/** The agent's Pod with the proxy environment on its agent container and, with credentials, the CA certificate mounted. */
export function withEgress(pod: IPodSpec, egress: EgressSpec, bypass: readonly string[] = []): IPodSpec {
  const ca = agentCaVolume(egress);
  const env = agentEgressEnv(egress, bypass);
  const names = new Set(env.map((e) => e.name));
  return {
    ...pod,
    containers: pod.containers.map((c) => (c.name !== CONTAINER_NAME ? c : {
      ...c,
      env: [...(c.env ?? []).filter((e) => !names.has(e.name)), ...env],
      ...(ca ? { volumeMounts: [...(c.volumeMounts ?? []), ca.mount] } : {}),
    })),
    ...(ca ? { volumes: [...(pod.volumes ?? []), ca.volume] } : {}),
  };
}
