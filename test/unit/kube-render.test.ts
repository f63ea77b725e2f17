// Kubernetes renderers, exports and import: fields of rendered objects, no secret values,
// spec → kube → spec round trips, a hand-written Deployment's dropped fields, and every
// generated object checked against the official Kubernetes OpenAPI schema: kubernetes-models'
// validators (generated from Kubernetes 1.33's schema; they let unknown fields through) and a
// strict check of the swagger.json of the pinned release the kube harness builds (k8s.io/kubernetes
// module), compiled with ajv with additionalProperties: false on every object, as kubeconform -strict does.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAgents } from '../../src/spec/parse.js';
import type { Agent } from '../../src/spec/schema.js';
import { exportAgents, type ExportOptions } from '../../src/kube/export.js';
import { importManifests } from '../../src/kube/import.js';
import { renderAgent } from '../../src/kube/render.js';
import { renderPodman } from '../../src/kube/podman.js';
import type { KubeObject } from '../../src/kube/types.js';
import { isClawpodError } from '../../src/errors.js';
import { modelsValidate, strictSchema, type StrictValidate } from '../helpers/kube-schema.js';

const ROOT = new URL('../../', import.meta.url).pathname;

const agent = (yaml: string): Agent => parseAgents(yaml, 'test.yaml')[0]!.agent;
const hello = () => agent(readFileSync(join(ROOT, 'examples/hello.yaml'), 'utf8'));
const CANARY = 'canary-7f3a9c-not-for-output';

