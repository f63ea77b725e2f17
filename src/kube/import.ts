// Kubernetes manifests (Pod, Deployment, StatefulSet, Job; multi-document YAML) → Agent specs.
// A workload carrying the clawpod.dev/spec annotation (every clawpod export does) gives back
// exactly the spec it was made from; any other is mapped field by field, and every field that
// has no place in an Agent spec is named in a warning. Pure: text in, specs and warnings out.
import { ClawpodError } from '../errors.js';
import { formatPath as formatSpecPath } from '../spec/parse.js';
import { capDetails, parseYamlDocuments } from '../spec/yaml-docs.js';
import { AgentSchema, type Agent, type AgentInput } from '../spec/schema.js';
import { API_VERSION, KIND_AGENT, RESERVED_LABEL_PREFIXES } from '../spec/defaults.js';
import { APP_NAME, K8S_LABELS, KUBE_DEFAULTS, MANAGED_BY, SPEC_ANNOTATION, SPEC_CONFIGMAP_ANNOTATION, SPEC_CONFIGMAP_KEY } from './defaults.js';
import { importPodSpec } from './import-pod.js';
import { dnsName } from './names.js';
import { EGRESS_PROXY } from './egress.js';
import { buildPod } from './pod.js';
import { formatPath, Tracked, type Path } from './tracked.js';

export interface Imported {
  readonly agents: Agent[];
  /** One line per thing not carried over or changed in meaning; never a secret value. */
  readonly warnings: string[];
}

const WORKLOADS: Record<string, { apiVersion: string; podPath: Path; templatePath?: Path }> = {
  Pod: { apiVersion: 'v1', podPath: ['spec'] },
  Deployment: { apiVersion: 'apps/v1', podPath: ['spec', 'template', 'spec'], templatePath: ['spec', 'template', 'metadata'] },
  StatefulSet: { apiVersion: 'apps/v1', podPath: ['spec', 'template', 'spec'], templatePath: ['spec', 'template', 'metadata'] },
  Job: { apiVersion: 'batch/v1', podPath: ['spec', 'template', 'spec'], templatePath: ['spec', 'template', 'metadata'] },
};

/** Objects an export adds around the workload; derived again on the next export. */
const COMPANIONS = new Set(['Service', 'ServiceAccount', 'PersistentVolumeClaim', 'NetworkPolicy', 'Ingress', 'Route']);

/** Written by the API server, not by whoever wrote the manifest. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'ownerReferences'];

type Doc = Record<string, unknown>;

function isDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function record(v: unknown): Record<string, string> {
  if (!isDoc(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function parseDocs(text: string, file: string): Doc[] {
  const { docs } = parseYamlDocuments(text, file);
  const unsafe = docs.flatMap((d) => d.problems);
  if (unsafe.length > 0) throw new ClawpodError('SPEC_INVALID', `${file}: ${unsafe.length} problem${unsafe.length > 1 ? 's' : ''} in the manifests`, { details: capDetails(unsafe), hint: 'fix each line shown' });
  return docs.map((d) => d.value).filter(isDoc);
}

/** "86400" seconds → "24h": the largest unit that divides it. */
function duration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Labels the renderer adds to every object: not the user's, so not imported. */
function isGenerated(k: string, v: string, labels: Record<string, string>, name: string): boolean {
  const ours = labels[K8S_LABELS.managedBy] === MANAGED_BY;
  return (k === K8S_LABELS.managedBy && v === MANAGED_BY)
    || (k === K8S_LABELS.name && v === APP_NAME)
    || (k === K8S_LABELS.instance && v === name && labels[K8S_LABELS.name] === APP_NAME)
    || (k === K8S_LABELS.component && ours)
    || (k === 'clawpod.dev/overlay' && ours);
}

/**
 * The clawpod spec in the annotation (kube, kustomize) or in the ConfigMap the annotation
 * names (podman), when there is one and it is valid.
 */
