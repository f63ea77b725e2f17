// OpenClaw on Kubernetes: the export validates against the pinned OpenAPI schema (unknown fields
// refused), its seeding step does what `clawpod run` does (run here with real Node), and on the
// harness's real node (kubelet + containerd) `clawpod apply` of the StatefulSet becomes Ready: the
// init container seeds openclaw.json onto the claim, the gateway reads its token from the Secret,
// and the startup/readiness probes pass.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAgent } from '../../src/kube/render.js';
import type { IStatefulSet } from '../../src/kube/types.js';
import { parseAgents } from '../../src/spec/parse.js';
import { agentYaml, clawpod, podman, scratchEnv, tmpDir, writeSpec } from '../helpers/cli.js';
import { startKubeIn, type Kube, kubectlBin } from '../helpers/kube.js';
import { modelsValidate, strictSchema } from '../helpers/kube-schema.js';

const VERSION = '2026.9.6';
const IMAGE = `localhost/clawpod-openclaw:${VERSION}`;
const dir = tmpDir();
const ns = `cpoc-${process.pid.toString(36)}`;
const SPEC = agentYaml('alice', [
  `profile: {name: openclaw, version: "${VERSION}"}`,
  // the node has 2 cores: room for the init step next to the gateway
  'resources: {cpu: "1", memory: 1536Mi}',
  'workspace: {size: 1Gi}',
  'config: {mode: merge, values: {gateway: {controlUi: {allowedOrigins: ["http://127.0.0.1:18789"]}}}}',
  'llm: {group: alice, url: "http://clawpod.clawpod.svc:7879", api: anthropic, model: claude-sonnet-4-5}',
].join('\n'));
let kube: Kube | undefined;
let skip = '';

