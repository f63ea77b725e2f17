// How an agent is reached and what it may reach: its Service, NetworkPolicy and, for ports
// published beyond this machine, an Ingress (Kubernetes) or Route (OpenShift).
import type { Agent, PortSpec } from '../spec/schema.js';
import { K8S_LABELS } from './defaults.js';
import { egressOf, toProxy } from './egress.js';
import { labelsFor, objectNames, selectorLabels } from './names.js';
import { profileOf } from './payload.js';
import { portName, protocolOf } from './pod.js';
import type { IIngress, INetworkPolicy, IService, RenderMode, RenderOptions, Route } from './types.js';

type Meta = (name: string, component: Parameters<typeof labelsFor>[1]) => { name: string; namespace?: string; labels: Record<string, string> };

/** hostIP 127.0.0.1 (the default) or ::1 means "this machine only": such a port stays inside the cluster. */
export function isPublished(p: PortSpec): boolean {
  return p.protocol === 'tcp' && !isLoopback(p.hostIP);
}

export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1';
}

/**
 * Persistent agents: a headless Service (the StatefulSet's serviceName, stable DNS NAME-0.NAME).
 * Session agents: a ClusterIP Service, only when the spec has ports.
 */
export function service(agent: Agent, mode: RenderMode, meta: Meta): IService | undefined {
  const ports = agent.spec.ports;
  if (mode === 'session' && ports.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(objectNames(agent).service, 'service'),
    spec: {
      ...(mode === 'persistent' ? { clusterIP: 'None' } : {}),
      selector: selectorLabels(agent),
      ...(ports.length > 0 ? { ports: ports.map((p) => ({ name: portName(p), port: p.containerPort, targetPort: portName(p), protocol: protocolOf(p) })) } : {}),
    },
  };
}

export const DNS = {
  kubernetes: { namespace: 'kube-system', pods: { 'k8s-app': 'kube-dns' }, port: 53 },
  // OpenShift's resolver Pods listen on 5353 behind the 53 of the dns-default Service
  openshift: { namespace: 'openshift-dns', pods: { 'dns.operator.openshift.io/daemonset-dns': 'default' }, port: 5353 },
} as const;

/** The in-cluster control plane's Pods (deploy/deployment.yaml) and its LLM gateway port (deploy/controlplane.yaml). */
export const GATEWAY = { pods: { [K8S_LABELS.name]: 'clawpod', [K8S_LABELS.component]: 'control-plane' }, port: 7879 } as const;

type Egress = NonNullable<NonNullable<INetworkPolicy['spec']>['egress']>;

/**
 * Ingress: only the spec's ports (from anywhere in or out of the cluster), nothing without ports.
 * Egress: network bridge → everything (a profile that needs the internet only over HTTPS, as
 * OpenClaw: DNS, the gateway and TCP 443). network none → nothing at all, not even DNS: a resolver
 * that recurses to the internet carries data out in the names it is asked for. With
 * `gatewayNamespace` a none agent may reach the gateway port of the control plane's Pods there,
 * and DNS, because the gateway is addressed by its Service name (http://clawpod.NS.svc:7879).
 * spec.egress → only the namespace's egress proxy (src/kube/egress.ts), DNS (the proxy too is
 * addressed by its Service name) and the gateway: whatever else it reaches, it reaches through the proxy.
 * A Pod always has a network in Kubernetes: this policy is what makes "none" mean something
 * there, and only where the cluster's network plugin enforces policies.
 */
export function networkPolicy(agent: Agent, opts: RenderOptions, meta: Meta): INetworkPolicy {
  const dns = opts.openshift ? DNS.openshift : DNS.kubernetes;
  const ports = agent.spec.ports;
  const bridge = agent.spec.network === 'bridge';
  const httpsOnly = bridge && profileOf(agent)?.egress === 'https';
  const gateway: Egress = opts.gatewayNamespace
    ? [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opts.gatewayNamespace } }, podSelector: { matchLabels: { ...GATEWAY.pods } } }], ports: [{ protocol: 'TCP', port: GATEWAY.port }] }]
    : [];
  const proxied = egressOf(agent) !== undefined;
  const dnsRule: Egress = httpsOnly || gateway.length > 0 || proxied
    ? [{
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.namespace } }, podSelector: { matchLabels: { ...dns.pods } } }],
        ports: [{ protocol: 'UDP', port: dns.port }, { protocol: 'TCP', port: dns.port }],
      }]
    : [];
  const egress: Egress = proxied
    ? [...dnsRule, ...gateway, toProxy()]
    : bridge && !httpsOnly
    ? [{}]
    : [...dnsRule, ...gateway, ...(httpsOnly ? [{ ports: [{ protocol: 'TCP' as const, port: 443 }] }] : [])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(objectNames(agent).networkPolicy, 'network'),
    spec: {
      podSelector: { matchLabels: selectorLabels(agent) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: ports.length > 0 ? [{ ports: ports.map((p) => ({ protocol: protocolOf(p), port: p.containerPort })) }] : [],
      egress,
    },
  };
}

/** One Ingress per published port: HTTP on "/", no host (the controller's default), no TLS (no certificate to name). */
export function ingresses(agent: Agent, meta: Meta): IIngress[] {
  const names = objectNames(agent);
  return agent.spec.ports.filter(isPublished).map((p) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(names.exposure(p.containerPort), 'ingress'),
    spec: {
      rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: names.service, port: { name: portName(p) } } } }] } }],
    },
  }));
}

/** One Route per published port, TLS terminated at the router (its default certificate), HTTP redirected. */
export function routes(agent: Agent, meta: Meta): Route[] {
  const names = objectNames(agent);
  return agent.spec.ports.filter(isPublished).map((p) => ({
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: meta(names.exposure(p.containerPort), 'ingress'),
    spec: {
      to: { kind: 'Service', name: names.service, weight: 100 },
      port: { targetPort: portName(p) },
      tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' },
    },
  }));
}
