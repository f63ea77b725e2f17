// `clawpod apply` and `clawpod delete` against a real kube-apiserver + kube-controller-manager
// (test/helpers/kube.ts; no scheduler or kubelet, so Pods stay Pending and the wait must time out
// naming them). Driven through the built CLI, except the strict-validation case, which injects
// a bogus field into a rendered object and calls applyAgents directly.
//
// Runtime: ~25 s once the harness binaries are cached (the wait tests spend 5 s each waiting).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAgents } from '../../src/kube/apply.js';
import { openCluster } from '../../src/kube/cluster.js';
import { waitReady } from '../../src/kube/wait.js';
import { renderAgent } from '../../src/kube/render.js';
import type { KubeObject } from '../../src/kube/types.js';
import { parseAgents } from '../../src/spec/parse.js';
import { agentYaml, clawpod, scratchEnv, tmpDir, writeSpec } from '../helpers/cli.js';
import { startKubeIn, type Kube, kubectlBin } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

let kube: Kube | undefined;
let skip = '';
const ns = `cpapply-${process.pid.toString(36)}`;
const dir = tmpDir();
const spec = (name: string) => writeSpec(dir, `${name}.yaml`, agentYaml(name, 'image: registry.example/agent:1\nnetwork: bridge\nports: [{ containerPort: 8080 }]\nsecrets: [{ name: API_TOKEN, source: env, secretRef: { name: T } }]'));

