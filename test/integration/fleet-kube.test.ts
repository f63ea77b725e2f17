// Tenants on a real cluster (the harness: kube-apiserver, controller manager, scheduler, a kubelet
// on containerd; test/helpers/kube.ts): three runner tenants applied in one pass (namespace, quota,
// limits, policies, customer Role, token Secret, two claims, StatefulSet) and Ready, answering a
// chat through a scripted model on this machine; a second pass converges without touching the
// Secret, and so does a run after one killed half-way; a quota too small for the Pod is
// QUOTA_EXCEEDED in the API's words and leaves nothing; the customer's ServiceAccount token reads
// its own namespace and is refused in another; an upgrade keeps the claims and measures the
// downtime; a broken version is rolled back; a delete takes the whole namespace, and a namespace
// clawpod did not make is refused. About 2.5 min.
// The harness enforces no NetworkPolicy: their content is tested in test/unit/fleet-kube-render.test.ts.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClawpodError } from '../../src/errors.js';
import { parseFleet } from '../../src/fleet/load.js';
import { renderTenant } from '../../src/fleet/kube-render.js';
import { applyTenants, deleteTenantKube, tenantStatusKube, upgradeTenantKube, type LlmToken } from '../../src/fleet/kube.js';
import type { Plan, Tenant } from '../../src/fleet/schema.js';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { podman, uniquePrefix } from '../helpers/cli.js';
import { lastUserText } from '../helpers/control.js';
import { kubectlBin, startKubeIn, type Kube } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const P = uniquePrefix('fk');
const BASE = 'localhost/clawpod-agent:latest';
const tag = (v: string) => `localhost/clawpod-agent:${P}-${v}`;
const GW_NS = `fleetgw-${process.pid.toString(36)}`;
const CANARY = `cpgw_canary_${P}`;
let kube: Kube | undefined;
let skip = '';
let model: ModelServer | undefined;
const progress: string[] = [];
const issued: string[] = [];

const FLEET = (v: string) => `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: std}
spec:
  resources: {cpu: 250m, memory: 192Mi}
  volumes: {state: 1Gi, appData: 1Gi}
  storageClass: local
  models: [fix]
---
apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: tiny}
spec:
  quota: {memory: 128Mi}
  models: [fix]
${['alpha', 'beta', 'gamma', 'delta'].map((n) => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${n}}
spec: {plan: std, profile: {name: runner, version: ${v}}, domain: agents.example.com}
`).join('')}---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: tiny}
spec: {plan: tiny, profile: {name: runner, version: ${v}}}
`;
const fleet = parseFleet(FLEET(`${P}-v1`), 'fleet.yaml');
const plan = (n: string): Plan => fleet.plans.find((p) => p.metadata.name === n)!;
const tenant = (n: string): Tenant => fleet.tenants.find((t) => t.metadata.name === n)!;
const item = (n: string) => ({ tenant: tenant(n), plan: plan(tenant(n).spec.plan) });

function kubectl(...args: string[]) {
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const opts = () => ({
  kubeconfig: kube!.kubeconfig, timeoutMs: 150_000, concurrency: 3,
  renderOpts: { gateway: { namespace: GW_NS, podLabels: { 'app.kubernetes.io/name': 'clawpod' }, port: 7879 } },
  onProgress: (l: string) => { progress.push(l); },
  issueLlmToken: async (group: string): Promise<LlmToken> => { issued.push(group); return { token: `${CANARY}_${group}`, api: 'anthropic', model: 'scripted', url: `http://${kube!.nodeIp}:${model!.port}` }; },
});
/**
 * A chat round trip inside the Pod, with the gateway token the Pod holds (the test never sees it).
 * Asynchronous: the scripted model answers from this very process, which a spawnSync would block.
 */
