// spec.egress with real containers: an agent behind its egress proxy reaches an allowed host (an
// HTTPS server this test runs on the host, its names pinned with spec.egress.hosts to the Podman
// bridge's gateway), and not a denied host, a raw IP, a metadata address or a denied DNS name;
// refusals are events and counted; rm takes the proxy and its network. Credentials are in
// test/security/egress.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type Plane } from '../helpers/control.js';
import { bridgeGateway, inAgent, podmanAsync, proxyEvents, upstream, type Upstream } from '../helpers/egress.js';

const P = uniquePrefix('eg');
const NAME = `${P}a`;
let up: Upstream;
let gw: string;
let env: Record<string, string>;
let model: ModelServer;
// `clawpod serve` looks after the agent: it copies the proxy's refusals into its lifecycle events
let plane: Plane;

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  up = await upstream(['allowed.egress.test', 'denied.egress.test']);
  gw = await bridgeGateway();
  const dir = tmpDir();
  writeFileSync(join(dir, 'upstream-ca.pem'), up.caPem);
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [`${P}-g`], extra: '  lifecycle: {interval: 250ms}' }));
  env = plane.env;
  const spec = writeSpec(dir, 'agent.yaml', agentYaml(NAME, `${IDLE_COMMAND}
network: bridge
egress:
  allow: ["allowed.egress.test:${up.port}", "meta.egress.test:${up.port}"]
  # the test server is on the host: its names are pinned to the bridge gateway, a private address
  hosts: {allowed.egress.test: "${gw}", denied.egress.test: "${gw}", meta.egress.test: "169.254.169.254"}
  allowPrivate: true
  caFile: upstream-ca.pem`));
  const r = await clawpod(['run', '-d', '-f', spec], { env, timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
}, 400_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
  // proxies and networks of the agent and of the pool's members, whatever a failed case left
  const mine = (out: string) => out.split('\n').filter((n) => n.startsWith(`clawpod-egress-${P}`));
  const proxies = mine((await podmanAsync(['ps', '-a', '--format', '{{.Names}}'])).stdout);
  if (proxies.length) await podmanAsync(['rm', '-f', '-t', '0', ...proxies]);
  const nets = mine((await podmanAsync(['network', 'ls', '--format', '{{.Name}}'])).stdout);
  if (nets.length) await podmanAsync(['network', 'rm', '-f', ...nets]);
  await up?.close();
});

