// Stable, DNS-safe names of the objects an agent renders to, and their labels. The same spec
// always gives the same names, so re-applying an export updates objects instead of adding new ones.
import { createHash } from 'node:crypto';
import type { Agent } from '../spec/schema.js';
import { APP_NAME, K8S_LABELS, MANAGED_BY } from './defaults.js';

/**
 * `parts` joined by "-", lowercased, with anything outside [a-z0-9-] turned into "-"; longer than
 * `max` → cut and suffixed with 8 hex of a hash of the full name, so two long names stay apart.
 */
export function dnsName(parts: readonly string[], max = 63): string {
  const full = parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

/** Object names of one agent. The agent name is a DNS label of ≤ 40 characters (schema.ts). */
export function objectNames(agent: Agent) {
  const n = agent.metadata.name;
  return {
    workload: n,
    service: n,
    serviceAccount: n,
    networkPolicy: n,
    /** Never rendered: it would hold values. `clawpod apply` (or the user) creates it. */
    secret: `${n}-secrets`,
    /** Session mode: the workspace PVC. Persistent mode: the claim template's PVC is workspace-NAME-0. */
    workspaceClaim: `${n}-workspace`,
    /** podman format: the ConfigMap holding the spec (see SPEC_CONFIGMAP_ANNOTATION). */
    specConfigMap: `${n}-spec`,
    /** Ingress or Route of one published port. */
    exposure: (port: number) => dnsName([n, String(port)]),
  };
}

/** A data mount's PVC (session mode) or claim template (persistent mode). */
export function mountClaimName(agent: Agent, containerPath: string): string {
  return dnsName([agent.metadata.name, 'data', containerPath], 52);
}

/** A data mount's volume name inside the Pod. */
export function mountVolumeName(containerPath: string): string {
  return dnsName(['data', containerPath], 63);
}

export type Component = 'agent' | 'workspace' | 'data' | 'service' | 'network' | 'identity' | 'ingress' | 'spec' | 'config';

/** What selects an agent's Pod; a subset of `labelsFor`, and stable (StatefulSet selectors are immutable). */
export function selectorLabels(agent: Agent): Record<string, string> {
  return { [K8S_LABELS.name]: APP_NAME, [K8S_LABELS.instance]: agent.metadata.name };
}

/** The spec's own labels (metadata.labels, then spec.labels), then the app.kubernetes.io ones. */
export function labelsFor(agent: Agent, component: Component): Record<string, string> {
  return {
    ...(agent.metadata.labels ?? {}),
    ...agent.spec.labels,
    ...selectorLabels(agent),
    [K8S_LABELS.managedBy]: MANAGED_BY,
    [K8S_LABELS.component]: component,
  };
}