const RICH = `apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata:
  name: rich
  labels: { team: qa }
  annotations: { note: kept }
spec:
  image: registry.example.com/team/agent:1.2
  command: [node]
  args: [/opt/app.mjs, --flag]
  workingDir: /srv
  user: "1234:5678"
  env: [{ name: A, value: "1" }, { name: B, value: two words }]
  secrets:
    - { name: API_TOKEN, source: env, secretRef: { name: MY_TOKEN } }
    - { name: DB_PASS, source: vault, secretRef: { name: db }, exposeAs: env }
    - { name: cfg.json, source: file, secretRef: { name: ./secret.json, key: token } }
  mounts: [{ hostPath: ./data, containerPath: /data, type: data, readOnly: true }]
  workspace: { enabled: true, mountPath: /home/agent/work, size: 5Gi }
  ports:
    - { containerPort: 8080, hostPort: 18080, hostIP: 0.0.0.0, name: http }
    - { containerPort: 9090, protocol: udp, hostIP: 0.0.0.0 }
  resources: { cpu: 2, memory: 1Gi, pids: 64 }
  network: bridge
  isolation: gvisor
  lifecycle: { idleTimeout: 10m, ttl: 2h }
  labels: { tier: backend }
`;
const rich = () => agent(RICH);
/** Without file secrets: what the podman format can carry. */
const richPodman = () => agent(RICH.replace(/^ {4}- \{ name: cfg\.json.*\n/m, '').replace(/^ {4}- \{ name: API_TOKEN.*\n/m, '    - { name: API_TOKEN, source: env, secretRef: { name: MY_TOKEN }, exposeAs: env }\n'));
const isolated = () => agent(`apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata: { name: quiet }
spec:
  secrets: [{ name: KEY, source: env, secretRef: { name: HOST_KEY }, exposeAs: env }]
  workspace: { enabled: false }
`);

const find = <K extends KubeObject['kind']>(objs: KubeObject[], kind: K, name?: string) =>
  objs.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as Extract<KubeObject, { kind: K }> | undefined;

// ---------------------------------------------------------------- schema validation
let strictValidate: StrictValidate;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OpenShift's Route is in neither schema: its required shape (route.openshift.io/v1), checked by hand. */
function routeValidate(o: Json): string[] {
  const spec = o.spec as Json;
  const errs: string[] = [];
  if (o.apiVersion !== 'route.openshift.io/v1') errs.push('apiVersion');
  if (!isObj(spec) || !isObj(spec.to) || spec.to.kind !== 'Service' || typeof spec.to.name !== 'string') errs.push('spec.to');
  const known = new Set(['host', 'subdomain', 'path', 'to', 'alternateBackends', 'port', 'tls', 'wildcardPolicy', 'httpHeaders']);
  for (const k of Object.keys(spec ?? {})) if (!known.has(k)) errs.push(`unknown spec.${k}`);
  if (!['edge', 'passthrough', 'reencrypt'].includes(String((spec.tls as Json | undefined)?.termination))) errs.push('spec.tls.termination');
  return errs;
}

function validateAll(objs: readonly KubeObject[]): void {
  for (const o of objs) {
    const where = `${o.kind}/${o.metadata?.name}`;
    if (o.kind === 'Route') { expect(routeValidate(o as unknown as Json), where).toEqual([]); continue; }
    expect(() => modelsValidate(o), where).not.toThrow();
    expect(strictValidate(o), where).toEqual([]);
  }
}

function exportedObjects(agents: Agent[], opts: ExportOptions): KubeObject[] {
  const r = exportAgents(agents, opts);
  const docs: KubeObject[] = [];
  for (const [path, text] of r.files) {
    if (path.endsWith('kustomization.yaml')) continue;
    for (const d of parseAllDocuments(text)) { const js = d.toJS() as KubeObject | null; if (js) docs.push(js); }
  }
  return docs;
}

// ---------------------------------------------------------------- rendering
describe('render: session agent (examples/hello.yaml)', () => {
  const { objects, notes } = renderAgent(hello(), { mode: 'session' });

  it('renders a ServiceAccount, a workspace PVC, a Service, a NetworkPolicy and a Job, nothing else', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'ServiceAccount/hello', 'PersistentVolumeClaim/hello-workspace', 'Service/hello', 'NetworkPolicy/hello', 'Job/hello',
    ]);
  });

  it('runs the Job once, with a deadline and a clean-up', () => {
    const job = find(objects, 'Job')!;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 86400, ttlSecondsAfterFinished: 3600 });
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
  });

  it('hardens the Pod: non-root 1000:1000, RuntimeDefault seccomp, no capabilities, read-only root, no token', () => {
    const pod = find(objects, 'Job')!.spec!.template.spec!;
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    expect(c.securityContext).toEqual({ runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('hello');
    expect(find(objects, 'ServiceAccount')!.automountServiceAccountToken).toBe(false);
    expect(pod.runtimeClassName).toBeUndefined();
  });

  it('maps image, env, ports, resources, /tmp and the workspace', () => {
    const pod = find(objects, 'Job')!.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe('localhost/clawpod-agent:latest');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.env).toEqual([{ name: 'WORKSPACE', value: '/workspace' }, { name: 'GREETING', value: 'hello from a hardened clawpod agent' }]);
    expect(c.ports).toEqual([{ name: 'tcp-8080', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '500m', memory: '256Mi' } });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }, { name: 'workspace', mountPath: '/workspace' }]);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'workspace', persistentVolumeClaim: { claimName: 'hello-workspace' } },
    ]);
    expect(find(objects, 'PersistentVolumeClaim')!.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
    expect(find(objects, 'Service')!.spec).toEqual({
      selector: { 'app.kubernetes.io/name': 'clawpod-agent', 'app.kubernetes.io/instance': 'hello' },
      ports: [{ name: 'tcp-8080', port: 8080, targetPort: 'tcp-8080', protocol: 'TCP' }],
    });
  });

  it('labels every object and stores the spec in an annotation', () => {
    for (const o of objects) {
      expect(o.metadata!.labels).toMatchObject({ 'app.kubernetes.io/name': 'clawpod-agent', 'app.kubernetes.io/instance': 'hello', 'app.kubernetes.io/managed-by': 'clawpod' });
      expect(o.metadata!.labels!['app.kubernetes.io/component']).toBeTruthy();
    }
    const job = find(objects, 'Job')!;
    expect(JSON.parse(job.metadata!.annotations!['clawpod.dev/spec']!)).toEqual(hello());
    expect(job.spec!.template.metadata!.annotations!['clawpod.dev/spec']).toBe(job.metadata!.annotations!['clawpod.dev/spec']);
  });

  it('allows ingress to the declared port only and all egress (network bridge); a loopback port gets no Ingress', () => {
    expect(find(objects, 'NetworkPolicy')!.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'clawpod-agent', 'app.kubernetes.io/instance': 'hello' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }],
      egress: [{}],
    });
    expect(find(objects, 'Ingress')).toBeUndefined();
  });

  it('names what does not carry over', () => {
    expect(notes.join('\n')).toMatch(/pids \(128\) has no Pod field/);
    expect(notes.join('\n')).toMatch(/hostPort is a local setting/);
  });

  it('is stable: the same spec renders the same objects', () => {
    expect(renderAgent(hello(), { mode: 'session' })).toEqual({ objects, notes, warnings: [] });
  });
});

