// NetworkPolicies really enforced on the harness node (kube-router, firewall only: scripts/
// kube-harness-netpol.sh, docs/kubernetes-harness.md "NetworkPolicy enforcement"). The policies are
// clawpod's own: two tenants rendered by renderTenant (src/fleet/kube-render.ts: default-deny,
// DNS, the gateway, HTTPS to public addresses, ingress from the ingress and gateway namespaces),
// applied with Pods carrying the payload's labels. A tenant's egress to a server on this machine
// fails while its egress to the gateway works; one tenant cannot reach the other; the gateway's
// namespace reaches both. The same connections are tried first without the enforcer (they
// succeed: the policies are only objects then), and a "control" Pod under no policy shows the
// targets still answer once it runs.
//
// spec.egress on the same enforced node: an agent rendered by renderAgent with its namespace's
// egress proxy (src/kube/egress.ts: the agent image's clawpod-egress, its NetworkPolicy) — through
// the proxy an allowlisted host (a server this test runs on this machine, pinned by
// spec.egress.hosts to the node IP, as the local proxy's tests pin theirs) answers; a denied name,
// a raw IP and the metadata address are refused, each an event in the proxy's log; a direct
// connection that bypasses the proxy is refused by the agent's NetworkPolicy. The harness has no
// kube-proxy and no CoreDNS, so the agent reaches the proxy at its Pod IP instead of the Service
// name its HTTPS_PROXY holds. CLAWPOD_TEST_EGRESS_IMAGE: an image to use instead of the agent image.
//
// Uses the run's shared node (test/helpers/kube.ts) and turns enforcement on for this file only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/fleet/load.js';
import { renderTenant, type TenantObject } from '../../src/fleet/kube-render.js';
import { EGRESS_PROXY } from '../../src/kube/egress.js';
import { GATEWAY } from '../../src/kube/network.js';
import { renderAgent } from '../../src/kube/render.js';
import type { INetworkPolicy } from '../../src/kube/types.js';
import { EgressSchema } from '../../src/spec/egress.js';
import { parseAgents } from '../../src/spec/parse.js';
import type { Agent } from '../../src/spec/schema.js';
import { IN_CI } from '../helpers/prereq.js';
import { kubectlBin, startKubeIn, type Kube } from '../helpers/kube.js';
import { buildEnforcer, enforcePolicies, eventually, fetchFrom, probePod, serveScript } from '../helpers/kube-netpol.js';

