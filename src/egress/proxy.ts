// The HTTP proxy the agent's HTTP(S)_PROXY points at: CONNECT host:port (TLS, SNI checked against
// the CONNECT host) and plain-HTTP absolute-URI requests, each checked against the allow list and
// connected to the address the proxy itself resolved and checked.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EgressRecorder } from './events.js';
import { normalizeHost, type AllowList, type RefusalReason } from './policy.js';
import { resolveChecked, type ResolverOptions } from './resolve.js';
import { MAX_HELLO_BYTES, peekClientHello } from './sni.js';
import type { CredentialRoute, Terminator } from './terminate.js';

export interface ProxyDeps {
  readonly allow: AllowList;
  readonly resolver: ResolverOptions;
  readonly rec: EgressRecorder;
  /** By "host:port". */
  readonly credentials: ReadonlyMap<string, CredentialRoute>;
  readonly terminator?: Terminator;
}

const HELLO_TIMEOUT_MS = 10_000;

/** "host:port" / "[v6]:port" → parts; undefined when malformed. */
export function parseAuthority(s: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: normalizeHost(m[1]!), port } : undefined;
}

function refuseTunnel(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nclawpod egress: ${text}\n`);
}

/** Reads until the first TLS record is complete (or is clearly not TLS). */
function readHello(socket: Duplex, head: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    let buf = head;
    const done = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('end', onEnd); socket.pause(); resolve(buf); };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (peekClientHello(buf).kind !== 'need-more' || buf.length >= MAX_HELLO_BYTES) done();
    };
    const onEnd = (): void => done();
    const timer = setTimeout(done, HELLO_TIMEOUT_MS);
    if (peekClientHello(buf).kind !== 'need-more') { clearTimeout(timer); resolve(buf); return; }
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

export function createProxy(deps: ProxyDeps): Server {
  const { allow, resolver, rec } = deps;

  async function check(host: string, port: number, via: string): Promise<{ ok: true; address: string } | { ok: false; reason: RefusalReason; detail?: string }> {
    const why = allow.refusal(host, port);
    if (why) return { ok: false, reason: why };
    const r = await resolveChecked(host, resolver);
    if (!r.ok) return r;
    rec.allow(via);
    return { ok: true, address: r.addresses[0]! };
  }

  async function onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const a = parseAuthority(req.url ?? '');
    if (!a) { rec.refuse('bad-request', String(req.url).slice(0, 300), 'CONNECT'); refuseTunnel(socket, 400, 'CONNECT needs host:port'); return; }
    const target = `${a.host}:${a.port}`;
    const c = await check(a.host, a.port, 'CONNECT');
    if (!c.ok) { rec.refuse(c.reason, target, 'CONNECT', c.detail); refuseTunnel(socket, 403, `${target} is not allowed (${c.reason})`); return; }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const route = deps.credentials.get(target);
    // the terminator reads the ClientHello itself and checks its server name after the handshake
    if (route && deps.terminator) { deps.terminator.handle(socket, head, route, c.address); return; }
    const first = await readHello(socket, head);
    const hello = peekClientHello(first);
    if (hello.kind !== 'hello') {
      // a tunnel to 443 or to a credential host must carry TLS: anything else could not be checked
      if (a.port === 443 || route || first.length === 0) { rec.refuse('not-tls', target, 'CONNECT'); socket.destroy(); return; }
    } else if (hello.serverName === undefined) {
      rec.refuse('sni-missing', target, 'CONNECT'); socket.destroy(); return;
    } else if (normalizeHost(hello.serverName) !== a.host) {
      rec.refuse('sni-mismatch', target, 'CONNECT', `TLS server name ${hello.serverName.slice(0, 255)}`); socket.destroy(); return;
    }
    const up: Socket = connect({ host: c.address, port: a.port });
    up.on('error', () => { up.destroy(); socket.destroy(); });
    up.once('connect', () => { up.write(first); socket.pipe(up); up.pipe(socket); socket.resume(); });
    socket.on('close', () => up.destroy());
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try { url = new URL(req.url ?? ''); } catch {
      rec.refuse('bad-request', String(req.url).slice(0, 300), req.method ?? 'HTTP');
      res.writeHead(400).end('clawpod egress: this is a proxy; send absolute http:// URIs or CONNECT\n');
      return;
    }
    if (url.protocol !== 'http:' || url.username || url.password) {
      rec.refuse('bad-request', url.host, req.method ?? 'HTTP');
      res.writeHead(400).end('clawpod egress: only http:// URIs without credentials; use CONNECT for https\n');
      return;
    }
    const host = normalizeHost(url.hostname);
    const port = Number(url.port || 80);
    const c = await check(host, port, 'HTTP');
    if (!c.ok) { rec.refuse(c.reason, `${host}:${port}`, req.method ?? 'HTTP', c.detail); res.writeHead(403).end(`clawpod egress: ${host}:${port} is not allowed (${c.reason})\n`); return; }
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: url.port ? `${host}:${port}` : host };
    for (const h of ['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']) delete headers[h];
    // plain HTTP never gets a credential: it would cross the network in the clear
    const up = request({ host: c.address, port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502).end(`clawpod egress: ${host}:${port} did not answer\n`); else res.destroy(); });
    req.pipe(up);
  }

  const server = createServer({ requestTimeout: 120_000 });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => { onConnect(req, socket, head).catch(() => socket.destroy()); });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => { onRequest(req, res).catch(() => res.destroy()); });
  return server;
}