describe('egress allowlist (local, Podman)', () => {
  it('an allowed host answers through the proxy; denied host, raw IP, metadata and a denied DNS name fail', async () => {
    const ok = await inAgent(NAME, up.caPem, 'connect', `allowed.egress.test:${up.port}`, 'allowed.egress.test', '/');
    expect(ok, JSON.stringify(ok)).toMatchObject({ ok: true, status: 200 });
    expect(ok.body).toContain('hello from upstream');

    const [denied, rawIp, meta, metaByName, dnsDenied, dnsAllowed, wrongPort] = await Promise.all([
      inAgent(NAME, up.caPem, 'connect', `denied.egress.test:${up.port}`, 'denied.egress.test', '/'),
      inAgent(NAME, up.caPem, 'connect', `${gw}:${up.port}`, 'allowed.egress.test', '/'),
      inAgent(NAME, up.caPem, 'http', 'http://169.254.169.254/latest/meta-data/'),
      inAgent(NAME, up.caPem, 'connect', `meta.egress.test:${up.port}`, 'meta.egress.test', '/'),
      inAgent(NAME, up.caPem, 'dns', 'denied.egress.test'),
      inAgent(NAME, up.caPem, 'dns', 'allowed.egress.test'),
      inAgent(NAME, up.caPem, 'connect', 'allowed.egress.test:443', 'allowed.egress.test', '/'),
    ]);
    expect(denied).toMatchObject({ ok: false, status: 403 });
    expect(rawIp).toMatchObject({ ok: false, status: 403 });
    expect(meta).toMatchObject({ status: 403 });
    expect(metaByName).toMatchObject({ ok: false, status: 403 });
    expect(dnsDenied).toMatchObject({ ok: false, error: 'ENOTFOUND' });
    expect(dnsAllowed).toMatchObject({ ok: true, addrs: [{ address: gw, family: 4 }] });
    expect(wrongPort).toMatchObject({ ok: false, status: 403 });
    // nothing but the allowed request reached the server
    expect(up.seen.map((s) => s.host)).toEqual(['allowed.egress.test']);
  }, 60_000);

  it('every refusal is an event and a counter', async () => {
    const events = await proxyEvents(NAME);
    const reasons = events.filter((e) => e.type === 'egress.refused').map((e) => `${e.reason} ${e.target}`);
    expect(reasons).toEqual(expect.arrayContaining([
      `not-allowed denied.egress.test:${up.port}`, `ip-literal ${gw}:${up.port}`, 'metadata-address 169.254.169.254:80',
      `metadata-address meta.egress.test:${up.port}`, 'dns-denied denied.egress.test', 'not-allowed allowed.egress.test:443',
    ]));
    // the metrics endpoint, on the proxy's address in the agent's network (the only one it listens on)
    const ip = (await podmanAsync(['inspect', `clawpod-egress-${NAME}`, '--format', `{{(index .NetworkSettings.Networks "clawpod-egress-${NAME}").IPAddress}}`])).stdout.trim();
    const m = await podmanAsync(['exec', `clawpod-egress-${NAME}`, 'node', '-e', `fetch('http://${ip}:9153/metrics').then((r) => r.text()).then((t) => console.log(t))`]);
    expect(m.stdout, m.stdout).toMatch(/clawpod_egress_refused_total\{reason="not-allowed",via="CONNECT"\} 2/);
    expect(m.stdout).toMatch(/clawpod_egress_refused_total\{reason="dns-denied",via="DNS"\} [1-9]/);
  }, 30_000);

  it('refusals reach clawpod: `clawpod logs --egress` prints them, `clawpod serve` records each once as a lifecycle event', async () => {
    const inLog = (await proxyEvents(NAME)).filter((e) => e.type === 'egress.refused');
    const text = await clawpod(['logs', NAME, '--egress'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`refused {2}not-allowed {2}CONNECT {2}denied\\.egress\\.test:${up.port}`));
    const json = await clawpod(['logs', NAME, '--egress', '--json'], { env });
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; agent: string });
    expect(lines.filter((e) => e.type === 'egress.refused')).toHaveLength(inLog.length);
    expect(new Set(lines.map((e) => e.agent))).toEqual(new Set([NAME]));
    type Ev = { type: string; data: { reason?: string; target?: string } };
    const recorded = async () => (await plane.client.call<Ev[]>('GET', `/v1/lifecycle/events?agent=${NAME}`)).filter((e) => e.type === 'egress_refused');
    await waitFor('refusals in the lifecycle events', async () => (await recorded()).length >= inLog.length, 15_000);
    // a few more passes copy nothing twice; a new refusal is copied once
    await new Promise((r) => setTimeout(r, 1000));
    expect((await recorded()).map((e) => `${e.data.reason} ${e.data.target}`).sort()).toEqual(inLog.map((e) => `${e.reason} ${e.target}`).sort());
    expect(await inAgent(NAME, up.caPem, 'connect', `late.egress.test:${up.port}`, 'late.egress.test', '/')).toMatchObject({ status: 403 });
    await waitFor('the new refusal', async () => (await recorded()).some((e) => e.data.target === `late.egress.test:${up.port}`), 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await recorded()).filter((e) => e.data.target === `late.egress.test:${up.port}`)).toHaveLength(1);
    const none = await clawpod(['logs', `${P}nobody`, '--egress'], { env });
    expect(none.code).not.toBe(0);

    // a flood: at most 20 copied per pass, the rest one egress_refused_dropped event with their count
    type Any = { seq: number; type: string; data: { target?: string; count?: number } };
    const after = Math.max(...(await plane.client.call<Any[]>('GET', `/v1/lifecycle/events?agent=${NAME}`)).map((e) => e.seq));
    const flood = await podmanAsync(['exec', NAME, 'node', '-e', "const d = require('node:dns'); Promise.all(Array.from({ length: 100 }, (_, i) => new Promise((r) => d.lookup('flood-' + i + '.egress.test', () => r())))).then(() => console.log('sent'))"]);
    expect(flood.stdout).toContain('sent');
    const tally = async () => {
      const es = (await plane.client.call<Any[]>('GET', `/v1/lifecycle/events?agent=${NAME}&after=${after}`));
      const copied = es.filter((e) => e.type === 'egress_refused' && e.data.target?.startsWith('flood-')).length;
      const dropped = es.filter((e) => e.type === 'egress_refused_dropped').reduce((n, e) => n + (e.data.count ?? 0), 0);
      return { copied, dropped };
    };
    // each lookup may be asked for A and AAAA (and retried): count what the proxy logged
    const logged = (await proxyEvents(NAME)).filter((e) => e.type === 'egress.refused' && e.target?.startsWith('flood-')).length;
    expect(logged).toBeGreaterThanOrEqual(100);
    await waitFor('the flood accounted for', async () => { const t = await tally(); return t.copied + t.dropped >= logged ? true : undefined; }, 15_000);
    const t = await tally();
    expect(t.copied + t.dropped).toBe(logged);
    expect(t.dropped).toBeGreaterThan(0);
  }, 60_000);

  it('a warm pool of an egress spec: the claimed instance keeps its member\'s proxy, rm and pool rm remove theirs; credentials cannot be pooled', async () => {
    const dir = tmpDir();
    writeFileSync(join(dir, 'upstream-ca.pem'), up.caPem);
    const pool = `${P}p`;
    const egress = `egress:\n  allow: ["allowed.egress.test:${up.port}"]\n  hosts: {allowed.egress.test: "${gw}"}\n  allowPrivate: true\n  caFile: upstream-ca.pem`;
    const f = writeSpec(dir, 'pool.yaml', agentYaml(pool, `${IDLE_COMMAND}\nnetwork: bridge\n${egress}`));
    const cli = (...a: string[]) => clawpod(a, { env, timeoutMs: 180_000 });
    const proxies = async () => (await podmanAsync(['ps', '-a', '--filter', `label=dev.clawpod.egress-of`, '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.startsWith(`clawpod-egress-${pool}`)).sort();
    const fill = await cli('pool', 'fill', '--spec', f, '--size', '1');
    expect(fill.code, fill.stderr).toBe(0);
    const [member] = await proxies();
    expect(member).toMatch(new RegExp(`^clawpod-egress-${pool}-pool-[0-9a-f]{6}$`));
    const claim = await cli('--json', 'run', '-d', '-f', f);
    expect(claim.code, claim.stderr).toBe(0);
    expect(claim.stdout).toContain(member!.slice('clawpod-egress-'.length));
    // the instance reaches the allowed host through the proxy it was made with
    const via = await inAgent(pool, up.caPem, 'connect', `allowed.egress.test:${up.port}`, 'allowed.egress.test', '/');
    expect(via, JSON.stringify(via)).toMatchObject({ ok: true, status: 200 });
    const rm = await cli('rm', '-f', pool);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await podmanAsync(['container', 'exists', member!])).code).toBe(1);
    expect((await podmanAsync(['network', 'exists', member!])).code).toBe(1);
    // the refill's member and its proxy go with the pool
    await waitFor('the refill', async () => ((await proxies()).length === 1 ? true : undefined), 60_000);
    const prm = await cli('pool', 'rm', pool);
    expect(prm.code, prm.stderr).toBe(0);
    expect(await proxies()).toEqual([]);
    const withCreds = writeSpec(dir, 'creds.yaml', agentYaml(`${P}c`, `${IDLE_COMMAND}\nnetwork: bridge\n${egress}\n  credentials: [{host: allowed.egress.test, header: Authorization, source: env, secretRef: {name: HOME}}]`));
    const refused = await cli('pool', 'fill', '--spec', withCreds, '--size', '1');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('spec.egress.credentials');
    expect(await proxies()).toEqual([]);
  }, 150_000);

  it('rm removes the proxy and its network', async () => {
    const r = await clawpod(['rm', '-f', NAME], { env });
    expect(r.code, r.stderr).toBe(0);
    expect((await podmanAsync(['container', 'exists', `clawpod-egress-${NAME}`])).code).toBe(1);
    expect((await podmanAsync(['network', 'exists', `clawpod-egress-${NAME}`])).code).toBe(1);
  }, 30_000);
});
