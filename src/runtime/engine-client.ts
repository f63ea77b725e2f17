// A small client for the Docker-compatible Engine API over a unix socket, on node:http.
// Why not dockerode: it loads ssh2, grpc and protobufjs at import (~120 ms on these machines),
// which `clawpod run` would pay on every start; the calls we need fit in this file.
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { now, trace } from '../trace.js';

export class EngineHttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly path: string) {
    super(message);
    this.name = 'EngineHttpError';
  }
}

export type Query = Record<string, string | number | boolean | object | undefined>;

function qs(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function errorFrom(status: number, text: string, path: string): EngineHttpError {
  let message = text.trim();
  try { const j = JSON.parse(text) as { message?: string; cause?: string }; message = j.message ?? message; } catch { /* plain text */ }
  return new EngineHttpError(status, message || `HTTP ${status}`, path);
}

export interface RequestOptions {
  readonly query?: Query;
  readonly json?: unknown;
  readonly body?: Readable;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export class EngineClient {
  /** Reuses connections across calls (a `run` makes several); idle sockets do not keep the process alive. */
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 4 });

  constructor(readonly socketPath: string, readonly prefix = '/v1.41') {}

  /** A request whose response is streamed; non-2xx statuses reject with the engine's message. */
  stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const full = `${this.prefix}${path}${qs(opts.query)}`;
    const t0 = now();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.json !== undefined) headers['content-type'] = 'application/json';
      const req = request({ socketPath: this.socketPath, agent: this.agent, method, path: full, headers, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        trace(`${method} ${full} → ${status} (${(now() - t0).toFixed(1)} ms)`);
        if (status >= 200 && status < 300) resolve(res);
        else void readBody(res).then((t) => reject(errorFrom(status, t, full)), reject);
      });
      req.on('error', reject);
      if (opts.body) opts.body.on('error', (e) => req.destroy(e)).pipe(req);
      else req.end(opts.json === undefined ? undefined : JSON.stringify(opts.json));
    });
  }

  /** A request with a JSON (or empty) answer. Statuses in `accept` resolve with an undefined body. */
  async call<T = unknown>(method: string, path: string, opts: RequestOptions & { accept?: readonly number[] } = {}): Promise<T | undefined> {
    try {
      const res = await this.stream(method, path, opts);
      const text = await readBody(res);
      return text.trim() ? (JSON.parse(text) as T) : undefined;
    } catch (e) {
      if (e instanceof EngineHttpError && opts.accept?.includes(e.statusCode)) return undefined;
      throw e;
    }
  }

  /** Upgrades the connection to a raw stream (attach, exec start). */
  hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Duplex> {
    const full = `${this.prefix}${path}${qs(opts.query)}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp' };
      if (opts.json !== undefined) headers['content-type'] = 'application/json';
      const t0 = now();
      const req = request({ socketPath: this.socketPath, method, path: full, headers });
      req.on('upgrade', (_res, socket, head) => {
        trace(`${method} ${full} → upgraded (${(now() - t0).toFixed(1)} ms)`);
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        // Some engines answer 200 and stream without upgrading; errors arrive the same way.
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(res.socket);
        else void readBody(res).then((t) => reject(errorFrom(status, t, full)), reject);
      });
      req.on('error', reject);
      req.end(opts.json === undefined ? undefined : JSON.stringify(opts.json));
    });
  }
}

/** Newline-delimited JSON progress (build, pull, import), one object at a time. */
export async function* jsonLines<T>(res: Readable): AsyncGenerator<T> {
  let buf = '';
  for await (const chunk of res) {
    buf += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) { try { yield JSON.parse(line) as T; } catch { /* not JSON: skip */ } }
    }
  }
  if (buf.trim()) { try { yield JSON.parse(buf) as T; } catch { /* ignore */ } }
}