const id = process.pid.toString(36);
const GW_NS = `cpnp-gw-${id}`;
const EG_NS = `cpnp-eg-${id}`;
const AGENT_IMAGE = 'localhost/clawpod-agent:latest';
const EGRESS_IMAGE = process.env.CLAWPOD_TEST_EGRESS_IMAGE ?? AGENT_IMAGE;
const TENANTS = [`np${id}a`, `np${id}b`];
const FLEET = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: basic}
spec: {}
${TENANTS.map((t) => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${t}}
spec: {plan: basic, profile: {name: openclaw, version: "2026.9.6"}}
`).join('')}`;

let kube: Kube | undefined;
let skip = '';
let relax: (() => Promise<void>) | undefined;
let host: Server | undefined;
let hostUrl = '';
const rendered = new Map<string, TenantObject[]>();
const podIp = new Map<string, string>();
let payloadPort = 0;

function kubectl(args: string[], input?: string) {
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const apply = (objs: readonly unknown[]) => {
  const r = kubectl(['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'));
  expect(r.code, r.stderr).toBe(0);
};

beforeAll(async () => {
  const built = await buildEnforcer();
  if (built.code === 3) {
    const why = built.stderr.trim().split('\n').pop() ?? 'no enforcer';
    if (IN_CI) throw new Error(`prerequisite missing in CI: the NetworkPolicy enforcer (${why})`);
    skip = why;
    return;
  }
  expect(built.code, built.stderr.slice(-2000)).toBe(0);
  ({ kube, skip } = await startKubeIn(GW_NS, { nodes: true, images: [...new Set([AGENT_IMAGE, EGRESS_IMAGE])] }));
  if (!kube) return;
  if (!kube.nodeIp) { skip = 'no node IP from the harness'; return; }
  host = createServer((_q, s) => s.end('host')).listen(0, '0.0.0.0');
  await new Promise((r) => host!.once('listening', r));
  hostUrl = `http://${kube.nodeIp}:${(host.address() as AddressInfo).port}/`;

  const fleet = parseFleet(FLEET, 'fleet.yaml');
  const plan = fleet.plans[0]!;
  const opts = { gateway: { namespace: GW_NS, podLabels: { ...GATEWAY.pods }, port: GATEWAY.port } };
  for (const t of fleet.tenants) {
    const objs = renderTenant(t, plan, opts);
    rendered.set(t.metadata.name, objs);
    // the namespace and clawpod's policies as rendered; the payload itself replaced by a small server
    apply(objs.filter((o) => o.kind === 'Namespace' || o.kind === 'NetworkPolicy'));
  }
  const ingress = rendered.get(TENANTS[0]!)!.find((o): o is INetworkPolicy => o.kind === 'NetworkPolicy' && o.metadata?.name === 'allow-ingress')!;
  payloadPort = Number(ingress.spec!.ingress![0]!.ports![0]!.port);
  const pods = [
    ...TENANTS.map((t) => {
      const sts = rendered.get(t)!.find((o) => o.kind === 'StatefulSet') as { spec: { template: { metadata: { labels: Record<string, string> } } } };
      return probePod(`tenant-${t}`, 'payload', sts.spec.template.metadata.labels, serveScript(t, [payloadPort]));
    }),
    probePod(GW_NS, 'gateway', { ...GATEWAY.pods }, serveScript('gateway', [GATEWAY.port])),
  ];
  apply(pods);
  for (const p of pods as { metadata: { name: string; namespace: string } }[]) {
    const w = kubectl(['-n', p.metadata.namespace, 'wait', '--for=condition=Ready', `pod/${p.metadata.name}`, '--timeout=120s']);
    expect(w.code, w.stderr).toBe(0);
    podIp.set(p.metadata.namespace, kubectl(['-n', p.metadata.namespace, 'get', 'pod', p.metadata.name, '-o', 'jsonpath={.status.podIP}']).stdout.trim());
  }
}, 45 * 60_000);

afterAll(async () => {
  if (kube) kubectl(['delete', 'namespace', '--ignore-not-found', '--wait=false', EG_NS, ...TENANTS.map((t) => `tenant-${t}`)]);
  await relax?.();
  await kube?.stop();
  host?.close();
}, 180_000);

const ns = (i: number) => `tenant-${TENANTS[i]}`;
const url = (namespace: string, port: number) => `http://${podIp.get(namespace)}:${port}/`;

describe('clawpod\'s tenant NetworkPolicies, enforced', () => {
  it('without the enforcer they are only objects: a tenant reaches this machine and the other tenant', async (t) => {
    if (skip) return t.skip(skip);
    expect(await fetchFrom(kube!, ns(0), 'payload', hostUrl)).toBe('host');
    expect(await fetchFrom(kube!, ns(1), 'payload', url(ns(0), payloadPort))).toBe(TENANTS[0]);
    const t0 = Date.now();
    relax = await enforcePolicies(kube!);
    console.log(`kube-router on the shared node: ${Date.now() - t0} ms`);
  });

  it('the control: under no policy, the gateway\'s Pod reaches this machine and both tenants', async (t) => {
    if (skip) return t.skip(skip);
    expect(await fetchFrom(kube!, GW_NS, 'gateway', hostUrl)).toBe('host');
    // ingress from the gateway's namespace is allowed by allow-ingress
    expect(await fetchFrom(kube!, GW_NS, 'gateway', url(ns(0), payloadPort))).toBe(TENANTS[0]);
    expect(await fetchFrom(kube!, GW_NS, 'gateway', url(ns(1), payloadPort))).toBe(TENANTS[1]);
  });

  it('a tenant\'s egress: the gateway answers, a server on this machine does not', async (t) => {
    if (skip) return t.skip(skip);
    expect(await fetchFrom(kube!, ns(0), 'payload', url(GW_NS, GATEWAY.port))).toBe('gateway');
    const t0 = Date.now();
    // the policy takes effect once kube-router has synced the Pod: a moment after it is Ready
    const denied = await eventually(() => fetchFrom(kube!, ns(0), 'payload', hostUrl), (s) => s !== 'host');
    console.log(`tenant → this machine: ${denied} (denied ${Date.now() - t0} ms after the first try)`);
    expect(denied).toMatch(/^(ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH)$/);
    // and it stays denied, while allowed egress keeps working
    expect(await fetchFrom(kube!, ns(0), 'payload', hostUrl, 1500)).not.toBe('host');
    expect(await fetchFrom(kube!, ns(0), 'payload', url(GW_NS, GATEWAY.port))).toBe('gateway');
  });

  it('one tenant cannot reach another tenant\'s Pod, either way', async (t) => {
    if (skip) return t.skip(skip);
    const ab = await eventually(() => fetchFrom(kube!, ns(1), 'payload', url(ns(0), payloadPort)), (s) => s !== TENANTS[0]);
    expect(ab).toMatch(/^(ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH)$/);
    expect(await fetchFrom(kube!, ns(0), 'payload', url(ns(1), payloadPort), 1500)).toMatch(/^(ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH)$/);
    // the same Pods still answer the gateway's namespace
    expect(await fetchFrom(kube!, GW_NS, 'gateway', url(ns(0), payloadPort))).toBe(TENANTS[0]);
  });
});

// --- spec.egress: the namespace's proxy, the agent's policy enforced ------------------------------

/** From the agent's Pod, a request through the proxy at its Pod IP: "STATUS BODY", or the error code. */
function viaProxy(pod: string, proxyIp: string, target: string): Promise<string> {
  const js = `const r = require('http').get({ host: ${JSON.stringify(proxyIp)}, port: ${EGRESS_PROXY_PORT}, path: ${JSON.stringify(target)}, headers: { host: new URL(${JSON.stringify(target)}).host } }, (s) => { let b = ''; s.on('data', (d) => b += d); s.on('end', () => console.log(s.statusCode + ' ' + b.trim().slice(0, 200))); });
r.setTimeout(5000, () => { console.log('ETIMEDOUT'); process.exit(0); }); r.on('error', (e) => console.log(e.code || e.message));`;
  return new Promise((resolve, reject) => {
    execFile(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, '-n', EG_NS, 'exec', pod, '--', 'node', '-e', js], { encoding: 'utf8', timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(errOut || err.message)) : resolve(out.trim())));
  });
}
const EGRESS_PROXY_PORT = 3128;

