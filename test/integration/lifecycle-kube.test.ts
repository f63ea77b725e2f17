// Scale to 0 and wake on a request, on the harness cluster (real kube-apiserver, scheduler, kubelet
// on containerd): a runner tenant on a plan with lifecycle.idle [{after: 10s, action: stop}] gets
// its row in the activator's routes ConfigMap from `clawpod tenant apply --kube`; the activator runs
// as deploy/activator/ builds it (its image, ServiceAccount, ClusterRole), scales the idle tenant's
// StatefulSet to 0 with its claims kept, and a request with the tenant's Host scales it 0 → 1 and
// gets the runner's own answer. A request held past a short wake timeout gets 503 + Retry-After.
// Here only, the activator's Pod uses the host network (the harness has no kube-proxy and its API
// server is on loopback), as test/integration/kube-node.test.ts runs deploy/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster } from '../../src/kube/cluster.js';
import { activatorServer, KubeActivator } from '../../src/lifecycle/kube-activator.js';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { clawpod, podman, ROOT, type CliResult } from '../helpers/cli.js';
import { lastUserText, startPlane, type Plane } from '../helpers/control.js';
import { kubectlBin, startKubeIn, type Kube } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const AGENT_IMAGE = 'localhost/clawpod-agent:latest';
const CONTROL_IMAGE = 'localhost/clawpod:latest';
const GW_NS = `lckube-${process.pid.toString(36)}`;
const TENANT = 'idler';
const HOST = `${TENANT}.agents.test`;
const TNS = `tenant-${TENANT}`;
const dir = mkdtempSync(join(tmpdir(), 'clawpod-lck-'));
let kube: Kube | undefined;
let skip = '';
let model: ModelServer | undefined;
let plane: Plane | undefined;
let gwPort = 0;
let actPort = 0;

const FLEET = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: idle}
spec:
  resources: {cpu: 100m, memory: 128Mi}
  volumes: {state: 1Gi, appData: 1Gi}
  storageClass: local
  models: [fix]
  lifecycle: {idle: [{after: 10s, action: stop}]}
---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${TENANT}}
spec: {plan: idle, profile: runner, domain: agents.test}
`;

function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); }); });
}
const kubectl = (...args: string[]) => spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
const kubectlIn = (input: string, ...args: string[]) => spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8', input });
const cli = (args: string[]): Promise<CliResult> => clawpod(args, { env: { ...plane!.env, KUBECONFIG: kube!.kubeconfig }, timeoutMs: 240_000 });
const replicas = () => kubectl('-n', TNS, 'get', 'statefulset', TNS, '-o', 'jsonpath={.spec.replicas}').stdout;
const claims = () => kubectl('-n', TNS, 'get', 'pvc', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}').stdout.trim().split(' ').sort();
const activatorLogs = () => kubectl('-n', 'clawpod-system', 'logs', 'deployment/clawpod-activator').stdout;

/** GET through the activator with a Host header: status, headers, body, and ms to the first byte. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; firstByteMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host: HOST, ...headers } }, (res) => {
      const firstByteMs = performance.now() - t0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, firstByteMs }));
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error('no answer in 120 s')));
  });
}

async function until(what: string, ok: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not after ${ms / 1000} s\nactivator logs:\n${kube ? activatorLogs() : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - t0;
}

beforeAll(async () => {
  if (podman(['image', 'exists', AGENT_IMAGE]).code !== 0) { skip = `${AGENT_IMAGE} is missing`; return; }
  // the activator's image is the control plane's (deploy/image), with this checkout's dist in it
  const img = spawnSync('bash', [join(ROOT, 'deploy/image/build.sh'), CONTROL_IMAGE], { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: join(ROOT, '.clawpod/containers.conf') } });
  if (img.status === 2) { skip = `the control image cannot be built: ${img.stderr.trim()}`; return; }
  expect(img.status, img.stderr).toBe(0);
  model = await startModelServer((req) => ({ text: `echo: ${lastUserText(req)}` }));
  gwPort = await freePort();
  actPort = await freePort();
  plane = await startPlane([
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', `  gateway: {listen: "0.0.0.0:${gwPort}"}`, '  models:',
    `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  ].join('\n'));
  ({ kube, skip } = await startKubeIn(GW_NS, { nodes: true, images: [AGENT_IMAGE, CONTROL_IMAGE], pvs: 6 }));
  writeFileSync(join(dir, 'fleet.yaml'), FLEET);
}, 45 * 60_000);