function chat(ns: string, pod: string, text: string): Promise<{ stdout: string; stderr: string }> {
  const js = `const t=require('fs').readFileSync('/run/secrets/gateway-token','utf8').trim();fetch('http://127.0.0.1:8080/v1/chat/completions',{method:'POST',headers:{authorization:'Bearer '+t,'content-type':'application/json'},body:JSON.stringify({messages:[{role:'user',content:${JSON.stringify(text)}}]})}).then(async r=>console.log(r.status,(await r.json()).choices?.[0]?.message?.content))`;
  return new Promise((resolve) => {
    execFile(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, '-n', ns, 'exec', pod, '-c', 'agent', '--', 'node', '-e', js], { encoding: 'utf8', timeout: 60_000 }, (_e, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

beforeAll(async () => {
  if (podman(['image', 'exists', BASE]).code !== 0) { skip = `${BASE} is missing`; return; }
  // the runner's serve mode must be in the image (clawpod image build after npm run build)
  const c = podman(['create', BASE]).stdout.trim();
  const has = spawnSync('sh', ['-c', `podman cp ${c}:/opt/clawpod/bin/clawpod-agent - | grep -c readyz`], { encoding: 'utf8' }).stdout.trim();
  podman(['rm', c]);
  if (!(Number(has) > 0)) { skip = `${BASE} has no \`clawpod-agent serve\` (rebuild it: npm run build && clawpod image build)`; return; }
  for (const v of ['v1', 'v2']) expect(podman(['tag', BASE, tag(v)]).code).toBe(0);
  // a version whose payload exits at once: its Pod crash-loops
  const d = mkdtempSync(join(tmpdir(), 'clawpod-fk-'));
  writeFileSync(join(d, 'entry.mjs'), "console.error('broken build'); process.exit(3);\n");
  writeFileSync(join(d, 'Containerfile'), `FROM ${BASE}\nCOPY entry.mjs /opt/clawpod/bin/clawpod-agent\n`);
  const b = podman(['build', '-q', '-t', tag('bad'), d]);
  expect(b.code, b.stderr).toBe(0);
  model = await startModelServer((req) => ({ text: `echo: ${lastUserText(req)}` }));
  ({ kube, skip } = await startKubeIn(GW_NS, { nodes: true, images: [tag('v1'), tag('v2'), tag('bad')] }));
}, 45 * 60_000);

afterAll(async () => {
  await kube?.stop();
  await model?.close();
  for (const v of ['v1', 'v2', 'bad']) podman(['rmi', '-f', tag(v)]);
}, 120_000);

describe('tenants on a real cluster', () => {
  it('applies three tenants in one pass: namespace, quota, limits, policies, Role, Secret, claims, StatefulSet; all Ready and answering', async (t) => {
    if (skip) return missing(t, skip);
    const t0 = Date.now();
    const res = await applyTenants(['alpha', 'beta', 'gamma'].map(item), opts());
    console.log(`3 tenants applied and Ready in ${Date.now() - t0} ms`);
    for (const r of res) expect(r.ok, `${r.name}: ${r.error?.message}\n${progress.join('\n')}`).toBe(true);
    expect(res.map((r) => [r.name, r.createdNamespace, r.secret])).toEqual([['alpha', true, 'created'], ['beta', true, 'created'], ['gamma', true, 'created']]);
    expect(res[0]!.applied[0]).toBe('namespace/tenant-alpha');
    expect(issued.sort()).toEqual(['tenant-alpha', 'tenant-beta', 'tenant-gamma']);
    for (const n of ['alpha', 'beta', 'gamma']) {
      const ns = `tenant-${n}`;
      const got = kubectl('-n', ns, 'get', 'resourcequota,limitrange,networkpolicy,serviceaccount,role,rolebinding,configmap,service,statefulset,ingress,secret,pvc', '-o', 'name');
      expect(got.stdout.split('\n').filter((l) => !/kube-root-ca|serviceaccount\/default$/.test(l)).filter(Boolean).sort()).toEqual([
        `configmap/tenant-${n}-config`, `ingress.networking.k8s.io/tenant-${n}`,
        'limitrange/tenant-limits',
        'networkpolicy.networking.k8s.io/allow-dns', 'networkpolicy.networking.k8s.io/allow-gateway', 'networkpolicy.networking.k8s.io/allow-https', 'networkpolicy.networking.k8s.io/allow-ingress', 'networkpolicy.networking.k8s.io/default-deny',
        `persistentvolumeclaim/app-data-tenant-${n}-0`, `persistentvolumeclaim/workspace-tenant-${n}-0`,
        'resourcequota/tenant-quota',
        `role.rbac.authorization.k8s.io/tenant-${n}-viewer`, `rolebinding.rbac.authorization.k8s.io/tenant-${n}-viewer`,
        `secret/tenant-${n}-secrets`, `service/tenant-${n}`, `serviceaccount/tenant-${n}`, `serviceaccount/tenant-${n}-viewer`, `statefulset.apps/tenant-${n}`,
      ].sort());
      expect(kubectl('-n', ns, 'get', 'pvc', '-o', 'jsonpath={.items[*].status.phase}').stdout).toBe('Bound Bound');
      expect(kubectl('-n', ns, 'get', 'secret', `tenant-${n}-secrets`, '-o', 'jsonpath={.data}').stdout).toMatch(/"gateway-token":.*"llm-token":/);
      expect(kubectl('get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}').stdout).toContain('"pod-security.kubernetes.io/enforce":"restricted"');
    }
    // the three round trips at once (each a Node start inside its Pod)
    const answers = await Promise.all(['alpha', 'beta', 'gamma'].map((n) => chat(`tenant-${n}`, `tenant-${n}-0`, `hello ${n}`)));
    for (const [i, n] of ['alpha', 'beta', 'gamma'].entries()) expect(answers[i]!.stdout.trim(), answers[i]!.stderr).toBe(`200 echo: hello ${n}`);
    // the app-data claim is mounted where the plan says, writable by the payload
    expect(kubectl('-n', 'tenant-alpha', 'exec', 'tenant-alpha-0', '-c', 'agent', '--', 'sh', '-c', 'touch /data/x && echo ok').stdout.trim()).toBe('ok');
    const status = await tenantStatusKube({ kubeconfig: kube!.kubeconfig });
    expect(status).toEqual(['alpha', 'beta', 'gamma'].map((n) => ({ name: n, plan: 'std', phase: 'Ready', version: `${P}-v1`, url: `https://${n}.agents.example.com` })));
    expect(progress.join('\n')).not.toContain(CANARY);
    expect(JSON.stringify(res)).not.toContain(CANARY);
  }, 240_000);

  it('a second pass converges: nothing changes, the Secret is kept, no new LLM token', async (t) => {
    if (skip) return missing(t, skip);
    const before = kubectl('-n', 'tenant-alpha', 'get', 'secret,statefulset', '-o', 'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}').stdout;
    const res = await applyTenants(['alpha'].map(item), opts());
    expect(res[0]).toMatchObject({ ok: true, createdNamespace: false, secret: 'kept' });
    expect(issued).toHaveLength(3);
    expect(kubectl('-n', 'tenant-alpha', 'get', 'secret,statefulset', '-o', 'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}').stdout).toBe(before);
  }, 120_000);

  it('a run killed half-way (namespace, quota and Secret made, nothing else) converges and keeps the token it had made', async (t) => {
    if (skip) return missing(t, skip);
    const first = renderTenant(tenant('delta'), plan('std'), opts().renderOpts).slice(0, 3);
    expect(first.map((o) => o.kind)).toEqual(['Namespace', 'ResourceQuota', 'LimitRange']);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tenant-delta-secrets', namespace: 'tenant-delta' }, stringData: { 'gateway-token': 'made-by-the-killed-run' } };
    const r0 = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, 'apply', '--server-side', '--field-manager', 'clawpod', '-f', '-'], { encoding: 'utf8', input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...first, secret] }) });
    expect(r0.status, r0.stderr).toBe(0);
    const [r] = await applyTenants([item('delta')], opts());
    expect(r, r?.error?.message).toMatchObject({ ok: true, createdNamespace: false, secret: 'completed' });
    const token = kubectl('-n', 'tenant-delta', 'get', 'secret', 'tenant-delta-secrets', '-o', 'jsonpath={.data.gateway-token}').stdout;
    expect(Buffer.from(token, 'base64').toString()).toBe('made-by-the-killed-run');
    expect((await chat('tenant-delta', 'tenant-delta-0', 'after the kill')).stdout.trim()).toBe('200 echo: after the kill');
  }, 180_000);

  it('a quota too small for the Pod: QUOTA_EXCEEDED with the API\'s message, and the new namespace is gone', async (t) => {
    if (skip) return missing(t, skip);
    const [r] = await applyTenants([item('tiny')], opts());
    expect(r!.ok).toBe(false);
    expect(r!.error?.code, r!.error?.message).toBe('QUOTA_EXCEEDED');
    expect(r!.error?.message).toMatch(/tenant tiny: the namespace's ResourceQuota refuses it: statefulset\/tenant-tiny: FailedCreate: .*exceeded quota: tenant-quota, requested: .*memory=256Mi.*limited: .*memory=128Mi/);
    expect(r!.rolledBack).toBe(true);
    expect(kubectl('get', 'namespace', 'tenant-tiny').code).not.toBe(0);
  }, 180_000);

  it("the customer's ServiceAccount token lists Pods in its own namespace and is refused in another's, and for Secrets", async (t) => {
    if (skip) return missing(t, skip);
    if (!kube!.ca) return missing(t, 'an external cluster: no CA file for a token-only kubeconfig');
    const token = kubectl('-n', 'tenant-alpha', 'create', 'token', 'tenant-alpha-viewer', '--duration', '10m').stdout.trim();
    expect(token).toMatch(/^ey/);
    const as = (...args: string[]) => {
      const r = spawnSync(kubectlBin(), ['--kubeconfig', '/dev/null', '--server', kube!.server, '--certificate-authority', kube!.ca, '--token', token, ...args], { encoding: 'utf8' });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const own = as('-n', 'tenant-alpha', 'get', 'pods', '-o', 'name');
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout.trim()).toBe('pod/tenant-alpha-0');
    expect(as('-n', 'tenant-alpha', 'logs', 'tenant-alpha-0', '-c', 'agent').code).toBe(0);
    const other = as('-n', 'tenant-beta', 'get', 'pods');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('"system:serviceaccount:tenant-alpha:tenant-alpha-viewer" cannot list resource "pods" in API group "" in the namespace "tenant-beta"');
    expect(as('-n', 'tenant-alpha', 'get', 'secrets').stderr).toContain('cannot list resource "secrets"');
    expect(as('get', 'namespaces').stderr).toContain('cannot list resource "namespaces"');
  });

  // beta's upgrade to the crashing version (the next test's) runs alongside alpha's: it is mostly
  // the kubelet's crash-loop back-off, a wait, and the two tenants share nothing
  let crashing: Promise<ClawpodError | undefined> | undefined;
  const crash = () => (crashing ??= upgradeTenantKube(tenant('beta'), plan('std'), `${P}-bad`, opts()).then(() => undefined, (e: unknown) => e as ClawpodError));

  it('upgrade: the new image on the same claims, verified by a chat, with the downtime measured', async (t) => {
    if (skip) return missing(t, skip);
    void crash();
    const claim = () => kubectl('-n', 'tenant-alpha', 'get', 'pvc', 'workspace-tenant-alpha-0', '-o', 'jsonpath={.metadata.uid}').stdout;
    const uid = claim();
    let verified = '';
    const r = await upgradeTenantKube(tenant('alpha'), plan('std'), `${P}-v2`, {
      ...opts(),
      verify: async ({ namespace, podName }) => { const a = await chat(namespace, podName, 'after upgrade'); verified = a.stdout.trim(); if (!verified.startsWith('200')) throw new Error(`chat: ${a.stdout} ${a.stderr}`); },
    });
    console.log(`upgrade ${r.from} → ${r.to}: ${r.seconds.toFixed(1)} s, unavailable ${r.unavailableSeconds.toFixed(1)} s`);
    expect(r).toMatchObject({ name: 'alpha', from: `${P}-v1`, to: `${P}-v2` });
    expect(r.unavailableSeconds).toBeGreaterThan(0);
    expect(r.unavailableSeconds).toBeLessThanOrEqual(r.seconds);
    expect(verified).toBe('200 echo: after upgrade');
    expect(claim()).toBe(uid);
    expect(kubectl('-n', 'tenant-alpha', 'get', 'pod', 'tenant-alpha-0', '-o', 'jsonpath={.spec.containers[0].image}').stdout).toBe(tag('v2'));
    expect((await tenantStatusKube({ kubeconfig: kube!.kubeconfig, names: ['alpha'] }))[0]).toMatchObject({ phase: 'Ready', version: `${P}-v2` });
  }, 180_000);

  it('a version that crashes is rolled back to the one before, and the error names tenant, version and why', async (t) => {
    if (skip) return missing(t, skip);
    const err = await crash();
    expect(err?.code, err?.message).toBe('UNHEALTHY');
    expect(err!.message).toMatch(new RegExp(`tenant beta: version ${P}-bad did not become healthy \\(.*CrashLoopBackOff \\(exit code 3, Error\\).*\\); rolled back to ${P}-v1`));
    expect(err!.details).toContain(`rolled back to ${P}-v1: Ready`);
    expect(kubectl('-n', 'tenant-beta', 'get', 'pod', 'tenant-beta-0', '-o', 'jsonpath={.spec.containers[0].image}').stdout).toBe(tag('v1'));
    expect((await chat('tenant-beta', 'tenant-beta-0', 'still here')).stdout.trim()).toBe('200 echo: still here');
    expect((await tenantStatusKube({ kubeconfig: kube!.kubeconfig, names: ['beta'] }))[0]).toMatchObject({ phase: 'Ready', version: `${P}-v1` });
  }, 240_000);

  it('delete takes the whole namespace and everything labelled with the tenant; a namespace clawpod did not make is refused', async (t) => {
    if (skip) return missing(t, skip);
    const lines: string[] = [];
    const r = await deleteTenantKube('gamma', { kubeconfig: kube!.kubeconfig, timeoutMs: 120_000, onProgress: (l) => lines.push(l) });
    console.log(`tenant gamma deleted in ${r.seconds.toFixed(1)} s`);
    expect(lines.at(-1)).toBe('tenant gamma: namespace/tenant-gamma deleted');
    expect(kubectl('get', 'namespace', 'tenant-gamma').code).not.toBe(0);
    expect(kubectl('get', 'all,pvc,secret,configmap,networkpolicy,role,rolebinding,serviceaccount,resourcequota,limitrange', '-A', '-l', 'clawpod.dev/tenant=gamma', '-o', 'name').stdout.trim()).toBe('');
    const st = await tenantStatusKube({ kubeconfig: kube!.kubeconfig });
    expect(st.map((s) => s.name)).toEqual(['alpha', 'beta', 'delta']);
    await expect(tenantStatusKube({ kubeconfig: kube!.kubeconfig, names: ['gamma'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(kubectl('create', 'namespace', 'tenant-intruder').code).toBe(0);
    await expect(deleteTenantKube('intruder', { kubeconfig: kube!.kubeconfig })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('namespace tenant-intruder exists but is not clawpod\'s namespace of tenant intruder') });
    expect(kubectl('get', 'namespace', 'tenant-intruder').code).toBe(0);
    await expect(deleteTenantKube('nope', { kubeconfig: kube!.kubeconfig })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 180_000);
});