describe('render: persistent agent', () => {
  const { objects } = renderAgent(hello(), { mode: 'persistent', namespace: 'agents' });

  it('is a one-replica StatefulSet with a headless Service and a workspace claim template kept on delete', () => {
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Service', 'NetworkPolicy', 'StatefulSet']);
    const sts = find(objects, 'StatefulSet')!;
    expect(sts.spec).toMatchObject({ replicas: 1, serviceName: 'hello', selector: { matchLabels: { 'app.kubernetes.io/instance': 'hello' } }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' } });
    expect(sts.spec!.template.spec!.restartPolicy).toBe('Always');
    expect(sts.spec!.volumeClaimTemplates).toHaveLength(1);
    expect(sts.spec!.volumeClaimTemplates![0]).toMatchObject({ metadata: { name: 'workspace' }, spec: { resources: { requests: { storage: '1Gi' } } } });
    // the claim template stands in for the volume: no persistentVolumeClaim volume in the Pod
    expect(sts.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['tmp']);
    expect(find(objects, 'Service')!.spec!.clusterIP).toBe('None');
    for (const o of objects) expect(o.metadata!.namespace).toBe('agents');
  });
});

describe('render: gvisor, secrets, published ports, data mount', () => {
  const a = rich();
  const { objects, notes } = renderAgent(a, { mode: 'session' });
  const pod = find(objects, 'Job')!.spec!.template.spec!;
  const c = pod.containers[0]!;

  it('runs under the gvisor RuntimeClass as the spec user', () => {
    expect(pod.runtimeClassName).toBe('gvisor');
    // 1990: gVisor cannot exec the image's node without reading it (src/runtime/isolation.ts NODE_READ_GID)
    expect(pod.securityContext).toMatchObject({ runAsUser: 1234, runAsGroup: 5678, fsGroup: 5678, supplementalGroups: [1990] });
    expect(c.command).toEqual(['node']);
    expect(c.args).toEqual(['/opt/app.mjs', '--flag']);
    expect(c.workingDir).toBe('/srv');
    expect(c.resources!.limits).toEqual({ cpu: '2', memory: '1Gi' });
    expect(find(objects, 'Job')!.spec!.activeDeadlineSeconds).toBe(7200);
  });

  it('refers to the Secret rich-secrets by key: env for exposeAs env, a read-only volume at /run/secrets for files', () => {
    expect(c.env).toContainEqual({ name: 'DB_PASS', valueFrom: { secretKeyRef: { name: 'rich-secrets', key: 'DB_PASS' } } });
    expect(pod.volumes).toContainEqual({ name: 'secrets', secret: { secretName: 'rich-secrets', defaultMode: 0o440, items: [{ key: 'API_TOKEN', path: 'API_TOKEN' }, { key: 'cfg.json', path: 'cfg.json' }] } });
    expect(c.volumeMounts).toContainEqual({ name: 'secrets', mountPath: '/run/secrets', readOnly: true });
    expect(objects.some((o) => (o.kind as string) === 'Secret')).toBe(false);
    expect(notes.join('\n')).toContain('Secret rich-secrets must hold the keys API_TOKEN, DB_PASS, cfg.json');
  });

  it('renders exposeAs podman (a file at /run/secrets locally) as a secret file too', () => {
    const a2 = agent('apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: pm}\nspec:\n  secrets: [{name: TOKEN, source: vault, secretRef: {name: t}, exposeAs: podman}]\n');
    const p2 = find(renderAgent(a2, { mode: 'session' }).objects, 'Job')!.spec!.template.spec!;
    expect(p2.volumes).toContainEqual({ name: 'secrets', secret: { secretName: 'pm-secrets', defaultMode: 0o440, items: [{ key: 'TOKEN', path: 'TOKEN' }] } });
    expect(() => renderPodman(a2, { mode: 'session' })).toThrow(/TOKEN \(exposeAs: podman\)|secrets exposed as files/);
  });

  it('mounts the data mount from a PVC, read-only as written', () => {
    expect(find(objects, 'PersistentVolumeClaim', 'rich-data-data')).toBeDefined();
    expect(c.volumeMounts).toContainEqual({ name: 'data-data', mountPath: '/data', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'data-data', persistentVolumeClaim: { claimName: 'rich-data-data' } });
    expect(notes.join('\n')).toMatch(/mount \.\/data → \/data becomes the empty PVC rich-data-data/);
  });

  it('publishes the 0.0.0.0 TCP port through an Ingress; the UDP one is named in a note', () => {
    const ing = objects.filter((o) => o.kind === 'Ingress');
    expect(ing.map((o) => o.metadata!.name)).toEqual(['rich-8080']);
    expect(find(objects, 'Ingress')!.spec!.rules![0]!.http!.paths[0]!.backend.service).toEqual({ name: 'rich', port: { name: 'http' } });
    expect(find(objects, 'Service')!.spec!.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      { name: 'udp-9090', port: 9090, targetPort: 'udp-9090', protocol: 'UDP' },
    ]);
    expect(notes.join('\n')).toMatch(/UDP port 9090/);
  });

  it('labels with the spec labels too', () => {
    expect(find(objects, 'Job')!.metadata!.labels).toMatchObject({ team: 'qa', tier: 'backend' });
    expect(find(objects, 'Job')!.metadata!.annotations!.note).toBe('kept');
  });

  it('an agent without network may reach nothing; with the gateway namespace given, its gateway port and DNS (its Service name)', () => {
    const np = find(renderAgent(isolated(), { mode: 'session', gatewayNamespace: 'clawpod' }).objects, 'NetworkPolicy')!;
    expect(np.spec!.ingress).toEqual([]);
    expect(np.spec!.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'clawpod' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'clawpod', 'app.kubernetes.io/component': 'control-plane' } } }], ports: [{ protocol: 'TCP', port: 7879 }] },
    ]);
    expect(find(renderAgent(isolated(), { mode: 'session' }).objects, 'NetworkPolicy')!.spec!.egress).toEqual([]);
  });

  it('refuses tools/skills/mcp mounts, naming each', () => {
    const a2 = agent(RICH.replace('mounts: [{ hostPath: ./data, containerPath: /data, type: data, readOnly: true }]',
      'mounts: [{ hostPath: ./tools, containerPath: /opt/tools, type: tools }, { hostPath: ./data, containerPath: /data }, { hostPath: ./sk, containerPath: /opt/skills, type: skills }]'));
    let err: unknown;
    try { renderAgent(a2, { mode: 'session' }); } catch (e) { err = e; }
    expect(isClawpodError(err) && err.code).toBe('MOUNT_INVALID');
    const e = err as { message: string; details: string[]; hint: string };
    expect(e.details).toEqual(['spec.mounts[0]: tools mount ./tools → /opt/tools', 'spec.mounts[2]: skills mount ./sk → /opt/skills']);
    expect(e.hint).toContain('clawpod image build --from');
  });
});

