// deploy/: the manifests that install the control plane in a cluster. Built with `kubectl
// kustomize`, every object checked against the pinned OpenAPI schema (strict: unknown fields
// fail), the ControlPlane file it carries parsed by clawpod's own schema, then sent to a real
// kube-apiserver with --dry-run=server (admission, defaulting, Pod Security "restricted") and
// the Role applied for real to ask the API server what the control plane may and may not do.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadControlPlane } from '../../src/control/config.js';
import { ROOT, tmpDir } from '../helpers/cli.js';
import { KubeUnavailableError, startKube, type Kube, kubectlBin } from '../helpers/kube.js';
import { modelsValidate, strictSchema } from '../helpers/kube-schema.js';

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; data?: Record<string, string> }

let kube: Kube | undefined;
let skip = '';
let built = '';
let docs: Obj[] = [];
const dir = tmpDir();

function kubectl(args: string[], input?: string) {
  const r = spawnSync(kubectlBin(), args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const k = (args: string[], input?: string) => kubectl(['--kubeconfig', kube!.kubeconfig, ...args], input);

beforeAll(async () => {
  const r = kubectl(['kustomize', join(ROOT, 'deploy')]);
  expect(r.code, r.stderr).toBe(0);
  built = r.stdout;
  docs = parseAllDocuments(built).map((d) => d.toJS() as Obj);
  try { kube = await startKube(); } catch (e) {
    if (e instanceof KubeUnavailableError) { skip = e.reason; return; }
    throw e;
  }
}, 45 * 60_000);

afterAll(async () => { await kube?.stop(); });

describe('deploy/ (the control plane in a cluster)', () => {
  it('builds with kubectl kustomize into the expected objects, all in namespace clawpod', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      expect.stringMatching(/^ConfigMap\/clawpod-controlplane-\w+$/), 'ConfigMap/clawpod-session-images', 'Deployment/clawpod', 'Namespace/clawpod',
      'NetworkPolicy/clawpod-controlplane', 'NetworkPolicy/clawpod-sessions', 'PersistentVolumeClaim/clawpod-state', 'Role/clawpod', 'RoleBinding/clawpod',
      'Service/clawpod', 'ServiceAccount/clawpod', 'ServiceAccount/clawpod-session',
      'ValidatingAdmissionPolicy/clawpod-session-jobs', 'ValidatingAdmissionPolicyBinding/clawpod-session-jobs',
    ]);
    // cluster-scoped ones may carry the namespace too (Kustomize does not know every kind's scope); the API server ignores it there
    for (const d of docs.filter((x) => !['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(x.kind))) expect(d.metadata.namespace, d.kind).toBe('clawpod');
  });

  it('every object passes the Kubernetes OpenAPI schema (kubernetes-models, and v1.37.2 strict)', () => {
    const strict = strictSchema();
    for (const d of docs) {
      expect(() => modelsValidate(d), `${d.kind}/${d.metadata.name}`).not.toThrow();
      expect(strict(d), `${d.kind}/${d.metadata.name}`).toEqual([]);
    }
  }, 600_000);

  it("the ConfigMap's ControlPlane file is valid and runs sessions on Kubernetes", () => {
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const file = join(dir, 'controlplane.yaml');
    writeFileSync(file, cm.data!['controlplane.yaml']!);
    const spec = loadControlPlane(file).config.spec;
    expect(spec.runtime).toMatchObject({ kind: 'kubernetes', serviceAccount: 'clawpod-session', gatewayUrl: 'http://clawpod:7879' });
    expect(spec.gateway.listen).toBe('0.0.0.0:7879');
  });

  it('a real kube-apiserver admits all of it (--dry-run=server, Pod Security restricted, no warnings)', async (t) => {
    if (skip) return t.skip(skip);
    // namespaced objects need their namespace to exist even in a dry run
    const ns = k(['create', 'namespace', 'clawpod']);
    expect(ns.code, ns.stderr).toBe(0);
    expect(k(['label', 'namespace', 'clawpod', 'pod-security.kubernetes.io/enforce=restricted']).code).toBe(0);
    const r = k(['apply', '--dry-run=server', '--server-side', '--field-manager', 'clawpod-test', '-f', '-'], built);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning|violate/i);
    expect(r.stdout.trim().split('\n')).toHaveLength(docs.length);
    // the dry run stored nothing
    expect(k(['-n', 'clawpod', 'get', 'deployment,pvc,role', '-o', 'name']).stdout.trim()).toBe('');
  });

  it('the Role grants what sessions as Jobs need and nothing more', async (t) => {
    if (skip) return t.skip(skip);
    const rbac = docs.filter((d) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind));
    const r = k(['apply', '--server-side', '--field-manager', 'clawpod-test', '-f', '-'], rbac.map((d) => JSON.stringify(d)).join('\n'));
    expect(r.code, r.stderr).toBe(0);
    const can = (verb: string, res: string, ns = 'clawpod') => {
      const [resource, sub] = res.split('/');
      return k(['auth', 'can-i', verb, resource!, ...(sub ? ['--subresource', sub] : []), '-n', ns, '--as', 'system:serviceaccount:clawpod:clawpod']).stdout.trim();
    };
    for (const [verb, res] of [['create', 'jobs.batch'], ['patch', 'jobs.batch'], ['delete', 'jobs.batch'], ['list', 'pods'], ['get', 'pods/log'], ['create', 'pods/attach'], ['create', 'persistentvolumeclaims'], ['patch', 'persistentvolumeclaims'], ['list', 'events']]) {
      expect(can(verb!, res!), `${verb} ${res}`).toBe('yes');
    }
    for (const [verb, res] of [['get', 'secrets'], ['create', 'pods/exec'], ['create', 'pods'], ['create', 'serviceaccounts'], ['create', 'rolebindings'], ['patch', 'networkpolicies'], ['update', 'jobs.batch'], ['watch', 'pods']]) {
      expect(can(verb!, res!), `${verb} ${res}`).toBe('no');
    }
    expect(can('create', 'jobs.batch', 'default'), 'another namespace').toBe('no');
  });
});