function annotated(t: Tracked, templatePath: Path | undefined, configMaps: ReadonlyMap<string, Record<string, string>>, warn: (p: Path, w: string) => void): Agent | undefined {
  const bases: Path[] = [['metadata'], ...(templatePath ? [templatePath] : [])];
  let at = bases.map((b) => [...b, 'annotations', SPEC_ANNOTATION]).find((p) => typeof t.peek(p) === 'string');
  let text = at ? (t.peek(at) as string) : undefined;
  if (!at) {
    at = bases.map((b) => [...b, 'annotations', SPEC_CONFIGMAP_ANNOTATION]).find((p) => typeof t.peek(p) === 'string');
    if (!at) return undefined;
    t.take(at);
    const cm = t.peek(at) as string;
    text = configMaps.get(cm)?.[SPEC_CONFIGMAP_KEY];
    if (text === undefined) { warn(at, `names ConfigMap ${cm}, which this file lacks (or which has no ${SPEC_CONFIGMAP_KEY}): the manifest's own fields are imported instead`); return undefined; }
  }
  let raw: unknown;
  try { raw = JSON.parse(text!); } catch { warn(at, 'is not JSON: the manifest\'s own fields are imported instead'); return undefined; }
  const r = AgentSchema.safeParse(raw);
  if (r.success) return r.data;
  warn(at, `is not a valid Agent spec (${r.error.issues.map((i) => `${formatSpecPath(i.path)}: ${i.message}`).join('; ')}): the manifest's own fields are imported instead`);
  return undefined;
}

/** Fields of the manifest that differ from what its annotation renders to: edits made after the export. */
function drift(t: Tracked, podPath: Path, agent: Agent): string[] {
  let expected;
  try { expected = buildPod(agent, { target: 'kubernetes', openshift: false }).spec; } catch { return []; }
  const want = expected.containers[0]!;
  const n = t.len([...podPath, 'containers']);
  let i = 0;
  for (let k = 0; k < n; k++) if (t.peek([...podPath, 'containers', k, 'name']) === want.name) i = k;
  const c = [...podPath, 'containers', i];
  const j = (v: unknown) => JSON.stringify(v ?? null);
  const ports = (v: unknown) => (Array.isArray(v) ? v : []).map((p: Doc) => `${String(p.containerPort)}/${String(p.protocol ?? 'TCP')}`).join(',');
  const limits = (v: unknown) => (isDoc(v) ? Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).sort().join(',') : '');
  const checks: [string, unknown, unknown, (v: unknown) => string][] = [
    ['image', t.peek([...c, 'image']), want.image, j],
    ['command', t.peek([...c, 'command']), want.command, j],
    ['args', t.peek([...c, 'args']), want.args, j],
    ['workingDir', t.peek([...c, 'workingDir']), want.workingDir, j],
    ['env', t.peek([...c, 'env']), want.env, j],
    ['ports', t.peek([...c, 'ports']), want.ports, ports],
    ['resources.limits', t.peek([...c, 'resources', 'limits']), want.resources?.limits, limits],
    ['runtimeClassName', t.peek([...podPath, 'runtimeClassName']), expected.runtimeClassName, j],
  ];
  return checks.filter(([, got, exp, f]) => f(got) !== f(exp)).map(([k]) => formatPath(k.startsWith('runtime') ? [...podPath, k] : [...c, k]));
}

interface DocContext {
  readonly claimSizes: ReadonlyMap<string, string>;
  readonly policies: readonly Doc[];
  readonly configMaps: ReadonlyMap<string, Record<string, string>>;
}