function kubectl(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cli = (args: string[], kubeconfig = kube!.kubeconfig) => clawpod(args, { env: scratchEnv({ KUBECONFIG: kubeconfig }) });

beforeAll(async () => {
  ({ kube, skip } = await startKubeIn(ns, { controllerManager: true }));
}, 45 * 60_000);

afterAll(async () => { await kube?.stop(); });

describe('clawpod apply / delete on a real API server', () => {
  it('--dry-run=server validates everything and stores nothing', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['apply', '-f', spec('dry'), '-n', ns, '--dry-run=server']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('job/dry valid (server dry run, not stored)');
    expect(r.stdout).toContain('5 objects valid');
    const got = kubectl('-n', ns, 'get', 'job,pvc,sa,svc,networkpolicy', '-l', 'app.kubernetes.io/instance=dry', '-o', 'name');
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.trim()).toBe('');
  });

  it('--no-wait applies with field manager clawpod; a second apply changes nothing', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['apply', '-f', spec('web'), '-n', ns, '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('web: 5 objects applied in namespace');
    // the Secret is not created: the note gives the command, in the right namespace
    expect(r.stderr).toContain(`kubectl -n ${ns} create secret generic web-secrets --from-file=API_TOKEN=PATH`);
    const names = kubectl('-n', ns, 'get', 'job,pvc,sa,svc,networkpolicy', '-l', 'app.kubernetes.io/instance=web', '-o', 'name').stdout.trim().split('\n').sort();
    expect(names).toEqual(['job.batch/web', 'networkpolicy.networking.k8s.io/web', 'persistentvolumeclaim/web-workspace', 'service/web', 'serviceaccount/web']);
    const managers = kubectl('-n', ns, 'get', 'job', 'web', '--show-managed-fields', '-o', 'jsonpath={range .metadata.managedFields[*]}{.manager}:{.operation} {end}');
    expect(managers.stdout).toContain('clawpod:Apply');
    // (the claim's resourceVersion moves with its status, written by the PV controller)
    const rv = () => kubectl('-n', ns, 'get', 'job,svc,networkpolicy,sa', '-l', 'app.kubernetes.io/instance=web', '-o', 'jsonpath={.items[*].metadata.resourceVersion}').stdout;
    const before = rv();
    const again = await cli(['apply', '-f', spec('web'), '-n', ns, '--wait=false']);
    expect(again.code, again.stderr).toBe(0);
    expect(rv()).toBe(before);
  });

  it('waits, and a timeout names what is still pending (unscheduled Pod, unbound claim)', async (t) => {
    if (skip) return t.skip(skip);
    const start = Date.now();
    const r = await cli(['apply', '-f', spec('web'), '-n', ns, '--timeout', '5s']);
    expect(r.code).toBe(3);
    expect(Date.now() - start).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/timed out after 5s waiting for the agent in namespace cpapply-\w+ to be ready; still pending: .*pvc\/web-workspace/);
    expect(r.stderr).toMatch(/pod\/web-\w+: Pending, not scheduled/);
    expect(r.stderr).toMatch(/pvc\/web-workspace: Pending \(no StorageClass named and the cluster has no default StorageClass/);
    expect(r.stderr).toContain('applied: serviceaccount/web, persistentvolumeclaim/web-workspace, service/web, networkpolicy/web, job/web');
    expect(r.stderr).toContain('--no-wait');
  });

  it('a StorageClass that does not exist is refused before anything is applied, listing those that do', async (t) => {
    if (skip) return t.skip(skip);
    const made = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, 'apply', '-f', '-'], { encoding: 'utf8', input: 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: slow}\nprovisioner: example.com/nothing\nvolumeBindingMode: Immediate\n' });
    expect(made.status, made.stderr).toBe(0);
    const r = await cli(['apply', '-f', spec('nosc'), '-n', ns, '--storage-class', 'fast', '--no-wait']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('StorageClass fast does not exist on https://127.0.0.1:');
    expect(r.stderr).toContain('existing: slow');
    expect(r.stderr).toContain('nothing was applied');
    expect(r.stderr).toContain('fix: use one of them (--storage-class slow)');
    expect(kubectl('-n', ns, 'get', 'sa,pvc,job', '-l', 'app.kubernetes.io/instance=nosc', '-o', 'name').stdout.trim()).toBe('');
  });

  it('the wait names a claim pending on its StorageClass: no provisioner, then a class deleted after the apply', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['apply', '-f', spec('slow'), '-n', ns, '--storage-class', 'slow', '--timeout', '3s']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/still pending: .*pvc\/slow-workspace/);
    expect(r.stderr).toContain('pvc/slow-workspace: Pending (waiting for StorageClass slow (provisioner example.com/nothing) to provision a volume)');
    expect(kubectl('delete', 'storageclass', 'slow').code).toBe(0);
    const [loaded] = parseAgents(agentYaml('slow', 'image: registry.example/agent:1'), 'slow.yaml');
    const objects = renderAgent(loaded!.agent, { mode: 'session', storageClass: 'slow' }).objects.filter((o) => o.kind === 'PersistentVolumeClaim');
    const c = openCluster({ kubeconfig: kube!.kubeconfig, namespace: ns });
    const err = await waitReady(c, objects, { timeoutMs: 1500, onProgress: () => undefined, applied: ['persistentvolumeclaim/slow-workspace'] }).then(() => undefined, (e: unknown) => e as { message: string; details: string[] });
    expect(err?.message).toContain('still pending: pvc/slow-workspace');
    expect(err?.details.join('\n')).toContain('pvc/slow-workspace: Pending (its StorageClass slow does not exist (the cluster has no StorageClass at all)');
    expect((await cli(['delete', 'slow', '-n', ns, '--volumes'])).code).toBe(0);
  });

  it('a persistent agent: StatefulSet, and its Pod named in the timeout', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['apply', '-f', spec('keep'), '-n', ns, '--mode', 'persistent', '--timeout', '5s']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('statefulset/keep applied');
    expect(r.stderr).toMatch(/still pending: .*(statefulset\/keep|pod\/keep-0)/);
    const d = await cli(['delete', 'keep', '-n', ns, '--volumes']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toContain('statefulset/keep deleted');
  });

  it('delete removes the objects and keeps the claim; --volumes removes it', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['delete', '-f', spec('web'), '-n', ns]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('persistentvolumeclaim/web-workspace kept');
    const left = () => kubectl('-n', ns, 'get', 'job,pvc,sa,svc,networkpolicy', '-l', 'app.kubernetes.io/instance=web', '-o', 'name').stdout.trim();
    expect(left()).toBe('persistentvolumeclaim/web-workspace');
    const v = await cli(['delete', 'web', '-n', ns, '--volumes']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('persistentvolumeclaim/web-workspace deleted');
    // pvc-protection lets the claim go once the garbage collector has removed the Job's Pod
    for (let i = 0; i < 30 && left() !== ''; i++) await new Promise((res) => setTimeout(res, 1000));
    expect(left()).toBe('');
    const none = await cli(['delete', 'web', '-n', ns]);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain(`no clawpod agent web in namespace ${ns}`);
  }, 60_000);

  it('a namespace RBAC forbids: the error names user, namespace and object; nothing applied', async (t) => {
    if (skip) return t.skip(skip);
    if (!kube!.limitedKubeconfig) return missing(t, 'no limited user on an external cluster');
    const r = await cli(['apply', '-f', spec('denied'), '-n', ns, '--no-wait'], kube!.limitedKubeconfig);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot apply serviceaccount/denied in namespace ${ns}`);
    expect(r.stderr).toMatch(/User "clawpod-limited" cannot patch resource "serviceaccounts".*HTTP 403, RBAC/);
    expect(r.stderr).toContain('nothing was applied');
    expect(r.stderr).toContain(`fix: ask a cluster admin for a Role in namespace ${ns}`);
    expect(kubectl('-n', ns, 'get', 'sa,job', '-l', 'app.kubernetes.io/instance=denied', '-o', 'name').stdout.trim()).toBe('');
  });

  it('a missing namespace is refused unless --create-namespace', async (t) => {
    if (skip) return t.skip(skip);
    const r = await cli(['apply', '-f', spec('nsx'), '-n', `${ns}-new`, '--no-wait']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`namespace ${ns}-new does not exist`);
    expect(r.stderr).toContain('--create-namespace');
    const c = await cli(['apply', '-f', spec('nsx'), '-n', `${ns}-new`, '--no-wait', '--create-namespace']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain(`namespace/${ns}-new created`);
  });

  it('an unreachable cluster: the error names the server and the fix', async (t) => {
    if (skip) return t.skip(skip);
    const kc = join(dir, 'closed.kubeconfig');
    writeFileSync(kc, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: closed, context: {cluster: c, user: u}}]\ncurrent-context: closed\n`);
    const r = await cli(['apply', '-f', spec('gone'), '-n', ns], kc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot reach the Kubernetes API server https://127.0.0.1:1 (context closed)');
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('fix: check that the cluster runs and the kubeconfig points at it: kubectl --context closed cluster-info');
  });

  it('strict field validation rejects an unknown field, naming it and what was applied before', async (t) => {
    if (skip) return t.skip(skip);
    const [loaded] = parseAgents(agentYaml('strict', 'image: registry.example/agent:1'), 'strict.yaml');
    const { objects } = renderAgent(loaded!.agent, { mode: 'session' });
    const bad = objects.map((o) => (o.kind === 'Job' ? { ...o, spec: { ...o.spec, template: { ...o.spec!.template, spec: { ...o.spec!.template.spec!, bogusField: 1 } } } } : o)) as KubeObject[];
    const err = await applyAgents(bad, { kubeconfig: kube!.kubeconfig, namespace: ns, wait: false, timeoutMs: 1000 }).then(() => undefined, (e: unknown) => e as { code: string; message: string; details: string[] });
    expect(err?.code, JSON.stringify(err)).toBe('SPEC_INVALID');
    expect(err?.message).toContain(`cannot apply job/strict in namespace ${ns}`);
    expect(err?.message).toContain('.spec.template.spec.bogusField: field not declared in schema');
    expect((err as { hint?: string }).hint).toContain('has no field .spec.template.spec.bogusField in job/strict');
    expect(err?.details.join('\n')).toContain('already applied: serviceaccount/strict, persistentvolumeclaim/strict-workspace, networkpolicy/strict');
    expect(kubectl('-n', ns, 'get', 'job', 'strict', '-o', 'name').code).not.toBe(0);
  });
});