describe('spec.egress on Kubernetes: the namespace\'s proxy, the agent\'s policy enforced', () => {
  let agentPod = '';
  let proxyIp = '';
  let port = 0;
  let eskip = '';

  beforeAll(async () => {
    if (skip) return;
    const has = spawnSync('podman', ['run', '--rm', '--entrypoint', 'test', EGRESS_IMAGE, '-f', '/opt/clawpod/bin/clawpod-egress'], { env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? `${process.cwd()}/.clawpod/containers.conf` } });
    if (has.status !== 0) {
      if (IN_CI) throw new Error(`${EGRESS_IMAGE} has no /opt/clawpod/bin/clawpod-egress: rebuild the agent image (node bin/clawpod.js image build)`);
      eskip = `${EGRESS_IMAGE} has no /opt/clawpod/bin/clawpod-egress yet (node bin/clawpod.js image build)`;
      return;
    }
    port = (host!.address() as AddressInfo).port;
    const parsed = parseAgents(`apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata: {name: egr}
spec: {image: ${EGRESS_IMAGE}, network: bridge, command: [node, -e, 'setInterval(() => {}, 1e9)'], resources: {cpu: 100m, memory: 128Mi}}
`, 'egr.yaml')[0]!.agent;
    const egress = EgressSchema.parse({ allow: [`allowed.clawpod.test:${port}`], hosts: { 'allowed.clawpod.test': kube!.nodeIp!, 'denied.clawpod.test': kube!.nodeIp! } });
    const agent = { ...parsed, spec: { ...parsed.spec, egress } } as Agent;
    expect(kubectl(['create', 'namespace', EG_NS]).code).toBe(0);
    apply(renderAgent(agent, { mode: 'persistent', namespace: EG_NS }).objects);
    const ready = kubectl(['-n', EG_NS, 'rollout', 'status', `deployment/${EGRESS_PROXY.name}`, '--timeout=120s']);
    expect(ready.code, `${ready.stderr}\n${kubectl(['-n', EG_NS, 'logs', `deployment/${EGRESS_PROXY.name}`]).stdout}`).toBe(0);
    expect(kubectl(['-n', EG_NS, 'rollout', 'status', 'statefulset/egr', '--timeout=120s']).code).toBe(0);
    agentPod = 'egr-0';
    proxyIp = kubectl(['-n', EG_NS, 'get', 'pods', '-l', `app.kubernetes.io/name=${EGRESS_PROXY.name}`, '-o', 'jsonpath={.items[0].status.podIP}']).stdout.trim();
  }, 300_000);

  it('an allowlisted host answers through the proxy', async (t) => {
    if (skip || eskip) return t.skip(skip || eskip);
    expect(await viaProxy(agentPod, proxyIp, `http://allowed.clawpod.test:${port}/`)).toBe('200 host');
  });

  it('a denied name, a raw IP and the metadata address are refused by the proxy, each an event', async (t) => {
    if (skip || eskip) return t.skip(skip || eskip);
    for (const target of [`http://denied.clawpod.test:${port}/`, `http://${kube!.nodeIp}:${port}/`, 'http://169.254.169.254/latest/meta-data/']) {
      const got = await viaProxy(agentPod, proxyIp, target);
      console.log(`via the proxy ${target}: ${got}`);
      expect(got, target).toMatch(/^4\d\d /);
    }
    const logs = kubectl(['-n', EG_NS, 'logs', `deployment/${EGRESS_PROXY.name}`]).stdout;
    for (const reason of ['not-allowed', 'ip-literal', 'metadata-address']) expect(logs, reason).toContain(reason);
  });

  it('a direct connection that bypasses the proxy is refused by the agent\'s NetworkPolicy', async (t) => {
    if (skip || eskip) return t.skip(skip || eskip);
    const direct = await eventually(() => fetchFrom(kube!, EG_NS, agentPod, hostUrl), (r) => r !== 'host');
    expect(direct).toMatch(/^(ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH)$/);
    // the proxy itself may go out: the same server answers it
    expect(await fetchFrom(kube!, EG_NS, kubectl(['-n', EG_NS, 'get', 'pods', '-l', `app.kubernetes.io/name=${EGRESS_PROXY.name}`, '-o', 'jsonpath={.items[0].metadata.name}']).stdout.trim(), hostUrl)).toBe('host');
  });

  it('a Pod of another namespace cannot borrow this namespace\'s proxy (and its allow list)', async (t) => {
    if (skip || eskip) return t.skip(skip || eskip);
    // the gateway's Pod is under no policy of its own: only the proxy's ingress rule stands in the way
    const js = `const r = require('http').get({ host: ${JSON.stringify(proxyIp)}, port: ${EGRESS_PROXY_PORT}, path: 'http://allowed.clawpod.test:${port}/', headers: { host: 'allowed.clawpod.test:${port}' } }, (s) => { s.resume(); console.log(s.statusCode); });
r.setTimeout(2500, () => { console.log('ETIMEDOUT'); process.exit(0); }); r.on('error', (e) => console.log(e.code));`;
    const got = await new Promise<string>((resolve, reject) => execFile(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, '-n', GW_NS, 'exec', 'gateway', '--', 'node', '-e', js], { encoding: 'utf8', timeout: 30_000 }, (err, out, e) => (err ? reject(new Error(e || err.message)) : resolve(out.trim()))));
    expect(got).toMatch(/^(ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH)$/);
  });
});