describe('render: OpenShift', () => {
  const { objects } = renderAgent(rich(), { mode: 'persistent', openshift: true });

  it('leaves runAsUser, runAsGroup and fsGroup to the SCC and keeps the rest of the hardening', () => {
    const pod = find(objects, 'StatefulSet')!.spec!.template.spec!;
    // supplementalGroups: the gVisor tier's group that may read node (src/runtime/isolation.ts); the restricted SCC allows any
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, supplementalGroups: [1990] });
    expect(pod.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
  });

  it('exposes the published port with an edge-terminated Route, not an Ingress', () => {
    expect(find(objects, 'Ingress')).toBeUndefined();
    expect(find(objects, 'Route')).toEqual({
      apiVersion: 'route.openshift.io/v1', kind: 'Route',
      metadata: expect.objectContaining({ name: 'rich-8080' }),
      spec: { to: { kind: 'Service', name: 'rich', weight: 100 }, port: { targetPort: 'http' }, tls: { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' } },
    });
  });

  it("allows OpenShift's DNS (5353 in openshift-dns) for an agent without network that reaches the gateway", () => {
    const np = find(renderAgent(isolated(), { mode: 'session', openshift: true, gatewayNamespace: 'gw' }).objects, 'NetworkPolicy')!;
    expect(np.spec!.egress![0]).toMatchObject({ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'openshift-dns' } } }], ports: [{ protocol: 'UDP', port: 5353 }, { protocol: 'TCP', port: 5353 }] });
  });

  it('renders no Route without ports', () => {
    expect(find(renderAgent(hello(), { mode: 'session', openshift: true }).objects, 'Route')).toBeUndefined();
  });
});