afterAll(async () => {
  await kube?.stop();
  await plane?.stop();
  await model?.close();
}, 120_000);

describe('a tenant scales to 0 when idle and back to 1 on a request (harness cluster)', () => {
  it('deploy/activator runs; tenant apply --kube writes the route; idle → 0 replicas with claims kept; a request wakes it and gets the runner\'s answer', async (t) => {
    if (skip) return missing(t, skip);
    if (!kube!.nodeIp) return missing(t, 'no node IP from the harness');
    // the activator as deploy/activator/ builds it, on the host network here (see the top of the file)
    type Doc = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: { template?: { spec?: { hostNetwork?: boolean; containers: { args?: string[]; env?: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[] }[] } } } };
    const built = spawnSync(kubectlBin(), ['kustomize', join(ROOT, 'deploy/activator')], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const docs = parseAllDocuments(built.stdout).map((d) => d.toJS() as Doc).map((d) => {
      if (d.kind === 'Namespace') return { ...d, metadata: { ...d.metadata, labels: {} } }; // host network is not "restricted"
      if (d.kind !== 'Deployment') return d;
      const pod = d.spec!.template!.spec!;
      const c = pod.containers[0]!;
      expect(c.args?.[0]).toBe('activator');
      c.args = ['activator', '--listen', `0.0.0.0:${actPort}`, '--interval', '1s', '--wake-timeout', '90s'];
      c.env = [...(c.env ?? []), { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: new URL(kube!.server).port }];
      c.ports = [{ name: 'http', containerPort: actPort }];
      pod.hostNetwork = true;
      return d;
    });
    const applied = kubectlIn(docs.map((d) => JSON.stringify(d)).join('\n'), 'apply', '--server-side', '-f', '-');
    expect(applied.status, applied.stderr).toBe(0);

    // the tenant: its row goes into the activator's routes ConfigMap
    const t0 = Date.now();
    const r = await cli(['tenant', 'apply', '-f', join(dir, 'fleet.yaml'), '--kube', '--gateway-url', `http://${kube!.nodeIp}:${gwPort}`, '--gateway-namespace', GW_NS]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    console.log(`tenant applied and Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const row = JSON.parse(kubectl('-n', 'clawpod-system', 'get', 'configmap', 'clawpod-activator-routes', '-o', `jsonpath={.data.tenant-${TENANT}\\.json}`).stdout) as unknown;
    expect(row).toEqual([{ host: HOST, namespace: TNS, statefulset: TNS, port: 8080, idle: [{ after: '10s', action: 'stop' }] }]);
    // its Ingress sends the host to the activator (its own Service has no endpoint at 0 replicas)
    expect(kubectl('-n', TNS, 'get', 'ingress', TNS, '-o', 'jsonpath={.spec.rules[0].http.paths[0].backend.service.name}').stdout).toBe(`${TNS}-activator`);
    expect(kubectl('-n', TNS, 'get', 'service', `${TNS}-activator`, '-o', 'jsonpath={.spec.externalName}').stdout).toBe('clawpod-activator.clawpod-system.svc.cluster.local');

    const rollout = kubectl('-n', 'clawpod-system', 'rollout', 'status', 'deployment/clawpod-activator', '--timeout=90s');
    expect(rollout.status, `${rollout.stderr}\n${activatorLogs()}`).toBe(0);
    expect(replicas()).toBe('1');
    const before = claims();
    expect(before).toHaveLength(2); // state and app data

    // idle: scaled to 0 by the activator, its Pod gone, its claims kept
    const idleMs = await until('statefulset scaled to 0', () => replicas() === '0', 60_000);
    await until('pod gone', () => kubectl('-n', TNS, 'get', 'pod', `${TNS}-0`).status !== 0, 60_000);
    console.log(`idle tenant scaled to 0 ${(idleMs / 1000).toFixed(1)} s after the activator was ready (idle tier 10 s, checked every 1 s)`);
    expect(claims()).toEqual(before);
    expect(activatorLogs()).toMatch(new RegExp(`${HOST.replace(/\./g, '\\.')}: idle for \\d+ s → statefulset ${TNS}/${TNS} scaled to 0 \\(its claims stay\\)`));
    const ls = JSON.parse((await cli(['--json', 'tenant', 'ls', '--kube'])).stdout) as { name: string; phase: string }[];
    expect(ls.find((x) => x.name === TENANT)?.phase).toBe('Suspended');

    // a request with the tenant's Host: held while 0 → 1, then the runner's own answer
    const res = await get(actPort, '/healthz');
    expect(res.status, `${res.body}\n${activatorLogs()}`).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(replicas()).toBe('1');
    const woken = /woken in (\d+) ms/.exec(activatorLogs())?.[1];
    console.log(`wake on Kubernetes: request → scale 0 → 1 → Pod Ready → first byte of the runner's answer: ${Math.round(res.firstByteMs)} ms (activator: scale 0 → 1 → Pod Ready ${woken} ms)`);
    // awake now: the next request goes straight through
    const again = await get(actPort, '/readyz');
    expect(again.status).toBe(200);
    console.log(`a request to the awake tenant through the activator: ${Math.round(again.firstByteMs)} ms to the first byte`);
    expect(claims()).toEqual(before); // the same claims (uids) as before it slept
    // an unknown host is the activator's 404, not a connection error
    const unknown = await get(actPort, '/', { host: 'nobody.agents.test' });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'NOT_FOUND', message: 'no tenant answers at nobody.agents.test' } });
  }, 300_000);

  // before the wake-timeout test: that one starts by waiting for the idle tenant to scale to 0
  // again (its 10 s idle tier), which this test's apply and ttl wait cover
  it('a ttl\'d tenant: clawpod gc --kube deletes its namespace and gateway group once the ttl has passed, and not before', async (t) => {
    if (skip) return missing(t, skip);
    const short = `${TENANT}-ttl`;
    writeFileSync(join(dir, 'ttl.yaml'), FLEET.replace('metadata: {name: idle}', 'metadata: {name: brief}').replace('lifecycle: {idle: [{after: 10s, action: stop}]}', 'lifecycle: {ttl: 8s}')
      .replace(`metadata: {name: ${TENANT}}`, `metadata: {name: ${short}}`).replace('plan: idle', 'plan: brief'));
    const r = await cli(['tenant', 'apply', '-f', join(dir, 'ttl.yaml'), '--kube', '--gateway-url', `http://${kube!.nodeIp}:${gwPort}`, '--gateway-namespace', GW_NS]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(kubectl('get', 'namespace', `tenant-${short}`, '-o', 'jsonpath={.metadata.annotations.clawpod\\.dev/ttl}').stdout).toBe('8s');
    const created = Date.parse(kubectl('get', 'namespace', `tenant-${short}`, '-o', 'jsonpath={.metadata.creationTimestamp}').stdout);
    if (Date.now() < created + 7000) expect((await cli(['gc', '--kube'])).stdout.trim()).toBe('no expired tenants');
    await new Promise((res) => setTimeout(res, Math.max(0, created + 9000 - Date.now())));
    const gc = await cli(['gc', '--kube']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`removed expired tenant ${short}: namespace tenant-${short}`);
    expect(kubectl('get', 'namespace', `tenant-${short}`).status).not.toBe(0);
    const groups = await plane!.client.call<{ name: string }[]>('GET', '/v1/groups');
    expect(groups.map((g) => g.name)).not.toContain(`tenant-${short}`);
    // the idle tenant (no ttl) is untouched
    expect(kubectl('get', 'namespace', TNS).status).toBe(0);
  }, 180_000);

  it('a request held past a short wake timeout gets 503 with Retry-After (JSON, and a page for a browser); the wake goes on', async (t) => {
    if (skip) return missing(t, skip);
    // idle again: back to 0
    await until('statefulset scaled to 0 again', () => replicas() === '0', 60_000);
    // a second activator in this process with a 300 ms wait (no idle loop of its own), same routes
    const a = new KubeActivator({ cluster: openCluster({ kubeconfig: kube!.kubeconfig }), namespace: 'clawpod-system', say: () => undefined });
    await a.reload();
    const server = activatorServer(a, { wakeTimeoutMs: 300 });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    try {
      const late = await get(port, '/healthz');
      expect(late.status).toBe(503);
      expect(Number(late.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(late.body)).toMatchObject({ error: { code: 'WAKING', message: `${HOST} is starting up` } });
      expect(late.firstByteMs).toBeLessThan(3000);
      const page = await get(port, '/healthz', { accept: 'text/html' });
      expect(page.status).toBe(503);
      expect(page.body).toContain('<meta http-equiv="refresh"');
      // the wake went on: the tenant comes back, and a later request gets its answer
      await until('statefulset back at 1', () => replicas() === '1', 30_000);
      let ok = 0;
      for (let i = 0; i < 120 && ok !== 200; i++) { ok = (await get(port, '/healthz')).status; if (ok !== 200) await new Promise((r) => setTimeout(r, 500)); }
      expect(ok).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
    }
  }, 120_000);
});