function kubectl(...args: string[]) {
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cli = (args: string[]) => clawpod(args, { env: scratchEnv({ KUBECONFIG: kube!.kubeconfig }), timeoutMs: 420_000 });

beforeAll(async () => {
  if (podman(['image', 'exists', IMAGE]).code !== 0) {
    const b = await clawpod(['image', 'build', '--profile', 'openclaw', '--version', VERSION], { timeoutMs: 1_200_000 });
    expect(b.code, b.stderr).toBe(0);
  }
  ({ kube, skip } = await startKubeIn(ns, { nodes: true, images: ['localhost/clawpod-agent:latest', IMAGE] }));
}, 45 * 60_000);

afterAll(async () => {
  await kube?.stop();
}, 120_000);

describe('clawpod export of an OpenClaw agent', () => {
  it('gives a StatefulSet, ConfigMap, NetworkPolicy ... that validate strictly against the pinned schema', async () => {
    const file = writeSpec(dir, 'alice.yaml', SPEC);
    const out = join(dir, 'alice.kube.yaml');
    const r = await clawpod(['export', '-f', file, '--mode', 'persistent', '--gateway-namespace', 'clawpod', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    // the Secret is the user's to create: both keys are named, no value anywhere
    expect(r.stderr).toContain('Secret alice-secrets must hold the keys gateway-token, llm-token');
    const objects = parseAllDocuments(readFileSync(out, 'utf8')).map((d) => d.toJS() as { apiVersion: string; kind: string });
    expect(objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Service', 'NetworkPolicy', 'StatefulSet']);
    const strict = strictSchema();
    for (const o of objects) {
      modelsValidate(o);
      expect(strict(o), `${o.kind}`).toEqual([]);
    }
    const cm = objects[1] as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data['openclaw.json']!)).toMatchObject({
      models: { providers: { clawpod: { baseUrl: 'http://clawpod.clawpod.svc:7879', api: 'anthropic-messages' } } },
      gateway: { controlUi: { allowedOrigins: ['http://127.0.0.1:18789'] } },
    });
    const np = JSON.stringify(objects[3]);
    expect(np).toContain('"port":443');
    expect(np).toContain('"kubernetes.io/metadata.name":"clawpod"');
    const pod = (objects[4] as IStatefulSet).spec!.template.spec!;
    expect(pod.initContainers?.[0]?.name).toBe('seed-config');
    expect(pod.containers[0]!.startupProbe?.httpGet?.path).toBe('/startupz');
    expect(pod.containers[0]!.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(JSON.stringify(pod)).not.toMatch(/runAsUser":0\b/);
    const os = await clawpod(['export', '-f', file, '--mode', 'persistent', '--openshift']);
    expect(os.stdout).not.toContain('runAsUser');
    const pm = await clawpod(['export', '-f', file, '--format', 'podman']);
    expect(pm.code).toBe(2);
    expect(pm.stderr).toContain('clawpod run openclaw --name alice');
  });

  it("seeds openclaw.json and the Secret's files as `clawpod run` does (the init step, run with real Node)", () => {
    const [loaded] = parseAgents(SPEC, 'alice.yaml');
    const sts = renderAgent(loaded!.agent, { mode: 'persistent' }).objects.find((o) => o.kind === 'StatefulSet') as IStatefulSet;
    const cmd = sts.spec!.template.spec!.initContainers![0]!.command!;
    const script = cmd[2]!;
    const d = join(dir, 'seed');
    mkdirSync(join(d, 'src-secrets'), { recursive: true });
    mkdirSync(join(d, 'secrets'));
    mkdirSync(join(d, 'src-secrets', '..data'));
    writeFileSync(join(d, 'src-secrets', 'gateway-token'), 'tok');
    writeFileSync(join(d, 'rendered.json'), JSON.stringify({ gateway: { port: 18789 }, models: { x: 1 } }));
    const dst = join(d, 'state', '.openclaw', 'openclaw.json');
    const seed = (mode: string) => spawnSync(process.execPath, ['-e', script, join(d, 'rendered.json'), dst, mode, join(d, 'src-secrets'), join(d, 'secrets')], { encoding: 'utf8' });
    let r = seed('merge');
    expect(r.stdout.trim(), r.stderr).toBe(`${dst}: created`);
    expect((statSync(join(d, 'secrets', 'gateway-token')).mode & 0o777).toString(8)).toBe('400');
    writeFileSync(dst, JSON.stringify({ gateway: { port: 1, bind: 'lan' }, mine: true }));
    r = seed('merge');
    expect(r.stdout.trim()).toBe(`${dst}: merged`);
    expect(JSON.parse(readFileSync(dst, 'utf8'))).toEqual({ gateway: { port: 18789, bind: 'lan' }, mine: true, models: { x: 1 } });
    expect(seed('seedOnly').stdout.trim()).toBe(`${dst}: kept (seedOnly)`);
    writeFileSync(dst, '{ not json');
    r = seed('merge');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('set spec.config.mode: overwrite');
    expect(seed('overwrite').stdout.trim()).toBe(`${dst}: overwritten`);
  });
});

describe('clawpod apply of an OpenClaw agent on a real node', () => {
  it('becomes Ready: config seeded by the init step, token read from the Secret, probes passing', async (t) => {
    if (skip) return t.skip(skip);
    const file = writeSpec(dir, 'alice.yaml', SPEC);
    const secret = kubectl('-n', ns, 'create', 'secret', 'generic', 'alice-secrets', '--from-literal=gateway-token=gw-token-in-the-cluster', '--from-literal=llm-token=cpgw_not_used_here');
    expect(secret.code, secret.stderr).toBe(0);
    const t0 = Date.now();
    const r = await cli(['apply', '-f', file, '-n', ns, '--mode', 'persistent', '--timeout', '6m']);
    const took = Date.now() - t0;
    expect(r.code, `${r.stdout}\n${r.stderr}\n${kubectl('-n', ns, 'describe', 'pod', 'alice-0').stdout}`).toBe(0);
    console.log(`clawpod apply of OpenClaw → Ready: ${took} ms`);
    const logs = kubectl('-n', ns, 'logs', 'alice-0', '-c', 'seed-config');
    expect(logs.stdout).toContain('/home/agent/.openclaw/openclaw.json: created');
    const cfg = await cli(['exec', '-n', ns, 'alice', '--', 'cat', '/home/agent/.openclaw/openclaw.json']);
    expect(JSON.parse(cfg.stdout)).toMatchObject({ gateway: { auth: { mode: 'token' } }, agents: { defaults: { model: { primary: 'clawpod/claude-sonnet-4-5' } } } });
    const who = await cli(['exec', '-n', ns, 'alice', '--', 'sh', '-c', 'id -u; stat -c %u:%a /run/secrets/gateway-token']);
    expect(who.stdout.trim().split('\n')).toEqual(['1000', '1000:400']);
    // the gateway answers with its token from the Secret, and refuses another
    const probe = (token: string) => cli(['exec', '-n', ns, 'alice', '--', 'node', '-e',
      `fetch('http://127.0.0.1:18789/v1/chat/completions',{method:'POST',headers:{authorization:'Bearer ${token}','content-type':'application/json'},body:'{}'}).then(r=>console.log(r.status))`]);
    expect((await probe('wrong')).stdout.trim()).toBe('401');
    expect((await probe('gw-token-in-the-cluster')).stdout.trim()).not.toBe('401');
    expect((await cli(['delete', 'alice', '-n', ns, '--volumes'])).code).toBe(0);
  }, 600_000);
});