describe('render: podman kube play', () => {
  it('is a Pod and its PVCs, publishing host ports like clawpod run', () => {
    const { objects, notes } = renderPodman(hello(), { mode: 'session' });
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(['ConfigMap/hello-spec', 'PersistentVolumeClaim/hello-workspace', 'Pod/hello']);
    const pod = find(objects, 'Pod')!;
    // Podman 4.3 refuses annotation values over 63 characters: the spec is in the ConfigMap
    expect(pod.metadata!.annotations).toEqual({ 'clawpod.dev/spec-configmap': 'hello-spec' });
    expect(JSON.parse(find(objects, 'ConfigMap')!.data!['agent.json']!)).toEqual(hello());
    expect(pod.spec!.restartPolicy).toBe('Never');
    expect(pod.spec!.containers[0]!.ports).toEqual([{ name: 'tcp-8080', containerPort: 8080, protocol: 'TCP', hostPort: 18789, hostIP: '127.0.0.1' }]);
    expect(pod.spec!.serviceAccountName).toBeUndefined();
    expect(notes.join('\n')).toMatch(/on disk, not in memory/);
    expect(renderPodman(isolated(), { mode: 'persistent' }).notes.join('\n')).toMatch(/--network none/);
  });

  it('refuses secrets exposed as files (Podman 4.3 kube play fails on secret volumes)', () => {
    expect(() => renderPodman(rich(), { mode: 'session' })).toThrow(/secrets exposed as files cannot be exported for podman kube play/);
    const env = find(renderPodman(richPodman(), { mode: 'session' }).objects, 'Pod')!.spec!.containers[0]!.env;
    expect(env).toContainEqual({ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'rich-secrets', key: 'API_TOKEN' } } });
  });
});

describe('no secret values anywhere', () => {
  it('renders references only, in every format, while the sources hold a canary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-kube-'));
    writeFileSync(join(dir, 'secret.json'), JSON.stringify({ token: CANARY }));
    process.env.MY_TOKEN = CANARY;
    try {
      for (const opts of [{ format: 'kube', mode: 'session' }, { format: 'kube', mode: 'persistent', openshift: true }, { format: 'kustomize', mode: 'session', namespace: 'n' }] as ExportOptions[]) {
        const r = exportAgents([rich()], opts);
        const all = [...r.files.values(), ...r.notes].join('\n');
        expect(all).not.toContain(CANARY);
        expect(all).not.toMatch(/^kind: Secret$/m);
        expect(all).not.toMatch(/^\s*(data|stringData):/m);
      }
      const p = exportAgents([richPodman()], { format: 'podman', mode: 'session' });
      expect([...p.files.values(), ...p.notes].join('\n')).not.toContain(CANARY);
    } finally {
      delete process.env.MY_TOKEN;
    }
  });
});

// ---------------------------------------------------------------- formats
describe('export formats', () => {
  it('kube: multi-document YAML, one document per object', () => {
    const text = exportAgents([hello()], { format: 'kube', mode: 'session', namespace: 'team' }).files.get('')!;
    const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'PersistentVolumeClaim', 'Service', 'NetworkPolicy', 'Job']);
    expect(docs.every((d) => d.metadata!.namespace === 'team')).toBe(true);
  });

  it('kube: quotes env values that YAML 1.1 (kubectl) would read as booleans', () => {
    // OpenClaw under gVisor gets OPENCLAW_FS_SAFE_NATIVE_MODE=off from its profile
    const a = agent('apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: oc}\nspec:\n  profile: openclaw\n  isolation: gvisor\n');
    const text = exportAgents([a], { format: 'kube', mode: 'persistent' }).files.get('')!;
    expect(text).toMatch(/- name: OPENCLAW_FS_SAFE_NATIVE_MODE\n\s+value: "off"\n/);
    const set = parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as KubeObject).find((d) => d.kind === 'StatefulSet') as { spec: { template: { spec: { containers: { env: { name: string; value: unknown }[] }[] } } } };
    expect(set.spec.template.spec.containers[0]!.env.find((e) => e.name === 'OPENCLAW_FS_SAFE_NATIVE_MODE')?.value).toBe('off');
  });

  it('kustomize: base/ with one file per object, overlays/NS/ setting namespace and a label', () => {
    const r = exportAgents([hello(), isolated()], { format: 'kustomize', mode: 'persistent', namespace: 'team' });
    const files = [...r.files.keys()].sort();
    expect(files).toContain('base/kustomization.yaml');
    expect(files).toContain('base/statefulset-hello.yaml');
    expect(files).toContain('base/statefulset-quiet.yaml');
    expect(files).toContain('overlays/team/kustomization.yaml');
    const base = parse(r.files.get('base/kustomization.yaml')!) as { resources: string[] };
    expect(base.resources.sort()).toEqual(files.filter((f) => f.startsWith('base/') && f !== 'base/kustomization.yaml').map((f) => f.slice(5)).sort());
    expect(parse(r.files.get('overlays/team/kustomization.yaml')!)).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['../../base'], namespace: 'team',
      labels: [{ pairs: { 'clawpod.dev/overlay': 'team' }, includeSelectors: false, includeTemplates: true }],
    });
    expect(r.files.get('base/statefulset-hello.yaml')).not.toContain('namespace:');
  });
});

