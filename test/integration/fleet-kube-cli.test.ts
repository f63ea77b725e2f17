// The fleet verbs against the harness cluster (real kube-apiserver, scheduler, kubelet on
// containerd), as a user types them: a plan and 10 runner tenants from one file in one command,
// `tenant ls --kube`, a fleet upgrade whose canary is alive but cannot chat (rolled back, the
// rollout halted), the good upgrade 5 at a time, and a delete that takes the tenant's namespace.
// Ten tenants, more than the apply's concurrency and the upgrade's batch, so both queue: what is
// tested is the verbs, not the scale (bench/ measures that); 20 cost a minute more on 2 cores.
// The model path is real: each Pod holds a token clawpod's control plane issued for its tenant's
// group, and calls the gateway on this machine, which calls a scripted model.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { BROKEN_ENTRY, deriveImage, RUNNER_IMAGE as BASE } from '../fixtures/payload-images.js';
import { clawpod, podman, uniquePrefix, type CliResult } from '../helpers/cli.js';
import { lastUserText, startPlane, type Plane } from '../helpers/control.js';
import { kubectlBin, startKubeIn, type Kube } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const P = uniquePrefix('fc');
const N = 10;
const BATCH = 5; // the apply's concurrency and the good upgrade's --max-unavailable: N / 2, so each queues
const names = Array.from({ length: N }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
const tag = (v: string) => `localhost/clawpod-agent:${P}-${v}`;
const GW_NS = `fleetcli-${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'clawpod-fc-'));
let kube: Kube | undefined;
let skip = '';
let model: ModelServer | undefined;
let plane: Plane | undefined;
let gwPort = 0;

const FLEET = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: small}
spec:
  resources: {cpu: 75m, memory: 128Mi}
  volumes: {state: 1Gi, appData: 1Gi}
  storageClass: local
  models: [fix]
${names.map((n) => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${n}}
spec: {plan: small, profile: {name: runner, version: ${P}-v1}}
`).join('')}`;

function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}
const cli = (args: string[], timeoutMs = 900_000): Promise<CliResult> => clawpod(args, { env: { ...plane!.env, KUBECONFIG: kube!.kubeconfig }, timeoutMs });
const ok = (r: CliResult) => { expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0); return r; };
const kubectl = (...args: string[]) => spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
const imageOf = (n: string) => kubectl('-n', `tenant-${n}`, 'get', 'statefulset', `tenant-${n}`, '-o', 'jsonpath={.spec.template.spec.containers[0].image}').stdout;
const kubeFlags = () => ['--kube', '--gateway-url', `http://${kube!.nodeIp}:${gwPort}`, '--gateway-namespace', GW_NS];

beforeAll(async () => {
  if (podman(['image', 'exists', BASE]).code !== 0) { skip = `${BASE} is missing (./scripts/setup.sh builds it)`; return; }
  for (const v of ['v1', 'v2']) expect(podman(['tag', BASE, tag(v)]).code).toBe(0);
  deriveImage(tag('v3'), BROKEN_ENTRY);
  model = await startModelServer((req) => ({ text: `echo: ${lastUserText(req)}` }));
  gwPort = await freePort();
  plane = await startPlane([
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', `  gateway: {listen: "0.0.0.0:${gwPort}"}`, '  models:',
    `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  ].join('\n'));
  ({ kube, skip } = await startKubeIn(GW_NS, { nodes: true, images: [tag('v1'), tag('v2'), tag('v3')], pvs: 2 * N + 4 }));
  writeFileSync(join(dir, 'fleet.yaml'), FLEET);
}, 45 * 60_000);

afterAll(async () => {
  await kube?.stop();
  await plane?.stop();
  await model?.close();
  for (const v of ['v1', 'v2', 'v3']) podman(['rmi', '-f', tag(v)]);
}, 120_000);

describe('fleet verbs on the harness cluster', () => {
  it(`applies a plan and ${N} tenants from one file; tenant ls --kube shows them Ready`, async (t) => {
    if (skip) return missing(t, skip);
    const t0 = Date.now();
    const r = ok(await cli(['tenant', 'apply', '-f', join(dir, 'fleet.yaml'), '--concurrency', String(BATCH), ...kubeFlags()]));
    console.log(`${N} tenants applied and Ready through the CLI in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.stdout).toContain(`${N} tenants: ${N} ready, 0 failed`);
    const ls = JSON.parse(ok(await cli(['--json', 'tenant', 'ls', '--kube'])).stdout) as { name: string; phase: string; version: string }[];
    expect(ls.map((s) => s.name).sort()).toEqual(names);
    expect(new Set(ls.map((s) => s.phase))).toEqual(new Set(['Ready']));
    expect(new Set(ls.map((s) => s.version))).toEqual(new Set([`${P}-v1`]));
    // the token each Pod holds is the control plane's, for its own group
    const groups = JSON.parse(ok(await cli(['--json', 'group', 'ls'])).stdout) as { name: string }[];
    expect(groups.map((g) => g.name).sort()).toEqual(names.map((n) => `tenant-${n}`));
  }, 900_000);

  it('halts the fleet upgrade at a canary that is Ready but cannot chat, and rolls it back', async (t) => {
    if (skip) return missing(t, skip);
    const r = await cli(['fleet', 'upgrade', '-f', join(dir, 'fleet.yaml'), '--version', `${P}-v3`, '--max-unavailable', '5', '--timeout', '3m', ...kubeFlags()]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(7);
    expect(r.stderr).toMatch(/ROLLOUT_HALTED.*halted at tenant c01.*answered 500/s);
    expect(imageOf('c01')).toBe(tag('v1'));
    expect(imageOf('c02')).toBe(tag('v1'));
  }, 600_000);

  it(`upgrades all ${N} tenants ${BATCH} at a time, each gated on readiness and a chat round trip`, async (t) => {
    if (skip) return missing(t, skip);
    const t0 = Date.now();
    const r = ok(await cli(['fleet', 'upgrade', '-f', join(dir, 'fleet.yaml'), '--version', `${P}-v2`, '--max-unavailable', String(BATCH), '--timeout', '3m', ...kubeFlags()]));
    console.log(`fleet upgrade of ${N} tenants on the harness: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${r.stdout}`);
    expect(r.stdout).toContain(`rollout to ${P}-v2: done, ${N} of ${N} upgraded`);
    for (const n of names) expect(imageOf(n)).toBe(tag('v2'));
  }, 900_000);

  it('deletes a tenant: its namespace and everything in it go', async (t) => {
    if (skip) return missing(t, skip);
    ok(await cli(['tenant', 'delete', '--kube', names[N - 1]!]));
    expect(kubectl('get', 'namespace', `tenant-${names[N - 1]}`).status).not.toBe(0);
    const left = kubectl('get', 'all,pvc,secret,configmap,networkpolicy,role,rolebinding,resourcequota,limitrange', '-A', '-l', `clawpod.dev/tenant=${names[N - 1]}`, '-o', 'name');
    expect(left.stdout.trim()).toBe('');
    const ls = JSON.parse(ok(await cli(['--json', 'tenant', 'ls', '--kube'])).stdout) as { name: string }[];
    expect(ls.map((s) => s.name)).not.toContain(names[N - 1]);
  }, 300_000);
});
