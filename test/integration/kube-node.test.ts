// Pods that really run: the harness with a node (kube-scheduler + kubelet on containerd, the
// agent image imported from Podman; test/helpers/kube.ts startKube({ nodes: true })). An agent
// applied with `clawpod apply` becomes Ready; `clawpod logs` and `clawpod exec` reach it through
// the API server; an image that cannot be pulled fails the wait at once, named; and `clawpod
// serve` with spec.runtime.kind kubernetes runs a group's session as a Job that answers a
// message and a follow-up over attach stdin, its runner calling the gateway over TCP.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, clawpod, ROOT, scratchEnv, tmpDir, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from '../helpers/control.js';
import { startKubeIn, type Kube, kubectlBin } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

let kube: Kube | undefined;
let skip = '';
let model: ModelServer | undefined;
let plane: Plane | undefined;
const ns = `cpnode-${process.pid.toString(36)}`;
const CONTROL_IMAGE = 'localhost/clawpod:latest';
const dir = tmpDir();

function kubectl(...args: string[]) {
  return kubectlIn(undefined, ...args);
}
function kubectlIn(input: string | undefined, ...args: string[]) {
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * deploy/'s identities (ServiceAccounts clawpod and clawpod-session, Role, RoleBinding) in `ns`, and
 * a kubeconfig holding a token of ServiceAccount clawpod: the control plane then has exactly the
 * Role's rights, as in a cluster.
 */
let identity: string | undefined;
function deployIdentity(): string {
  if (identity) return identity;
  const built = spawnSync(kubectlBin(), ['kustomize', join(ROOT, 'deploy')], { encoding: 'utf8' }).stdout;
  const docs = parseAllDocuments(built).map((d) => d.toJS() as { kind: string; metadata: { namespace?: string } })
    .filter((d) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind))
    .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: ns }, ...(d.kind === 'RoleBinding' ? { subjects: [{ kind: 'ServiceAccount', name: 'clawpod', namespace: ns }] } : {}) }));
  const a = kubectlIn(docs.map((d) => JSON.stringify(d)).join('\n'), 'apply', '-f', '-');
  expect(a.code, a.stderr).toBe(0);
  const token = kubectl('-n', ns, 'create', 'token', 'clawpod', '--duration', '1h');
  expect(token.code, token.stderr).toBe(0);
  const file = join(dir, 'clawpod-sa.kubeconfig');
  const ca = Buffer.from(readFileSync(kube!.ca)).toString('base64');
  identity = file;
  writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: '${kube!.server}', certificate-authority-data: ${ca}}}]\nusers: [{name: sa, user: {token: ${token.stdout.trim()}}}]\ncontexts: [{name: sa, context: {cluster: c, user: sa, namespace: ${ns}}}]\ncurrent-context: sa\n`);
  return file;
}
const cli = (args: string[], extra: Record<string, string> = {}) => clawpod(args, { env: scratchEnv({ KUBECONFIG: kube!.kubeconfig, ...extra }), timeoutMs: 240_000 });

beforeAll(async () => {
  // the control plane's own image (deploy/image), imported into the node with the agent image
  const img = spawnSync('bash', [join(ROOT, 'deploy/image/build.sh'), CONTROL_IMAGE], { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: join(ROOT, '.clawpod/containers.conf') } });
  expect(img.status, img.stderr).toBe(0);
  ({ kube, skip } = await startKubeIn(ns, { nodes: true, images: ['localhost/clawpod-agent:latest', CONTROL_IMAGE] }));
}, 45 * 60_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  await kube?.stop();
}, 120_000);

describe('a real node: Pods run', () => {
  it('clawpod apply: the agent becomes Ready with a running Pod', async (t) => {
    if (skip) return t.skip(skip);
    const spec = writeSpec(dir, 'web.yaml', agentYaml('web', [
      'image: localhost/clawpod-agent:latest',
      `command: [sh, -c, 'echo "started as $(id -u) with $GREETING"; echo proof > /workspace/proof; exec node /opt/clawpod/hello-agent.mjs']`,
      'env: [{name: GREETING, value: from-the-node}]',
      'resources: {cpu: 250m, memory: 128Mi}',
    ].join('\n')));
    const t0 = Date.now();
    const r = await cli(['apply', '-f', spec, '-n', ns, '--timeout', '2m']);
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`web: 4 objects applied in namespace ${ns}, ready`); // ServiceAccount, PVC, NetworkPolicy, Job
    expect(r.stderr).toMatch(/pvc\/web-workspace: Bound/);
    // the Job's own count lags its Pod's Ready condition: whichever the wait saw first says it
    expect(r.stderr).toMatch(/job\/web: running \(1 Ready\)|pod\/web-[a-z0-9]+: Ready/);
    expect(kubectl('-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=web', '-o', 'jsonpath={.items[0].status.phase}').stdout).toBe('Running');
    console.log(`clawpod apply → Ready (PVC bound, Pod running): ${took} ms`);
  });

  it('clawpod logs / exec NAME -n NS reach the Pod through the API server', async (t) => {
    if (skip) return t.skip(skip);
    const logs = await cli(['logs', 'web', '-n', ns]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('started as 1000 with from-the-node');
    const t0 = Date.now();
    const ex = await cli(['exec', '-n', ns, 'web', '--', 'sh', '-c', 'cat /workspace/proof; id -u; touch /etc/x 2>&1 || true']);
    console.log(`clawpod exec round trip: ${Date.now() - t0} ms`);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/^proof\n1000\n.*Read-only file system/s);
    const code = await cli(['exec', '--kube', '-n', ns, 'web', '--', 'sh', '-c', 'echo to-stderr >&2; exit 3']);
    expect(code.code).toBe(3);
    expect(code.stderr).toContain('to-stderr');
    const piped = await clawpod(['exec', '-i', '-n', ns, 'web', '--', 'cat'], { env: scratchEnv({ KUBECONFIG: kube!.kubeconfig }), input: 'through stdin\n' });
    expect(piped.stdout).toBe('through stdin\n');
    const none = await cli(['logs', 'nope', '-n', ns]);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('no clawpod agent named nope');
  });

  it('isolation: gvisor applied to the node runs under RuntimeClass gvisor (containerd\'s runsc) and sees gVisor\'s kernel', async (t) => {
    if (skip) return t.skip(skip);
    if (kubectl('get', 'runtimeclass', 'gvisor').code !== 0) return missing(t, 'RuntimeClass gvisor on the harness node (runsc installed)', 'apt-get install -y runsc (./scripts/setup.sh)');
    const spec = writeSpec(dir, 'gv.yaml', agentYaml('gv', [
      'isolation: gvisor',
      `command: [sh, -c, 'echo "kernel $(uname -r)"; dmesg | head -1; node -e "console.log(\\"node ok\\")"; exec sleep 600']`,
      'resources: {cpu: 250m, memory: 256Mi}',
      'workspace: {enabled: false}',
    ].join('\n')));
    const t0 = Date.now();
    const r = await cli(['apply', '-f', spec, '-n', ns, '--timeout', '2m']);
    expect(r.code, r.stderr).toBe(0);
    console.log(`gVisor agent apply → Ready: ${Date.now() - t0} ms`);
    const pod = JSON.parse(kubectl('-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=gv', '-o', 'json').stdout).items[0];
    expect(pod.spec.runtimeClassName).toBe('gvisor');
    const logs = await cli(['logs', 'gv', '-n', ns]);
    expect(logs.stdout).toMatch(/Starting gVisor/);
    expect(logs.stdout).toContain('node ok');
    const kernel = /^kernel (\S+)$/m.exec(logs.stdout)?.[1];
    expect(kernel).toBeDefined();
    expect(kernel).not.toBe(release());
    expect((await cli(['delete', 'gv', '-n', ns, '--volumes'])).code).toBe(0);
  }, 180_000);

  it('an image that cannot be pulled fails the wait at once, naming Pod, container, image and reason', async (t) => {
    if (skip) return t.skip(skip);
    const spec = writeSpec(dir, 'bad.yaml', agentYaml('badimg', 'image: localhost/clawpod-no-such-image:1'));
    const t0 = Date.now();
    const r = await cli(['apply', '-f', spec, '-n', ns, '--timeout', '3m']);
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(4);
    expect(took).toBeLessThan(60_000);
    expect(r.stderr).toMatch(/Error \[IMAGE_NOT_FOUND\]: the agent failed in namespace cpnode-\w+: pod\/badimg-\w+: container agent: image localhost\/clawpod-no-such-image:1 cannot be pulled \((ErrImagePull|ImagePullBackOff)/);
    expect(r.stderr).toContain('fix: localhost/clawpod-no-such-image:1 exists only where it was built: load it into the nodes');
    expect(r.stderr).toContain('applied: serviceaccount/badimg');
    console.log(`unpullable image reported after ${took} ms`);
    expect((await cli(['delete', 'badimg', '-n', ns, '--volumes'])).code).toBe(0);
  });

  it('clawpod serve with runtime kubernetes, as deploy/\'s ServiceAccount: a session Job answers, takes a follow-up, runs a tool, and a kill -9 leaves nothing behind', async (t) => {
    if (skip) return t.skip(skip);
    if (!kube!.nodeIp) return missing(t, 'no node IP: the runner could not reach the gateway');
    if (!kube!.ca) return missing(t, 'an external cluster: no CA file to build the ServiceAccount kubeconfig from');
    const saKubeconfig = deployIdentity();
    model = await modelServer();
    const gw = `${kube!.nodeIp}:${20000 + (process.pid % 20000)}`;
    const extra = ['  followups: stdin', `  runtime: {kind: kubernetes, serviceAccount: clawpod-session, gatewayUrl: "http://${gw}"}`, `  gateway: {listen: "${gw}"}`].join('\n');
    const yaml = planeYaml(model, { groups: ['kgrp'], extra });
    const dataDir = tmpDir();
    plane = await startPlane(yaml, { dataDir, env: scratchEnv({ CLAWPOD_DATA_DIR: dataDir, FIXTURE_KEY: 'fixture-key-123', KUBECONFIG: saKubeconfig }) });
    const ask = async (text: string) => {
      const { id } = await plane!.client.call<{ id: string }>('POST', '/v1/groups/kgrp/messages', { text });
      const events: { type: string; data: Record<string, unknown> }[] = [];
      for await (const e of plane!.client.events(id)) events.push(e);
      const m = await plane!.client.call<MessageView>('GET', `/v1/messages/${id}`);
      return { m, events, text: events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('') };
    };
    const t0 = Date.now();
    const first = await ask('hello from the test');
    const firstMs = Date.now() - t0;
    expect(first.m.status, `${JSON.stringify(first.events.slice(-4))}\n${plane.output()}`).toBe('done');
    expect(first.text).toBe('echo: hello from the test');
    const jobs = kubectl('-n', ns, 'get', 'jobs', '-l', 'dev.clawpod.role=session', '-o', 'jsonpath={.items[*].metadata.name} {.items[*].spec.template.spec.serviceAccountName}').stdout;
    expect(jobs).toBe('clawpod-grp-kgrp clawpod-session');
    // the provider key stayed in the control plane: the Pod's environment does not hold it
    expect(kubectl('-n', ns, 'get', 'job', 'clawpod-grp-kgrp', '-o', 'json').stdout).not.toContain('fixture-key-123');
    const t1 = Date.now();
    const second = await ask('and a follow-up');
    const followMs = Date.now() - t1;
    expect(second.m.status).toBe('done');
    expect(second.text).toBe('echo: and a follow-up');
    expect(second.m.session_id).toBe(first.m.session_id);
    expect(second.events.some((e) => e.type === 'session_starting')).toBe(false);
    console.log(`session on Kubernetes: first answer ${firstMs} ms (Job, Pod, attach), follow-up ${followMs} ms`);
    // a tool call runs in the Pod, as the agent, on the group's workspace claim
    const tool = await ask('run: id -u; echo kept > /workspace/proof; cat /workspace/proof');
    expect(tool.m.status).toBe('done');
    expect(tool.text).toMatch(/^result: 1000\nkept\n/);

    // kill -9: the Job is left behind; the next control plane (same data) removes it and starts anew
    await plane.stop('SIGKILL');
    expect(kubectl('-n', ns, 'get', 'job', 'clawpod-grp-kgrp').code).toBe(0);
    plane = await startPlane(yaml, { dataDir, env: plane.env });
    expect(plane.output()).toContain('removing clawpod-grp-kgrp, left running by the previous control plane');
    const again = await ask('run: cat /workspace/proof');
    expect(again.m.status, `${JSON.stringify(again.events.slice(-4))}\n${plane.output()}`).toBe('done');
    expect(again.text).toMatch(/^result: kept\n/); // the workspace claim outlived both sessions
    expect(again.m.session_id).not.toBe(first.m.session_id);

    await plane.stop();
    plane = undefined;
    // the session's Job is gone once the control plane stops
    for (let i = 0; i < 50 && kubectl('-n', ns, 'get', 'job', 'clawpod-grp-kgrp').code === 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(kubectl('-n', ns, 'get', 'job', 'clawpod-grp-kgrp').code).not.toBe(0);
  }, 180_000);

  it('a session whose image cannot be pulled: the message fails and its events name the image and the reason', async (t) => {
    if (skip) return t.skip(skip);
    if (!kube!.nodeIp || !kube!.ca) return missing(t, 'no node IP or CA');
    model ??= await modelServer();
    const dataDir = tmpDir();
    writeFileSync(join(dataDir, 'agent.yaml'), agentYaml('session', 'image: localhost/clawpod-no-such-image:1\ncommand: [clawpod-agent]'));
    const gw = `${kube!.nodeIp}:${20000 + ((process.pid + 1) % 20000)}`;
    const extra = ['  agent: agent.yaml', `  runtime: {kind: kubernetes, serviceAccount: clawpod-session, gatewayUrl: "http://${gw}"}`, `  gateway: {listen: "${gw}"}`].join('\n');
    const bad = await startPlane(planeYaml(model, { groups: ['kbad'], extra }), { dataDir, env: scratchEnv({ CLAWPOD_DATA_DIR: dataDir, FIXTURE_KEY: 'fixture-key-123', KUBECONFIG: deployIdentity() }) });
    try {
      const { id } = await bad.client.call<{ id: string }>('POST', '/v1/groups/kbad/messages', { text: 'hello' });
      const events: { type: string; data: Record<string, unknown> }[] = [];
      for await (const e of bad.client.events(id)) events.push(e);
      const m = await bad.client.call<MessageView>('GET', `/v1/messages/${id}`);
      expect(m.status).toBe('failed');
      const logs = events.filter((e) => e.type === 'runner_log').map((e) => String(e.data.line)).join('\n');
      expect(logs).toMatch(/job\/clawpod-grp-kbad in namespace cpnode-\w+ cannot start: pod\/clawpod-grp-kbad-\w+: container agent: image localhost\/clawpod-no-such-image:1 cannot be pulled \((ErrImagePull|ImagePullBackOff)/);
    } finally {
      await bad.stop();
    }
  }, 120_000);

  it('deploy/ runs: clawpod serve in a Pod (its image, Role, state claim, ConfigMap) starts a session Job that answers', async (t) => {
    if (skip) return t.skip(skip);
    if (!kube!.nodeIp) return missing(t, 'no node IP');
    model ??= await modelServer();
    const free = () => 20000 + Math.floor(Math.random() * 20000);
    const [api, gw] = [free(), free()];
    const apiPort = new URL(kube!.server).port;
    // What this node lacks and a cluster has: no kube-proxy (no Service IPs) and an API server on
    // loopback. So here only, the Pod uses the host network: it reaches the API server at
    // 127.0.0.1 and the session Pods reach its gateway at the node IP. Everything else is deploy/ as built.
    const cp = ['apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'metadata: {name: cluster}', 'spec:',
      `  listen: ${kube!.nodeIp}:${api}`, '  followups: stdin',
      `  runtime: {kind: kubernetes, serviceAccount: clawpod-session, gatewayUrl: "http://${kube!.nodeIp}:${gw}"}`,
      `  gateway: {listen: "${kube!.nodeIp}:${gw}"}`,
      '  models:', `    fix: {provider: openai, model: scripted, baseUrl: "${model.baseUrl('openai')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
      '  groups: [{name: dgrp, model: fix}]', ''].join('\n');
    type Doc = { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: { template?: { spec?: { hostNetwork?: boolean; containers: { env?: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[] }[] } } } };
    const docs = parseAllDocuments(spawnSync(kubectlBin(), ['kustomize', join(ROOT, 'deploy')], { encoding: 'utf8' }).stdout).map((d) => d.toJS() as Doc).map((d) => {
      if (d.kind === 'Namespace') return { ...d, metadata: { ...d.metadata, labels: {} } }; // host network is not "restricted"
      if (d.kind === 'ConfigMap' && d.metadata.name.startsWith('clawpod-controlplane')) return { ...d, data: { 'controlplane.yaml': cp } };
      if (d.kind !== 'Deployment') return d;
      const pod = d.spec!.template!.spec!;
      const c = pod.containers[0]!;
      c.env = [...(c.env ?? []), { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: apiPort }];
      c.ports = [{ name: 'api', containerPort: api }, { name: 'gateway', containerPort: gw }];
      pod.hostNetwork = true;
      return d;
    });
    const applied = kubectlIn(docs.map((d) => JSON.stringify(d)).join('\n'), 'apply', '--server-side', '-f', '-');
    expect(applied.code, applied.stderr).toBe(0);
    expect(kubectl('-n', 'clawpod', 'create', 'secret', 'generic', 'clawpod-provider-keys', '--from-literal=FIXTURE_KEY=fixture-key-123').code).toBe(0);
    const t0 = Date.now();
    const rollout = kubectl('-n', 'clawpod', 'rollout', 'status', 'deployment/clawpod', '--timeout=90s');
    const logs = () => kubectl('-n', 'clawpod', 'logs', 'deployment/clawpod').stdout;
    expect(rollout.code, `${rollout.stderr}\n${logs()}`).toBe(0);
    console.log(`deploy/: control plane Pod ready ${Date.now() - t0} ms after kubectl apply`);
    // the API token is on the state claim (a hostPath volume of the harness)
    const pv = kubectl('-n', 'clawpod', 'get', 'pvc', 'clawpod-state', '-o', 'jsonpath={.spec.volumeName}').stdout;
    const path = kubectl('get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}').stdout;
    const token = readFileSync(join(path, 'data/control/token'), 'utf8').trim();
    const client = new ControlClient(`http://${kube!.nodeIp}:${api}`, token);
    const { id } = await client.call<{ id: string }>('POST', '/v1/groups/dgrp/messages', { text: 'hello from outside' });
    const events: { type: string; data: Record<string, unknown> }[] = [];
    for await (const e of client.events(id)) events.push(e);
    const m = await client.call<MessageView>('GET', `/v1/messages/${id}`);
    expect(m.status, `${JSON.stringify(events.slice(-4))}\n${logs()}`).toBe('done');
    expect(events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('')).toBe('echo: hello from outside');
    expect(kubectl('-n', 'clawpod', 'get', 'job', 'clawpod-grp-dgrp', '-o', 'jsonpath={.spec.template.spec.serviceAccountName}').stdout).toBe('clawpod-session');
    expect(logs()).toContain('runtime kubernetes');
    expect(logs()).not.toContain('Ignoring extra certs'); // the ConfigMap does not hide the image's /etc/clawpod
  }, 180_000);
});