// ---------------------------------------------------------------- schema
describe('every generated object against the Kubernetes OpenAPI schema', () => {
  beforeAll(() => { strictValidate = strictSchema(); }, 600_000);

  const cases: [string, () => Agent[], ExportOptions][] = [
    ['hello, session', () => [hello()], { format: 'kube', mode: 'session' }],
    ['hello, persistent, namespace', () => [hello()], { format: 'kube', mode: 'persistent', namespace: 'agents' }],
    ['rich, session', () => [rich()], { format: 'kube', mode: 'session', gatewayNamespace: 'gw' }],
    ['rich, persistent, OpenShift', () => [rich()], { format: 'kube', mode: 'persistent', openshift: true }],
    ['no network, kustomize', () => [isolated()], { format: 'kustomize', mode: 'session', gatewayNamespace: 'gw' }],
    ['podman, session', () => [hello(), richPodman()], { format: 'podman', mode: 'session' }],
    ['podman, persistent', () => [isolated()], { format: 'podman', mode: 'persistent' }],
  ];
  for (const [name, agents, opts] of cases) {
    it(`${name}: valid`, () => {
      const objs = exportedObjects(agents(), opts);
      expect(objs.length).toBeGreaterThan(0);
      validateAll(objs);
    });
  }

  it('the strict check refuses an unknown field, a bad quantity and a missing required field (kubernetes-models lets the unknown field through)', () => {
    const job = find(renderAgent(hello(), { mode: 'session' }).objects, 'Job')!;
    const unknown = structuredClone(job) as unknown as { spec: { template: { spec: { containers: Json[] } } } };
    unknown.spec.template.spec.containers[0]!.imagePullSecret = 'typo';
    expect(strictValidate(unknown as never).join()).toContain('additionalProperty');
    expect(() => modelsValidate(unknown as never)).not.toThrow();

    const badQty = structuredClone(job);
    badQty.spec!.template.spec!.containers[0]!.resources!.limits!.memory = '256MB';
    expect(strictValidate(badQty).join()).toContain('pattern');
    expect(() => modelsValidate(badQty)).toThrow();

    const noImage = structuredClone(job) as unknown as { spec: { template: { spec: { containers: Json[] } } } };
    delete noImage.spec.template.spec.containers[0]!.name;
    expect(strictValidate(noImage as never).join()).toContain('required');
  });
});

