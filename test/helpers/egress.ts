// Shared by the egress tests: an HTTPS server on the host that records what reaches it (the
// "internet" the proxy lets the agent reach), an agent behind an egress proxy, and a client run
// inside the agent (node -e) that speaks to the proxy the way a program — or an attacker — would.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAgentCa, issueLeaf } from '../../src/egress/ca.js';
import { CONF } from './cli.js';

export interface Seen { readonly host: string; readonly authorization: string | undefined; readonly headers: Record<string, unknown>; readonly path: string }

export interface Upstream { readonly port: number; readonly caPem: string; readonly seen: Seen[]; close(): Promise<void> }

/** An HTTPS server for the test names, trusted through the CA the spec names in spec.egress.caFile. */
export async function upstream(names: readonly string[], body = 'hello from upstream'): Promise<Upstream> {
  const ca = createAgentCa('egress-test-upstream');
  // one certificate per name, chosen by SNI
  const leaves = new Map(names.map((n) => [n, issueLeaf(ca, n)]));
  const first = leaves.get(names[0]!)!;
  const seen: Seen[] = [];
  const { createSecureContext } = await import('node:tls');
  const server: Server = createServer({
    cert: first.certPem, key: first.keyPem,
    SNICallback: (name, cb) => { const l = leaves.get(name); cb(null, l ? createSecureContext({ cert: l.certPem, key: l.keyPem }) : undefined); },
  }, (req, res) => {
    seen.push({ host: String(req.headers.host), authorization: req.headers.authorization, headers: { ...req.headers }, path: req.url ?? '' });
    const size = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (size) { res.end(Buffer.alloc(Number(size[1]), 97)); return; }
    res.end(`${body} ${req.headers.host}`);
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  return { port: (server.address() as AddressInfo).port, caPem: ca.certPem, seen, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** The Podman default bridge's gateway: how a container reaches a server on the host. */
export async function bridgeGateway(): Promise<string> {
  const r = await podmanAsync(['network', 'inspect', 'podman', '--format', '{{range .Subnets}}{{.Gateway}} {{end}}']);
  return r.stdout.trim().split(/\s+/)[0]!;
}

export function podmanAsync(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('podman', args, { env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONF } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`podman ${args.join(' ')} timed out`)); }, timeoutMs);
    p.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

/**
 * The client inside the agent. Modes: connect HOST:PORT SNI PATH [HEADERS-JSON] (CONNECT through
 * HTTPS_PROXY, then TLS with SNI, one GET); http URL (absolute-URI GET through the proxy); raw
 * HOST:PORT REQUEST (CONNECT, TLS, a hand-written request); direct HOST:PORT (TCP, no proxy; [v6%if]:PORT too); dns NAME.
 * Prints one JSON line.
 */
const CLIENT = String.raw`
const net = require('node:net'), tls = require('node:tls'), dns = require('node:dns');
const [mode, a, b, c, d] = process.argv.slice(1);
const proxy = new URL(process.env.HTTPS_PROXY || 'http://none:1');
const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
setTimeout(() => out({ ok: false, error: 'timeout' }), 8000);
function tunnel(target, cb) {
  const s = net.connect(Number(proxy.port), proxy.hostname);
  s.on('error', (e) => out({ ok: false, error: e.code || e.message }));
  s.write('CONNECT ' + target + ' HTTP/1.1\r\nHost: ' + target + '\r\n\r\n');
  let buf = '';
  const onData = (x) => { buf += x.toString('latin1'); const i = buf.indexOf('\r\n\r\n'); if (i < 0) return; s.off('data', onData);
    const status = Number(buf.split(' ')[1]); if (status !== 200) out({ ok: false, status, body: buf.slice(i + 4) }); else cb(s); };
  s.on('data', onData);
}
function tlsGet(s, sni, request) {
  const t = tls.connect({ socket: s, servername: sni, ...(process.env.TEST_CA ? { ca: [...tls.rootCertificates, process.env.TEST_CA] } : {}) });
  t.on('error', (e) => out({ ok: false, error: e.code || e.message }));
  t.on('secureConnect', () => t.write(request));
  let resp = ''; t.on('data', (x) => { resp += x; }); t.on('end', () => { const [h, ...body] = resp.split('\r\n\r\n'); out({ ok: resp.length > 0, status: Number(h.split(' ')[1]), body: body.join('\r\n\r\n') }); });
  t.on('close', () => { if (!resp) out({ ok: false, error: 'closed' }); });
}
if (mode === 'connect') tunnel(a, (s) => { const host = a.split(':')[0]; const extra = d ? Object.entries(JSON.parse(d)).map(([k, v]) => k + ': ' + v + '\r\n').join('') : '';
  tlsGet(s, b, 'GET ' + c + ' HTTP/1.1\r\nHost: ' + host + '\r\n' + extra + 'Connection: close\r\n\r\n'); });
else if (mode === 'raw') tunnel(a, (s) => tlsGet(s, a.split(':')[0], b.replace(/\\r\\n/g, '\r\n')));
else if (mode === 'plain') tunnel(a, (s) => { s.write(b); let r = ''; s.on('data', (x) => { r += x; }); s.on('close', () => out({ ok: r.length > 0, body: r })); });
else if (mode === 'http') { const s = net.connect(Number(proxy.port), proxy.hostname); s.on('error', (e) => out({ ok: false, error: e.code })); s.write('GET ' + a + ' HTTP/1.1\r\nHost: ' + new URL(a).host + '\r\nConnection: close\r\n\r\n'); let r = ''; s.on('data', (x) => { r += x; }); s.on('close', () => out({ ok: r.length > 0, status: Number(r.split(' ')[1]), body: r.split('\r\n\r\n').slice(1).join('') })); }
else if (mode === 'direct') { const i = a.lastIndexOf(':'); const s = net.connect(Number(a.slice(i + 1)), a.slice(0, i).replace(/^\[|\]$/g, '')); s.setTimeout(3000, () => out({ ok: false, error: 'timeout' })); s.on('connect', () => out({ ok: true })); s.on('error', (e) => out({ ok: false, error: e.code })); }
else if (mode === 'dns') dns.lookup(a, { all: true }, (e, addrs) => out(e ? { ok: false, error: e.code } : { ok: true, addrs }));
`;

export interface ClientResult { ok: boolean; status?: number; body?: string; error?: string; addrs?: unknown[] }

/** `trust`: a CA the client adds to its roots (the test server's, for tunnels the proxy does not terminate). */
export async function inAgent(container: string, trust: string | undefined, ...args: string[]): Promise<ClientResult> {
  const r = await podmanAsync(['exec', ...(trust ? ['-e', `TEST_CA=${trust}`] : []), container, 'node', '-e', CLIENT, ...args]);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try { return JSON.parse(line) as ClientResult; } catch { throw new Error(`client in ${container}: ${r.stdout} ${r.stderr}`); }
}

/** The same client in a container of its own on `network` (not an egress agent), with HTTPS_PROXY pointed at `proxyUrl`. */
export async function inStranger(network: string, proxyUrl: string, ...args: string[]): Promise<ClientResult> {
  const r = await podmanAsync(['run', '--rm', '--network', network, '-e', `HTTPS_PROXY=${proxyUrl}`, 'localhost/clawpod-agent:latest', 'node', '-e', CLIENT, ...args]);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try { return JSON.parse(line) as ClientResult; } catch { throw new Error(`client on ${network}: ${r.stdout} ${r.stderr}`); }
}

/** The proxy's events (JSON lines after "clawpod-egress ") from its log. */
export async function proxyEvents(instance: string): Promise<{ type: string; reason?: string; target?: string; via?: string }[]> {
  const r = await podmanAsync(['logs', `clawpod-egress-${instance}`]);
  return r.stdout.split('\n').filter((l) => l.startsWith('clawpod-egress ')).map((l) => JSON.parse(l.slice('clawpod-egress '.length)) as { type: string });
}
