// The front proxy of `clawpod serve`: a request for NAME.DOMAIN (or on a route's own port) goes to
// agent NAME's published port. A paused or stopped agent is woken first while the request is held;
// past the wake timeout the caller gets 503 with Retry-After and something it can use (a page that
// refreshes itself, JSON, or a WebSocket close 1013 "try again later"), never a connection error.
// Only agents clawpod keeps a record of are reachable, at the address the engine published for them.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { redactor } from '../secrets/redact.js';
import type { Lifecycle, WakeResult } from './manager.js';

export interface Route { readonly agent: string; readonly port?: number }

export interface FrontOptions {
  readonly lifecycle: Pick<Lifecycle, 'wake' | 'endpoint' | 'forgetEndpoint' | 'begin' | 'end' | 'expectedWakeMs' | 'stateOf'>;
  /** Host-based routing: NAME.domain. */
  readonly domain: string;
  readonly wakeTimeoutMs: number;
  /** A listener of its own for one agent (port-based routing). */
  readonly fixed?: Route;
}

const AGENT_LABEL = /^[a-z0-9]([-a-z0-9_]{0,61}[a-z0-9])?$/;
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Forwarding headers a client sent: never passed on (an app trusting the first X-Forwarded-For would believe them). */
const FORWARDED = /^(x-forwarded-[a-z-]+|forwarded|x-real-ip)$/i;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The agent a Host header names under the domain, or undefined. */
export function routeOf(host: string | undefined, domain: string): Route | undefined {
  if (!host) return undefined;
  const h = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  if (!h.endsWith(`.${domain}`)) return undefined;
  const name = h.slice(0, -domain.length - 1);
  return AGENT_LABEL.test(name) ? { agent: name } : undefined;
}

type Outcome = { kind: 'ready'; upstream: URL } | { kind: 'late'; retryAfter: number } | { kind: 'error'; status: number; error: ClawpodError; retryAfter?: number };

const STATUS: Partial<Record<string, number>> = { NOT_FOUND: 404, USAGE: 409, BUDGET_EXHAUSTED: 429, RUNTIME_UNAVAILABLE: 503, UNHEALTHY: 504 };

type SocketHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createFront(o: FrontOptions): { request: http.RequestListener; upgrade: SocketHandler; tunnel: SocketHandler } {
  const l = o.lifecycle;

  const upstreamOf = (w: WakeResult, r: Route): URL | undefined => {
    const p = r.port !== undefined ? w.ports.find((x) => x.containerPort === r.port) : w.ports.find((x) => x.url === w.url) ?? w.ports[0];
    return p ? new URL(p.url) : undefined;
  };

  /** Awake (at once when it is known to be), woken, or late; the wake goes on either way. */
  const resolve = async (r: Route): Promise<Outcome> => {
    const known = l.endpoint(r.agent);
    const woken = known ? Promise.resolve(known) : l.wake(r.agent);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((res) => { timer = setTimeout(() => res('late'), o.wakeTimeoutMs); });
    try {
      const w = await Promise.race([woken, late]);
      if (w === 'late') {
        const state = await l.stateOf(r.agent).catch(() => undefined);
        return { kind: 'late', retryAfter: Math.max(1, Math.ceil(l.expectedWakeMs(state === 'paused' ? 'paused' : 'stopped') / 1000)) };
      }
      const u = upstreamOf(w, r);
      if (!u) return { kind: 'error', status: 502, error: new ClawpodError('NOT_FOUND', `agent ${r.agent} publishes ${r.port !== undefined ? `no port ${r.port}` : 'no port'}`, { hint: 'give it spec.ports, or a route with the container port it serves on' }) };
      return { kind: 'ready', upstream: u };
    } catch (e) {
      const err = isClawpodError(e) ? e : new ClawpodError('RUNTIME_ERROR', messageOf(e));
      const status = STATUS[err.code] ?? 502;
      return { kind: 'error', status, error: err, ...(status === 503 ? { retryAfter: 5 } : {}) };
    } finally {
      clearTimeout(timer);
      woken.catch(() => undefined);
    }
  };

  const request: http.RequestListener = (req, res) => {
    const r = o.fixed ?? routeOf(req.headers.host, o.domain);
    if (req.method === 'CONNECT' || !(req.url ?? '').startsWith('/')) return answer(req, res, 400, 'USAGE', 'the front proxy forwards requests to agents only', 'ask for a path, e.g. GET /');
    if (!r) return answer(req, res, 404, 'NOT_FOUND', `no agent answers at ${req.headers.host ?? '(no Host header)'}`, `agents answer at NAME.${o.domain} (the port of this proxy), e.g. curl http://NAME.${o.domain}:PORT/`);
    void resolve(r).then((out) => {
      if (out.kind !== 'ready') return late(req, res, r, out);
      // open from here until the answer is done: the agent is not idle meanwhile (only agents that are, never any name a client makes up)
      openWhile(r.agent, res);
      forward(req, res, r, out.upstream, true);
    });
  };

  const openWhile = (agent: string, until: { once(ev: 'close', f: () => void): unknown }): void => {
    l.begin(agent);
    let ended = false;
    until.once('close', () => { if (!ended) { ended = true; l.end(agent); } });
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, r: Route, u: URL, retry: boolean): void => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && !FORWARDED.test(k)) headers[k] = v;
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = 'http';
    const up = http.request({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, method: req.method, path: req.url, headers });
    up.on('response', (ur) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k)) out[k] = v;
      const status = ur.statusCode ?? 0;
      // whatever the agent answers, the proxy (the daemon) must not throw: a status Node will not send is a 502
      try { res.writeHead(status >= 100 && status <= 599 ? status : 502, out); } catch (e) {
        ur.resume();
        if (!res.headersSent) answer(req, res, 502, 'RUNTIME_ERROR', `agent ${r.agent} answered something that is not HTTP: ${messageOf(e)}`, `\`clawpod logs ${r.agent}\``);
        else res.destroy();
        return;
      }
      ur.pipe(res);
    });
    up.on('error', (e) => {
      // stopped behind our back (clawpod stop, a crash): wake it once more, then give up
      if (retry && !res.headersSent && (e as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        l.forgetEndpoint(r.agent);
        void resolve(r).then((out) => (out.kind === 'ready' ? forward(req, res, r, out.upstream, false) : late(req, res, r, out)));
        return;
      }
      if (!res.headersSent) answer(req, res, 502, 'RUNTIME_ERROR', `agent ${r.agent} did not answer: ${messageOf(e)}`, `\`clawpod logs ${r.agent}\``);
      else res.destroy();
    });
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  };

  const late = (req: http.IncomingMessage, res: http.ServerResponse, r: Route, out: Exclude<Outcome, { kind: 'ready' }>): void => {
    if (out.kind === 'late') {
      return answer(req, res, 503, 'WAKING', `${r.agent} is starting up`, `try again in ${out.retryAfter} s`, out.retryAfter);
    }
    answer(req, res, out.status, out.error.code, out.error.message, out.error.hint, out.retryAfter);
  };

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const r = o.fixed ?? routeOf(req.headers.host, o.domain);
    socket.on('error', () => socket.destroy());
    if (!(req.url ?? '').startsWith('/')) { socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'); return; }
    if (!r) { socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'); return; }
    void resolve(r).then((out) => {
      if (out.kind !== 'ready') {
        const why = out.kind === 'late' ? `${r.agent} is starting up; try again in ${out.retryAfter} s` : `${out.error.code}: ${out.error.message}`;
        return closeWebSocket(req, socket, out.kind === 'late' || out.status === 503 ? 1013 : 1011, why);
      }
      openWhile(r.agent, socket);
      let piped = false;
      const up: Socket = connect({ host: out.upstream.hostname.replace(/^\[|\]$/g, ''), port: Number(out.upstream.port) });
      up.once('connect', () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        // the client's own forwarding headers are not passed on: ours say who asked
        for (let i = 0; i < req.rawHeaders.length; i += 2) if (!FORWARDED.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        lines.push(`X-Forwarded-For: ${req.socket.remoteAddress ?? ''}`, `X-Forwarded-Host: ${req.headers.host ?? ''}`, 'X-Forwarded-Proto: http');
        up.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) up.write(head);
        piped = true;
        up.pipe(socket).pipe(up);
      });
      up.on('error', (e) => {
        if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') l.forgetEndpoint(r.agent);
        // once piped, the client is talking to the agent: it just loses the connection
        if (piped || socket.writableEnded) socket.destroy();
        else closeWebSocket(req, socket, 1011, `agent ${r.agent} did not answer: ${messageOf(e)}`);
      });
      socket.once('close', () => up.destroy());
    });
  };

  // a tunnel to anywhere is what an open proxy gives: never
  const tunnel: SocketHandler = (_req, socket) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"code":"USAGE","message":"the front proxy forwards requests to agents only"}}\n');
  };

  return { request, upgrade, tunnel };
}

/** A browser gets a page that refreshes itself, anything else JSON with a code, message and hint. */
function answer(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, hint?: string, retryAfter?: number): void {
  const msg = redactor.redact(message);
  const headers: http.OutgoingHttpHeaders = { 'cache-control': 'no-store' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if ((req.headers.accept ?? '').includes('text/html')) {
    const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const refresh = retryAfter !== undefined ? `<meta http-equiv="refresh" content="${retryAfter}">` : '';
    res.writeHead(status, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${esc(msg)}</title></head>`
      + `<body><main><h1>${esc(msg)}</h1>${hint ? `<p>${esc(hint)}</p>` : ''}${refresh ? '<p>This page reloads itself.</p>' : ''}</main></body></html>\n`);
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(`${JSON.stringify({ error: { code, message: msg, ...(hint ? { hint } : {}), ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) } })}\n`);
}

/** Completes the handshake and closes at once with a code and reason a WebSocket client reports. */
function closeWebSocket(req: http.IncomingMessage, socket: Duplex, code: number, reason: string): void {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') { socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'); return; }
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  const proto = String(req.headers['sec-websocket-protocol'] ?? '').split(',')[0]?.trim();
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${proto ? `Sec-WebSocket-Protocol: ${proto}\r\n` : ''}\r\n`);
  let text = Buffer.from(redactor.redact(reason));
  if (text.length > 123) text = text.subarray(0, 123);
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), text]);
  socket.end(Buffer.concat([Buffer.from([0x88, payload.length]), payload]));
}