// ---------------------------------------------------------------- import
describe('import', () => {
  const roundTrip = (a: Agent, opts: ExportOptions) => {
    const r = exportAgents([a], opts);
    const text = [...r.files.entries()].filter(([p]) => !p.endsWith('kustomization.yaml')).map(([, t]) => t).join('\n---\n');
    return importManifests(text, 'export.yaml');
  };

  it('spec → kube → spec is lossless for every field, in every format and mode', () => {
    for (const [make, opts] of [
      [hello, { format: 'kube', mode: 'session' }], [hello, { format: 'kube', mode: 'persistent' }],
      [rich, { format: 'kube', mode: 'session' }], [rich, { format: 'kube', mode: 'persistent', openshift: true, namespace: 'x' }],
      [rich, { format: 'kustomize', mode: 'persistent', namespace: 'x' }], [isolated, { format: 'kube', mode: 'session' }],
      [richPodman, { format: 'podman', mode: 'session' }], [hello, { format: 'podman', mode: 'persistent' }],
    ] as [() => Agent, ExportOptions][]) {
      const a = make();
      const r = roundTrip(a, opts);
      expect(r.agents, `${a.metadata.name} ${JSON.stringify(opts)}`).toEqual([a]);
      expect(r.warnings).toEqual([]);
    }
  });

  it('a Pod read back from a cluster carries the spec too (the template annotation)', () => {
    const job = find(renderAgent(rich(), { mode: 'session' }).objects, 'Job')!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...job.spec!.template.metadata, name: 'rich-x7k2p', uid: 'u' }, spec: job.spec!.template.spec, status: { phase: 'Running' } };
    expect(importManifests(JSON.stringify(pod)).agents).toEqual([rich()]);
  });

  it('says which fields were edited after export, and that the annotation wins', () => {
    const text = exportAgents([hello()], { format: 'kube', mode: 'session' }).files.get('')!.replace('image: localhost/clawpod-agent:latest', 'image: localhost/other:2');
    const r = importManifests(text, 'edited.yaml');
    expect(r.agents).toEqual([hello()]);
    expect(r.warnings).toEqual([expect.stringMatching(/^Job\/hello: changed after export \(spec\.template\.spec\.containers\[0\]\.image differ/)]);
  });

  it('names fields added to an export that the annotation does not carry', () => {
    const text = exportAgents([hello()], { format: 'kube', mode: 'persistent' }).files.get('')!
      .replace('      restartPolicy: Always', '      restartPolicy: Always\n      nodeSelector: { disktype: ssd }\n      priorityClassName: high');
    const r = importManifests(text, 'edited.yaml');
    expect(r.agents).toEqual([hello()]);
    expect(r.warnings).toEqual([
      'StatefulSet/hello: spec.template.spec.nodeSelector: dropped (not in the spec annotation, and no Agent spec field for it)',
      'StatefulSet/hello: spec.template.spec.priorityClassName: dropped (not in the spec annotation, and no Agent spec field for it)',
    ]);
  });

  it('without the annotation, maps the fields Kubernetes has and names what it cannot carry', () => {
    const strip = (t: string) => t.split('\n').filter((l) => !l.includes('clawpod.dev/spec:')).join('\n').replace(/^(\s*)annotations:\n(?=\1\S)/gm, '');
    for (const mode of ['session', 'persistent'] as const) {
      const text = strip(exportAgents([rich()], { format: 'kube', mode }).files.get('')!);
      const r = importManifests(text, 'x.yaml');
      const s = r.agents[0]!.spec;
      expect(r.agents[0]!.metadata).toEqual({ name: 'rich', labels: { team: 'qa', tier: 'backend' }, annotations: { note: 'kept' } });
      expect(s).toMatchObject({
        image: 'registry.example.com/team/agent:1.2', command: ['node'], args: ['/opt/app.mjs', '--flag'], workingDir: '/srv', user: '1234:5678',
        env: [{ name: 'A', value: '1' }, { name: 'B', value: 'two words' }],
        workspace: { enabled: true, mountPath: '/home/agent/work', size: '5Gi' },
        resources: { cpu: '2', memory: '1Gi' }, network: 'bridge', isolation: 'gvisor',
        ports: [{ containerPort: 8080, name: 'http', protocol: 'tcp', hostPort: 'auto' }, { containerPort: 9090, protocol: 'udp', hostPort: 'auto' }],
      });
      expect(s.secrets.map((x) => [x.name, x.exposeAs])).toEqual([['API_TOKEN', 'file'], ['cfg.json', 'file'], ['DB_PASS', 'env']]);
      if (mode === 'session') expect(s.lifecycle.ttl).toBe('2h');
      // what Kubernetes has no field for: the data mount's host folder, among others
      expect(r.warnings.join('\n')).toMatch(/claim .* at \/data dropped/);
    }
    const quiet = importManifests(strip(exportAgents([isolated()], { format: 'kube', mode: 'session' }).files.get('')!));
    expect(quiet.agents[0]!.spec.network).toBe('none');
    expect(quiet.agents[0]!.spec.workspace.enabled).toBe(false);
  });

  it('imports a hand-written Deployment and lists every field it drops', () => {
    const r = importManifests(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: { app: web, clawpod.dev/x: y }
  annotations: { owner: team-a, kubectl.kubernetes.io/last-applied-configuration: '{}' }
spec:
  replicas: 3
  strategy: { type: RollingUpdate }
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { disktype: ssd }
      tolerations: [{ key: k, operator: Exists }]
      hostNetwork: true
      initContainers: [{ name: init, image: busybox }]
      serviceAccountName: web-sa
      containers:
        - name: web
          image: nginx:1.27
          args: [--port, "8080"]
          env:
            - { name: MODE, value: prod }
            - { name: TOKEN, valueFrom: { secretKeyRef: { name: web-secrets, key: token } } }
            - { name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
          envFrom: [{ configMapRef: { name: web-env } }]
          ports: [{ containerPort: 8080, name: http }, { containerPort: 9000, protocol: SCTP }]
          resources: { limits: { cpu: "1", memory: 512Mi, nvidia.com/gpu: 1 }, requests: { cpu: 250m, memory: 512Mi } }
          livenessProbe: { httpGet: { path: /healthz, port: 8080 } }
          securityContext: { runAsUser: 101, privileged: true }
          volumeMounts:
            - { name: data, mountPath: /data }
            - { name: cfg, mountPath: /etc/nginx/conf.d }
            - { name: tmp, mountPath: /tmp }
        - name: sidecar
          image: envoy
      volumes:
        - { name: data, persistentVolumeClaim: { claimName: web-data } }
        - { name: cfg, configMap: { name: web-cfg } }
        - { name: tmp, emptyDir: {} }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: web-data }
spec: { resources: { requests: { storage: 10Gi } } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: web-cfg }
data: { a: b }
`, 'web.yaml');
    expect(r.agents).toHaveLength(1);
    const a = r.agents[0]!;
    expect(a.metadata).toEqual({ name: 'web', labels: { app: 'web' }, annotations: { owner: 'team-a' } });
    expect(a.spec).toMatchObject({
      image: 'nginx:1.27', args: ['--port', '8080'], user: '101', network: 'bridge', isolation: 'runc',
      env: [{ name: 'MODE', value: 'prod' }],
      secrets: [{ name: 'TOKEN', source: 'env', secretRef: { name: 'TOKEN' }, exposeAs: 'env' }],
      ports: [{ containerPort: 8080, name: 'http', protocol: 'tcp', hostPort: 'auto' }],
      resources: { cpu: '1', memory: '512Mi' },
      workspace: { enabled: true, mountPath: '/data', size: '10Gi' },
    });
    const w = r.warnings;
    const expected = [
      'Deployment/web: metadata.namespace: namespace prod dropped',
      'Deployment/web: metadata.labels.clawpod.dev/x: dropped: the prefix is reserved',
      'Deployment/web: metadata.annotations.kubectl.kubernetes.io/last-applied-configuration: dropped',
      'Deployment/web: spec.replicas: 3 replicas dropped',
      'Deployment/web: spec.strategy: dropped',
      'Deployment/web: spec.template.spec.nodeSelector: dropped',
      'Deployment/web: spec.template.spec.tolerations: dropped',
      'Deployment/web: spec.template.spec.hostNetwork: dropped',
      'Deployment/web: spec.template.spec.initContainers: dropped',
      'Deployment/web: spec.template.spec.serviceAccountName: dropped',
      'Deployment/web: spec.template.spec.containers[1]: container sidecar dropped',
      'Deployment/web: spec.template.spec.containers[0].env[1]: variable TOKEN from Secret key web-secrets/token → spec.secrets TOKEN',
      'Deployment/web: spec.template.spec.containers[0].env[2]: dropped',
      'Deployment/web: spec.template.spec.containers[0].envFrom: dropped',
      'Deployment/web: spec.template.spec.containers[0].ports[1]: dropped',
      'Deployment/web: spec.template.spec.containers[0].resources.limits.nvidia.com/gpu: dropped',
      'Deployment/web: spec.template.spec.containers[0].resources.requests.cpu: request 250m dropped',
      'Deployment/web: spec.template.spec.containers[0].livenessProbe: dropped',
      'Deployment/web: spec.template.spec.containers[0].securityContext.privileged: dropped',
      'Deployment/web: spec.template.spec.containers[0].volumeMounts[1]: volume cfg (configMap) at /etc/nginx/conf.d dropped',
      'PersistentVolumeClaim/web-data: not imported (its size is used',
      'ConfigMap/web-cfg: not imported',
    ];
    for (const e of expected) expect(w.some((x) => x.startsWith(e)), `${e}\n in:\n${w.join('\n')}`).toBe(true);
    expect(w).toHaveLength(expected.length);
  });

  it('refuses a file without a workload, and never reads Secret values', () => {
    expect(() => importManifests('apiVersion: v1\nkind: Service\nmetadata: {name: s}\n', 's.yaml')).toThrow(/holds no Pod, Deployment, StatefulSet or Job/);
    const r = importManifests(`apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: ${CANARY}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n`);
    expect(JSON.stringify(r)).not.toContain(CANARY);
    expect(r.warnings.join('\n')).toContain('Secret/s: not imported');
  });

  it('refuses root, names the bad field of an invalid result', () => {
    const r = importManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {securityContext: {runAsUser: 0}, containers: [{name: c, image: busybox}]}\n');
    expect(r.agents[0]!.spec.user).toBe('1000:1000');
    expect(r.warnings.join('\n')).toMatch(/uid 0 dropped/);
    expect(() => importManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox, workingDir: /proc/x}]}\n', 'p.yaml'))
      .toThrow(/Pod\/p: the imported spec is not valid/);
  });
});
