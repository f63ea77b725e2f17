// The egress proxy attacked by a malicious agent: domain fronting (SNI ≠ CONNECT host), IP
// literals, names pinned to metadata and loopback addresses, absolute URIs to metadata, direct
// TCP past the proxy, request smuggling toward a credential host. And the credential itself: a
// GitHub-style canary the proxy adds for its host only, found nowhere inside the agent.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { bridgeGateway, inAgent, inStranger, podmanAsync, proxyEvents, upstream, type Upstream } from '../helpers/egress.js';

const execFileP = promisify(execFile);
const connects = (host: string, port: number) => new Promise<boolean>((r) => { const c = connect(port, host); c.on('connect', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });

const CANARY = `ghp_${randomBytes(18).toString('hex')}`;
const P = uniquePrefix('egs');
const NAME = `${P}a`;
let up: Upstream;
let gw: string;
let env: Record<string, string>;

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  up = await upstream(['allowed.egress.test', 'cred.egress.test', 'denied.egress.test']);
  gw = await bridgeGateway();
  const dir = tmpDir();
  writeFileSync(join(dir, 'upstream-ca.pem'), up.caPem);
  env = scratchEnv({ EG_CANARY: CANARY });
  const spec = writeSpec(dir, 'agent.yaml', agentYaml(NAME, `${IDLE_COMMAND}
network: bridge
egress:
  allow: ["allowed.egress.test:${up.port}", "cred.egress.test:${up.port}", "loop.egress.test:${up.port}", "meta.egress.test:${up.port}", "meta6.egress.test:${up.port}", "nat64.egress.test:${up.port}"]
  hosts: {allowed.egress.test: "${gw}", cred.egress.test: "${gw}", denied.egress.test: "${gw}", loop.egress.test: "127.0.0.1", meta.egress.test: "169.254.169.254", meta6.egress.test: "fd00:ec2::254", nat64.egress.test: "64:ff9b::a9fe:a9fe"}
  allowPrivate: true
  caFile: upstream-ca.pem
  credentials:
    - {host: cred.egress.test, port: ${up.port}, header: Authorization, format: "Bearer {}", source: env, secretRef: {name: EG_CANARY}}`));
  const r = await clawpod(['run', '-d', '-f', spec], { env, timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
}, 400_000);

afterAll(async () => {
  cleanup(P);
  await podmanAsync(['rm', '-f', '-t', '0', `clawpod-egress-${NAME}`]);
  await podmanAsync(['network', 'rm', '-f', `clawpod-egress-${NAME}`]);
  await up?.close();
});

describe('egress proxy under attack', () => {
  it('the credential is added for its host only, replacing what the agent sent', async () => {
    const cred = await inAgent(NAME, undefined, 'connect', `cred.egress.test:${up.port}`, 'cred.egress.test', '/cred', JSON.stringify({ Authorization: 'Bearer agent-made', authorization: 'token other' }));
    expect(cred, JSON.stringify(cred)).toMatchObject({ ok: true, status: 200 });
    const other = await inAgent(NAME, up.caPem, 'connect', `allowed.egress.test:${up.port}`, 'allowed.egress.test', '/other');
    expect(other).toMatchObject({ ok: true, status: 200 });
    const seenCred = up.seen.filter((s) => s.path === '/cred');
    expect(seenCred.map((s) => s.authorization)).toEqual([`Bearer ${CANARY}`]);
    expect(up.seen.filter((s) => s.path !== '/cred').every((s) => !JSON.stringify(s.headers).includes(CANARY))).toBe(true);
  }, 60_000);

  it('domain fronting, IP literals, metadata and loopback by name, absolute URIs to metadata are refused', async () => {
    const rs = await Promise.all([
      inAgent(NAME, up.caPem, 'connect', `allowed.egress.test:${up.port}`, 'denied.egress.test', '/front'),
      inAgent(NAME, undefined, 'connect', `cred.egress.test:${up.port}`, 'denied.egress.test', '/front-cred'),
      inAgent(NAME, up.caPem, 'connect', `${gw}:${up.port}`, 'allowed.egress.test', '/ip'),
      inAgent(NAME, up.caPem, 'connect', `[::ffff:${gw}]:${up.port}`, 'allowed.egress.test', '/ip6'),
      inAgent(NAME, up.caPem, 'connect', `2130706433:${up.port}`, 'allowed.egress.test', '/decimal'),
      inAgent(NAME, up.caPem, 'connect', `meta.egress.test:${up.port}`, 'meta.egress.test', '/meta'),
      inAgent(NAME, up.caPem, 'connect', `meta6.egress.test:${up.port}`, 'meta6.egress.test', '/meta6'),
      // 169.254.169.254 inside a NAT64 address
      inAgent(NAME, up.caPem, 'connect', `nat64.egress.test:${up.port}`, 'nat64.egress.test', '/nat64'),
      inAgent(NAME, up.caPem, 'connect', `loop.egress.test:${up.port}`, 'loop.egress.test', '/loop'),
      inAgent(NAME, undefined, 'http', 'http://169.254.169.254/latest/meta-data/'),
      inAgent(NAME, undefined, 'http', 'http://[fd00:ec2::254]/latest/meta-data/'),
      inAgent(NAME, undefined, 'http', `http://meta.egress.test:${up.port}/`),
    ]);
    for (const r of rs) expect(r.ok === false || r.status === 403, JSON.stringify(r)).toBe(true);
    expect(up.seen.some((s) => ['/front', '/front-cred', '/ip', '/ip6', '/decimal', '/meta', '/meta6', '/nat64', '/loop'].includes(s.path))).toBe(false);
    const reasons = (await proxyEvents(NAME)).filter((e) => e.type === 'egress.refused').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['sni-mismatch', 'ip-literal', 'metadata-address', 'loopback-address', 'not-allowed']));
  }, 60_000);

  it('no way around the proxy: direct TCP, DNS of any other name', async () => {
    const [host, internet, dns] = await Promise.all([
      inAgent(NAME, undefined, 'direct', `${gw}:${up.port}`),
      inAgent(NAME, undefined, 'direct', '1.1.1.1:443'),
      inAgent(NAME, undefined, 'dns', 'example.com'),
    ]);
    expect(host.ok, JSON.stringify(host)).toBe(false);
    expect(internet.ok, JSON.stringify(internet)).toBe(false);
    expect(dns).toMatchObject({ ok: false, error: 'ENOTFOUND' });
  }, 30_000);

  it('no way to the host through the agent\'s own bridge: its IPv4 gateway, its IPv6 link-local address', async () => {
    // a host service bound to :: (every address, IPv6 link-local included), as sshd or a dev server is
    const server = createServer((s) => { s.on('error', () => undefined); s.end('host service\n'); });
    await new Promise<void>((r) => server.listen(0, '::', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const net = `clawpod-egress-${NAME}`;
      const iface = (await podmanAsync(['network', 'inspect', net, '--format', '{{.NetworkInterface}}'])).stdout.trim();
      const subnet = (await podmanAsync(['network', 'inspect', net, '--format', '{{range .Subnets}}{{.Subnet}}{{end}}'])).stdout.trim();
      const lls = (await execFileP('ip', ['-6', '-o', 'addr', 'show', 'dev', iface])).stdout.match(/fe80::[0-9a-f:]+/g) ?? [];
      const v4gw = subnet.replace(/\.\d+\/\d+$/, '.1');
      const tries = await Promise.all([v4gw, ...lls.map((a) => `[${a}%eth0]`)].map((h) => inAgent(NAME, undefined, 'direct', `${h}:${port}`)));
      for (const t of tries) expect(t.ok, JSON.stringify(t)).toBe(false);
      // the agent's interface carries no IPv6 at all (lo keeps ::1)
      const inet6 = (await podmanAsync(['exec', NAME, 'cat', '/proc/net/if_inet6'])).stdout;
      expect(inet6).not.toMatch(/\seth0$/m);
      // the control: the same service answers on that link-local address from the host side
      for (const a of lls) expect(await connects(`${a}%${iface}`, port), a).toBe(true);
    } finally { server.close(); }
  }, 30_000);

  it('a container on the network the proxy goes out by cannot use it (its allow list, its credential)', async () => {
    const ip = (await podmanAsync(['inspect', `clawpod-egress-${NAME}`, '--format', '{{(index .NetworkSettings.Networks "podman").IPAddress}}'])).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const before = up.seen.length;
    const r = await inStranger('podman', `http://${ip}:3128`, 'connect', `cred.egress.test:${up.port}`, 'cred.egress.test', '/stranger');
    expect(r, JSON.stringify(r)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(up.seen.slice(before)).toEqual([]);
  }, 60_000);

  it('request smuggling toward the credential host is refused, and nothing reaches it with the key', async () => {
    const before = up.seen.length;
    const [both, absolute, plain] = await Promise.all([
      inAgent(NAME, undefined, 'raw', `cred.egress.test:${up.port}`, 'POST /s1 HTTP/1.1\\r\\nHost: cred.egress.test\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /smuggled HTTP/1.1\\r\\nHost: cred.egress.test\\r\\n\\r\\n'),
      inAgent(NAME, undefined, 'raw', `cred.egress.test:${up.port}`, 'GET https://denied.egress.test/abs HTTP/1.1\\r\\nHost: denied.egress.test\\r\\nConnection: close\\r\\n\\r\\n'),
      // no TLS to a credential host: nothing to terminate, nothing forwarded
      inAgent(NAME, undefined, 'plain', `cred.egress.test:${up.port}`, 'GET / HTTP/1.1\r\nHost: cred.egress.test\r\n\r\n'),
    ]);
    expect(both.ok === false || both.status === 400, JSON.stringify(both)).toBe(true);
    expect(absolute.status, JSON.stringify(absolute)).toBe(400);
    expect(plain.ok, JSON.stringify(plain)).toBe(false);
    expect(up.seen.slice(before).map((s) => s.path)).toEqual([]);
  }, 30_000);

  it('the canary is nowhere inside the agent, nor in what inspect shows', async () => {
    const scan = await podmanAsync(['exec', NAME, 'sh', '-c', 'env; cat /proc/*/environ 2>/dev/null; ls -laR /run /etc/clawpod 2>&1; grep -rl ghp_ / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; echo scanned']);
    expect(scan.stdout).toContain('scanned');
    expect(scan.stdout).toContain('HTTPS_PROXY=http://');
    expect(scan.stdout).not.toContain(CANARY);
    for (const c of [NAME, `clawpod-egress-${NAME}`]) {
      const i = await podmanAsync(['inspect', c]);
      expect(i.code).toBe(0);
      expect(i.stdout).not.toContain(CANARY);
    }
    const logs = await podmanAsync(['logs', `clawpod-egress-${NAME}`]);
    expect(logs.stdout + logs.stderr).not.toContain(CANARY);
    const ins = await clawpod(['inspect', NAME], { env });
    expect(ins.stdout + ins.stderr).not.toContain(CANARY);
  }, 60_000);
});
