// The egress proxy's pure parts: spec.egress validation, address policy, SNI peeking, the config it is given.
import { connect } from 'node:tls';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AgentSchema } from '../../src/spec/schema.js';
import { EgressSchema, parseAllowPattern } from '../../src/spec/egress.js';
import { tame } from '../../src/egress/host-events.js';
import { addressRefusal, AllowList } from '../../src/egress/policy.js';
import { peekClientHello } from '../../src/egress/sni.js';
import { egressConfig, EgressConfigSchema } from '../../src/egress/config.js';
import { forwardHeaders } from '../../src/egress/terminate.js';

const issues = (v: unknown) => { const r = EgressSchema.safeParse(v); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };

describe('spec.egress', () => {
  it('accepts host:port and *.suffix:port, and refuses what it cannot check, saying the fix', () => {
    expect(issues({ allow: ['api.github.com:443', '*.example.com:443'] })).toEqual([]);
    expect(issues({ allow: ['api.github.com'] })[0]).toMatch(/^allow\.0: expected "host:port" with the port written out, e\.g\. "api\.github\.com:443"/);
    expect(issues({ allow: ['1.2.3.4:443'] })[0]).toMatch(/not an IP address/);
    expect(issues({ allow: ['[::1]:443'] })[0]).toMatch(/not an IP address/);
    expect(issues({ allow: ['*:443'] })[0]).toMatch(/DNS name|wildcard/);
    expect(issues({ allow: ['api*.x.com:443'] })[0]).toMatch(/wildcard only as the whole first label/);
    expect(issues({ allow: ['x.com:70000'] })[0]).toMatch(/port between 1 and 65535/);
  });

  it('a credential host must be allowed on its port', () => {
    const c = { host: 'api.github.com', header: 'Authorization', secretRef: { name: 'GH' } };
    expect(issues({ allow: ['api.github.com:443'], credentials: [c] })).toEqual([]);
    expect(issues({ allow: ['*.github.com:443'], credentials: [c] })).toEqual([]);
    expect(issues({ allow: ['github.com:443'], credentials: [c] })).toEqual(['credentials.0.host: expected a host that spec.egress.allow allows: add "api.github.com:443" to spec.egress.allow']);
    expect(issues({ allow: ['api.github.com:443'], credentials: [{ ...c, header: 'Host' }] })[0]).toMatch(/other than Host/);
    expect(issues({ allow: ['api.github.com:443'], credentials: [{ ...c, format: 'Bearer' }] })[0]).toMatch(/exactly one "\{\}"/);
  });

  it('needs network: bridge', () => {
    const r = AgentSchema.safeParse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec: { egress: { allow: ['x.com:443'] } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['spec', 'network']);
  });

  it('is refused under gVisor, whose runsc ignores the sysctl that keeps the agent off the host\'s IPv6 link-local address', () => {
    const r = AgentSchema.safeParse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec: { network: 'bridge', isolation: 'gvisor', egress: { allow: ['x.com:443'] } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([expect.stringMatching(/^spec\.isolation: expected runc or microvm with spec\.egress/)]);
  });
});

describe('what the host shows of agent-chosen strings', () => {
  it('escapes control characters and cuts long ones', () => {
    expect(tame('evil\u001b[2Jname\r')).toBe('evil\\x1b[2Jname\\x0d');
    expect(tame('a'.repeat(300))).toBe(`${'a'.repeat(256)}…`);
    expect(tame(undefined)).toBeUndefined();
  });
});

describe('policy', () => {
  it('metadata, loopback and link-local are always refused; private ranges unless allowed', () => {
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254']) expect(addressRefusal(a, true)).toBe('metadata-address');
    for (const a of ['127.0.0.1', '::1', '0.0.0.0', '::ffff:127.0.0.1']) expect(addressRefusal(a, true)).toBe('loopback-address');
    for (const a of ['169.254.1.1', 'fe80::1']) expect(addressRefusal(a, true)).toBe('link-local-address');
    for (const a of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd12::1']) {
      expect(addressRefusal(a, false)).toBe('private-address');
      expect(addressRefusal(a, true)).toBeUndefined();
    }
    expect(addressRefusal('140.82.112.5', false)).toBeUndefined();
  });

  it('IPv6 forms that carry an IPv4 address are checked as that address too (mapped in hex, NAT64, 6to4, Teredo, compatible)', () => {
    for (const a of ['::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '64:ff9b:1:a9fe:a9:fe00::', '2002:a9fe:a9fe::1']) expect(addressRefusal(a, true)).toBe('metadata-address');
    // the /48 layout's address is not in the last 32 bits: 8.8.8.8 there is only the suffix
    expect(addressRefusal('64:ff9b:1:a9fe:a9:fe00:808:808', true)).toBe('metadata-address');
    for (const a of ['2002:7f00:1::1', '::127.0.0.1', '64:ff9b::7f00:1']) expect(addressRefusal(a, true)).toBe('loopback-address');
    for (const a of ['64:ff9b::10.0.0.1', '2002:0a00:0001::', '2001:0:4136:e378:8000:63bf:f5ff:fffe']) {
      expect(addressRefusal(a, false)).toBe('private-address');
      expect(addressRefusal(a, true)).toBeUndefined();
    }
    for (const a of ['2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) expect(addressRefusal(a, false)).toBeUndefined();
    expect(new AllowList(['x.test:443']).refusal('64:ff9b::a9fe:a9fe', 443)).toBe('metadata-address');
  });

  it('names match exactly or below a wildcard, on the listed port; IP literals never', () => {
    const l = new AllowList(['api.github.com:443', '*.example.com:443']);
    expect(l.refusal('API.GitHub.com.', 443)).toBeUndefined();
    expect(l.refusal('a.b.example.com', 443)).toBeUndefined();
    expect(l.refusal('example.com', 443)).toBe('not-allowed');
    expect(l.refusal('evilexample.com', 443)).toBe('not-allowed');
    expect(l.refusal('api.github.com', 80)).toBe('not-allowed');
    expect(l.refusal('140.82.112.5', 443)).toBe('ip-literal');
    expect(l.refusal('[fd00:ec2::254]', 80)).toBe('metadata-address');
    expect(l.allowsName('x.example.com')).toBe(true);
    expect(l.allowsName('github.com')).toBe(false);
  });
});

/** The ClientHello Node's TLS client sends for `servername`, captured by a plain TCP server. */
async function helloFor(servername: string | undefined): Promise<Buffer> {
  return new Promise((resolve) => {
    const srv = createServer((s) => { s.once('data', (d: Buffer) => { resolve(d); s.destroy(); srv.close(); }); });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
      c.on('error', () => undefined);
    });
  });
}

describe('SNI peek', () => {
  it('reads the server name of a real ClientHello, and needs more bytes of a partial one', async () => {
    const h = await helloFor('api.github.com');
    expect(peekClientHello(h)).toEqual({ kind: 'hello', serverName: 'api.github.com' });
    expect(peekClientHello(h.subarray(0, 20))).toEqual({ kind: 'need-more' });
    expect(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
  });

  it('a hello whose lengths lie is not a hello', async () => {
    const h = Buffer.from(await helloFor('api.github.com'));
    h.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + h[5 + 4 + 2 + 32]!); // cipher suites length past the end
    expect(peekClientHello(h).kind).toBe('not-tls');
  });
});

describe('proxy config', () => {
  it('names files for secrets, never values; leaf certificates issued host-side by default', () => {
    const spec = EgressSchema.parse({ allow: ['api.github.com:443'], credentials: [{ host: 'api.github.com', header: 'Authorization', format: 'Bearer {}', secretRef: { name: 'GH' } }] });
    const c = egressConfig(spec, { agent: 'a' });
    expect(EgressConfigSchema.parse(c)).toEqual(c);
    expect(c.credentials[0]).toMatchObject({ valueFile: '/run/clawpod-egress/credential-0', certFile: '/run/clawpod-egress/leaf-0.crt', keyFile: '/run/clawpod-egress/leaf-0.key' });
    expect(c.ca).toEqual({ certFile: '/run/clawpod-egress/ca.crt' });
    expect(c.listen).toEqual({ host: '0.0.0.0', httpPort: 3128, dnsPort: 53, metricsPort: 9153 });
    expect(egressConfig(spec, { agent: 'a', caKeyInProxy: true }).ca?.keyFile).toBe('/run/clawpod-egress/ca.key');
  });

  it('the forwarded headers carry the credential once, whatever the agent sent', () => {
    const h = forwardHeaders({ authorization: 'Bearer agent', host: 'evil.com', connection: 'x-drop, keep-alive', 'x-drop': '1', 'x-keep': '2' }, { host: 'api.github.com', port: 443, header: 'Authorization', value: 'Bearer T' });
    expect(h).toEqual({ host: 'api.github.com', authorization: 'Bearer T', 'x-keep': '2' });
  });

  it('keeps the request\'s framing, so a body cannot reach the upstream as a request of its own', () => {
    const route = { host: 'api.github.com', port: 443, header: 'Authorization', value: 'Bearer T' };
    expect(forwardHeaders({ 'content-length': '400', connection: 'content-length, host, authorization' }, route))
      .toEqual({ 'content-length': '400', host: 'api.github.com', authorization: 'Bearer T' });
    expect(forwardHeaders({ 'transfer-encoding': 'chunked', connection: 'transfer-encoding' }, route))
      .toEqual({ 'transfer-encoding': 'chunked', host: 'api.github.com', authorization: 'Bearer T' });
  });
});

describe('parseAllowPattern', () => {
  it('lower-cases', () => { expect(parseAllowPattern('API.GitHub.com:443')).toEqual({ ok: true, rule: { host: 'api.github.com', wildcard: false, port: 443 } }); });
});
