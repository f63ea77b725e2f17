// Credential hosts: the proxy ends the agent's TLS with a certificate from the per-agent CA, reads
// each HTTP/1.1 request, sets the one header (whatever the agent sent in it is dropped) and sends
// the request on over a new TLS connection to the real host, verified against the system roots.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import type { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { EgressRecorder } from './events.js';
import type { PemPair } from './ca.js';

export interface CredentialRoute {
  readonly host: string;
  readonly port: number;
  readonly header: string;
  /** The whole header value, secret included; never logged. */
  readonly value: string;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never forwarded. */
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Never dropped because `Connection:` names them: the request's own framing, its target and the set header. */
const PINNED = ['content-length', 'transfer-encoding', 'host'];

/**
 * The headers sent upstream. Framing is the agent's request's own (a chunked body is sent chunked, a
 * Content-Length kept): a body sent unframed (`Connection: content-length`, or a chunked GET Node would
 * send raw) reached the upstream as a second request, and the proxy's next request on the pooled
 * connection — the credential in its headers — became that request's body (a reviewer's finding).
 */
export function forwardHeaders(inbound: IncomingHttpHeaders, route: CredentialRoute): Record<string, string | string[]> {
  const listed = String(inbound.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h && !PINNED.includes(h));
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(inbound)) {
    const key = k.toLowerCase();
    if (v === undefined || HOP.includes(key) || listed.includes(key) || key === 'host' || key === route.header.toLowerCase()) continue;
    out[key] = v;
  }
  if (inbound['transfer-encoding'] !== undefined) out['transfer-encoding'] = 'chunked';
  out.host = route.port === 443 ? route.host : `${route.host}:${route.port}`;
  out[route.header.toLowerCase()] = route.value;
  return out;
}

export interface Terminator {
  /** Takes over a CONNECT tunnel whose first bytes (`head`, a ClientHello for route.host) were already read. */
  handle(socket: Duplex, head: Buffer, route: CredentialRoute, address: string): void;
  close(): void;
}

export function credentialTerminator(ca: PemPair, leaves: ReadonlyMap<string, PemPair>, upstreamCa: readonly string[] | undefined, rec: EgressRecorder): Terminator {
  const upstream = new Agent({ keepAlive: true, maxSockets: 16, ...(upstreamCa ? { ca: [...upstreamCa] } : {}) });
  const contexts = new Map([...leaves].map(([host, leaf]) => [host, createSecureContext({ cert: `${leaf.certPem}${ca.certPem}`, key: leaf.keyPem, minVersion: 'TLSv1.2' })]));

  function forward(route: CredentialRoute, address: string, req: IncomingMessage, res: ServerResponse): void {
    // origin-form only: an absolute URI inside the tunnel could name another host
    if (!req.url?.startsWith('/')) {
      rec.refuse('bad-request', route.host, 'TLS', 'request target is not a path');
      res.writeHead(400).end('clawpod egress: only origin-form request targets (a path) are forwarded\n');
      return;
    }
    const up = request({
      host: address, servername: route.host, port: route.port, method: req.method, path: req.url,
      headers: forwardHeaders(req.headers, route), agent: upstream, setHost: false,
    }, (ures) => {
      rec.credential(route.host);
      const headers = { ...ures.headers };
      for (const h of HOP) delete headers[h];
      res.writeHead(ures.statusCode ?? 502, headers);
      ures.pipe(res);
    });
    up.on('error', (e) => {
      rec.refuse('upstream-tls', route.host, 'TLS', (e as NodeJS.ErrnoException).code ?? e.message);
      if (!res.headersSent) res.writeHead(502).end(`clawpod egress: ${route.host} could not be reached or verified\n`);
      else res.destroy();
    });
    req.pipe(up);
  }

  return {
    handle(socket, head, route, address) {
      const context = contexts.get(route.host);
      // a client speaks only after the 200: bytes before it are not a TLS client's
      if (!context || head.length > 0) { rec.refuse('bad-request', route.host, 'CONNECT', 'data before the tunnel opened'); socket.destroy(); return; }
      const tls = new TLSSocket(socket as never, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
      tls.on('error', () => tls.destroy());
      let checked = false;
      tls.once('secure', () => {
        const name = (tls as TLSSocket & { servername?: string | false }).servername;
        if (!name) { rec.refuse('sni-missing', `${route.host}:${route.port}`, 'CONNECT'); tls.destroy(); return; }
        if (name.toLowerCase().replace(/\.$/, '') !== route.host) { rec.refuse('sni-mismatch', `${route.host}:${route.port}`, 'CONNECT', `TLS server name ${name.slice(0, 255)}`); tls.destroy(); return; }
        checked = true;
      });
      // one small HTTP server per tunnel: its handler knows the route, and Node's parser refuses
      // malformed framing (both Content-Length and Transfer-Encoding, bare LF...) before we see it
      const server = createServer({ requestTimeout: 120_000 }, (req, res) => { if (checked) forward(route, address, req, res); else res.destroy(); });
      server.on('clientError', (_e, s) => { rec.refuse('bad-request', route.host, 'TLS', 'malformed HTTP'); s.destroy(); });
      server.emit('connection', tls);
    },
    close() { upstream.destroy(); },
  };
}