/** The manifest's own fields as an Agent spec (not validated yet); reads are marked on `t`. */
function mapWorkload(t: Tracked, kind: string, rawName: string, docs: DocContext, warn: (p: Path, w: string) => void, say: (w: string) => void): AgentInput {
  const shape = WORKLOADS[kind]!;
  const name = dnsName([rawName], 40);
  if (name !== rawName) warn(['metadata', 'name'], `"${rawName}" becomes "${name}" (a DNS label of at most 40 characters)`);
  const ns = str(t.take(['metadata', 'namespace']));
  if (ns) warn(['metadata', 'namespace'], `namespace ${ns} dropped: local agents have none`);

  // labels of the object and of its Pod template: the user's ones become the agent's labels
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const base of [['metadata'], ...(shape.templatePath ? [shape.templatePath] : [])] as Path[]) {
    const all = record(t.take([...base, 'labels']));
    for (const [k, v] of Object.entries(all)) {
      if (isGenerated(k, v, all, rawName)) continue;
      if (RESERVED_LABEL_PREFIXES.some((p) => k.startsWith(p))) { warn([...base, 'labels', k], 'dropped: the prefix is reserved for clawpod'); continue; }
      labels[k] = v;
    }
    for (const [k, v] of Object.entries(record(t.peek([...base, 'annotations'])))) {
      if (k === 'kubectl.kubernetes.io/last-applied-configuration') continue; // listed as dropped
      t.take([...base, 'annotations', k]);
      if (k === 'deployment.kubernetes.io/revision' || k === SPEC_ANNOTATION || k === SPEC_CONFIGMAP_ANNOTATION) continue;
      annotations[k] = v;
    }
  }

  const claimTemplates = new Map<string, Path>();
  for (let i = 0; i < t.len(['spec', 'volumeClaimTemplates']); i++) {
    const n = t.peek(['spec', 'volumeClaimTemplates', i, 'metadata', 'name']);
    if (typeof n === 'string') claimTemplates.set(n, ['spec', 'volumeClaimTemplates', i]);
  }
  const spec = importPodSpec(t, { podPath: shape.podPath, claimTemplates, claimSizes: docs.claimSizes, name: rawName, warn });

  // workload mechanics: what clawpod's own export writes is taken silently, anything else is listed
  t.take(['spec', 'selector']);
  const replicas = t.take(['spec', 'replicas']);
  if (replicas !== undefined && replicas !== 1) warn(['spec', 'replicas'], `${String(replicas)} replicas dropped: an agent is one instance (clawpod run -d again for another)`);
  if (kind === 'StatefulSet') {
    t.take(['spec', 'serviceName']);
    const keep = t.peek(['spec', 'persistentVolumeClaimRetentionPolicy']);
    if (keep === undefined || JSON.stringify(keep) === JSON.stringify({ whenDeleted: 'Retain', whenScaled: 'Retain' })) t.take(['spec', 'persistentVolumeClaimRetentionPolicy']);
  }
  // a Job's (or Pod's) deadline is the nearest thing to a local ttl: both end the agent
  const deadline = kind === 'Job' || kind === 'Pod' ? t.num(['spec', 'activeDeadlineSeconds']) : undefined;
  const lifecycle = deadline !== undefined ? { ttl: duration(deadline) } : undefined;
  // what clawpod writes, then what an API server fills in (kubectl get -o yaml)
  const defaults: Record<string, [string, unknown][]> = {
    Job: [['backoffLimit', 0], ['ttlSecondsAfterFinished', KUBE_DEFAULTS.ttlSecondsAfterFinished], ['completions', 1], ['parallelism', 1],
      ['completionMode', 'NonIndexed'], ['suspend', false], ['manualSelector', false], ['podReplacementPolicy', 'TerminatingOrFailed']],
    StatefulSet: [['podManagementPolicy', 'OrderedReady'], ['revisionHistoryLimit', 10], ['updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }]],
  };
  for (const [k, v] of defaults[kind] ?? []) {
    if (t.peek(['spec', k]) === undefined || JSON.stringify(t.peek(['spec', k])) === JSON.stringify(v)) t.take(['spec', k]);
  }

  // network: clawpod's NetworkPolicy says which; without one a Pod has a network, so bridge
  const podLabels = record(t.peek([...(shape.templatePath ?? ['metadata']), 'labels']));
  const policy = docs.policies.find((p) => {
    const sel = record((((p.spec as Doc | undefined)?.podSelector as Doc | undefined)?.matchLabels));
    return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  });
  const egress = (policy?.spec as Doc | undefined)?.egress;
  const hasPorts = (spec.ports?.length ?? 0) > 0;
  let network: 'none' | 'bridge' = policy && Array.isArray(egress) && !egress.some((r) => isDoc(r) && Object.keys(r).length === 0) ? 'none' : 'bridge';
  if (network === 'none' && hasPorts) {
    network = 'bridge';
    say(`NetworkPolicy/${str((policy!.metadata as Doc | undefined)?.name) ?? '?'} limits egress, but ports need network bridge locally: bridge is used`);
  }
  if (!policy && !hasPorts) say('network bridge (a Kubernetes Pod has a network); set spec.network: none to cut it');

  return {
    apiVersion: API_VERSION,
    kind: KIND_AGENT,
    metadata: { name, ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { ...spec, network, ...(lifecycle ? { lifecycle } : {}) },
  };
}

/**
 * One workload → one Agent. With a valid spec annotation that spec is the answer; the manifest is
 * still read field by field, so whatever was added to it after export (fields no Agent spec has,
 * or edits the annotation does not show) is named rather than lost without a word.
 */
function importWorkload(doc: Doc, docs: DocContext, warnings: string[]): Agent {
  const kind = doc.kind as string;
  const shape = WORKLOADS[kind]!;
  const t = new Tracked(doc);
  const rawName = str(t.take(['metadata', 'name'])) ?? kind.toLowerCase();
  const where = `${kind}/${rawName}`;
  const warn = (p: Path, what: string) => warnings.push(`${where}: ${formatPath(p)}: ${what}`);
  t.take(['apiVersion']); t.take(['kind']);
  for (const k of SERVER_METADATA) t.take(['metadata', k]);

  const fromAnnotation = annotated(t, shape.templatePath, docs.configMaps, warn);
  const mapping: string[] = [];
  const input = mapWorkload(t, kind, rawName, docs, (p, w) => mapping.push(`${where}: ${formatPath(p)}: ${w}`), (w) => mapping.push(`${where}: ${w}`));
  const unread = t.unread([['status']]);
  if (fromAnnotation) {
    const edited = drift(t, shape.podPath, fromAnnotation);
    if (edited.length > 0) warnings.push(`${where}: changed after export (${edited.join(', ')} differ from the ${SPEC_ANNOTATION} annotation): the annotation's spec is used; edit the spec, or delete the annotation to import the manifest's fields`);
    for (const p of unread) warnings.push(`${where}: ${p}: dropped (not in the spec annotation, and no Agent spec field for it)`);
    return fromAnnotation;
  }
  warnings.push(...mapping, ...unread.map((p) => `${where}: ${p}: dropped (no Agent spec field for it)`));
  const r = AgentSchema.safeParse(input);
  if (!r.success) {
    throw new ClawpodError('SPEC_INVALID', `${where}: the imported spec is not valid`, {
      details: r.error.issues.map((i) => `${formatSpecPath(i.path)}: ${i.message}`),
      hint: 'fix these fields in the manifest (or write the Agent spec by hand from the printed warnings)',
    });
  }
  return r.data;
}

/** Every workload of `text` as an Agent; other objects are used for context (claim sizes, network) or listed. */
export function importManifests(text: string, file = '<input>'): Imported {
  const docs = parseDocs(text, file);
  const warnings: string[] = [];
  const claimSizes = new Map<string, string>();
  const policies: Doc[] = [];
  const configMaps = new Map<string, Record<string, string>>();
  for (const d of docs) {
    if (d.kind === 'ConfigMap') configMaps.set(str((d.metadata as Doc | undefined)?.name) ?? '?', record(d.data));
    const name = str((d.metadata as Doc | undefined)?.name) ?? '?';
    const storage = (((d.spec as Doc | undefined)?.resources as Doc | undefined)?.requests as Doc | undefined)?.storage;
    if (d.kind === 'PersistentVolumeClaim' && (typeof storage === 'string' || typeof storage === 'number')) claimSizes.set(name, String(storage));
    if (d.kind === 'NetworkPolicy') policies.push(d);
  }
  const agents: Agent[] = [];
  for (const d of docs) {
    const kind = str(d.kind) ?? '(no kind)';
    const name = str((d.metadata as Doc | undefined)?.name) ?? '?';
    const shape = WORKLOADS[kind];
    const labels = record((d.metadata as Doc | undefined)?.labels);
    // the namespace's egress proxy (src/kube/egress.ts): no agent, derived again from spec.egress
    if (labels[K8S_LABELS.name] === EGRESS_PROXY.name && labels[K8S_LABELS.managedBy] === MANAGED_BY) continue;
    if (shape && d.apiVersion === shape.apiVersion) { agents.push(importWorkload(d, { claimSizes, policies, configMaps }, warnings)); continue; }
    if ((COMPANIONS.has(kind) || kind === 'ConfigMap') && labels[K8S_LABELS.managedBy] === MANAGED_BY) continue; // clawpod derives it again
    if (kind === 'Secret') warnings.push(`Secret/${name}: not imported: clawpod never reads secret values from manifests (spec.secrets refers to them)`);
    else if (COMPANIONS.has(kind)) warnings.push(`${kind}/${name}: not imported (${kind === 'PersistentVolumeClaim' ? 'its size is used for the workspace it backs' : kind === 'NetworkPolicy' ? 'it decides spec.network' : 'clawpod derives it from spec.ports'})`);
    else warnings.push(`${kind}/${name}: not imported: clawpod imports Pod, Deployment, StatefulSet and Job`);
  }
  if (agents.length === 0) {
    throw new ClawpodError('SPEC_INVALID', `${file} holds no Pod, Deployment, StatefulSet or Job to import`, {
      details: warnings,
      hint: 'give a file with a workload, e.g. the output of clawpod export or kubectl get deployment NAME -o yaml',
    });
  }
  return { agents, warnings };
}
