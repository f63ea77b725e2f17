// One streaming POST over node:http(s) or a unix socket, shared by every provider. A stall (no
// byte for timeoutMs, counted from the request and then from each chunk) is a ProviderTimeout;
// an HTTP error status is a ProviderError carrying the provider's own message.
import http from 'node:http';
import https from 'node:https';
import { Interrupted, ProviderError, ProviderTimeout } from '../errors.js';
import { parseBaseUrl, type Provider } from '../protocol.js';

export interface PostOptions {
  readonly provider: Provider;
  readonly model: string;
  /** As in ModelConfig.baseUrl: http(s)://… or unix:///SOCKET[:/PREFIX]. */
  readonly baseUrl: string;
  /** Appended to the base, e.g. `/v1/messages` or `/models/x:streamGenerateContent?alt=sse`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

const ERROR_BODY_LIMIT = 64 * 1024;

export class HttpTransport {
  // keep-alive: a tool loop makes many calls to one endpoint; reusing the connection saves a
  // TCP (and TLS) handshake per turn
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  /** POSTs `body` as JSON and hands each decoded chunk of a 2xx response to onChunk. */
  stream(o: PostOptions, onChunk: (text: string) => void): Promise<void> {
    let endpoint: ReturnType<typeof parseBaseUrl>;
    try { endpoint = parseBaseUrl(o.baseUrl); } catch (e) {
      return Promise.reject(new ProviderError(undefined, `${o.provider}: ${(e as Error).message}`));
    }
    const payload = Buffer.from(JSON.stringify(o.body));
    const headers = { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': String(payload.length), ...o.headers };
    let where: string;
    let req: http.ClientRequest;
    if (endpoint.kind === 'unix') {
      where = `unix:${endpoint.socketPath} ${endpoint.pathPrefix}${o.path.replace(/\?.*/, '')}`;
      req = http.request({ socketPath: endpoint.socketPath, path: endpoint.pathPrefix + o.path, method: 'POST', headers: { host: 'localhost', ...headers }, agent: this.httpAgent });
    } else {
      const url = new URL(endpoint.url.href.replace(/\/+$/, '') + o.path);
      where = `${url.origin}${url.pathname}`;
      const secure = url.protocol === 'https:';
      req = (secure ? https : http).request(url, { method: 'POST', headers, agent: secure ? this.httpsAgent : this.httpAgent });
    }
    const label = `${o.provider} (model ${o.model}, ${where})`;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal.removeEventListener('abort', onAbort);
        if (err) { req.destroy(); reject(err); } else resolve();
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(new ProviderTimeout(`${label} sent nothing for ${o.timeoutMs} ms (model.timeoutMs); the request was cancelled`)), o.timeoutMs);
      };
      const onAbort = (): void => finish(new Interrupted(`the runner is stopping; the call to ${label} was cancelled`));
      if (o.signal.aborted) { onAbort(); return; }
      o.signal.addEventListener('abort', onAbort);
      arm();

      req.on('error', (e: NodeJS.ErrnoException) => {
        finish(new ProviderError(undefined, `cannot reach ${label}: ${e.code ?? e.message}${e.code ? ` (${e.message})` : ''}; check model.baseUrl`, { cause: e }));
      });
      req.on('response', (res) => {
        res.setEncoding('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let body = '';
          res.on('data', (d: string) => { arm(); if (body.length < ERROR_BODY_LIMIT) body += d; });
          res.on('end', () => finish(new ProviderError(status, `${label} answered HTTP ${status}: ${errorText(body) || res.statusMessage || 'no message'}`)));
          res.on('error', () => finish(new ProviderError(status, `${label} answered HTTP ${status} and then broke the connection`)));
          return;
        }
        res.on('data', (d: string) => {
          arm();
          try { onChunk(d); } catch (e) { finish(e as Error); }
        });
        res.on('end', () => finish());
        res.on('error', (e) => finish(new ProviderError(status, `${label} broke the stream: ${e.message}`, { cause: e })));
        res.on('close', () => finish(new ProviderError(status, `${label} closed the connection before the stream ended`)));
      });
      req.end(payload);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The human part of a provider's error body: Anthropic, OpenAI and Gemini all use error.message. */
export function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as unknown;
    const first = Array.isArray(j) ? j[0] : j;
    const err = (first as { error?: unknown } | null)?.error;
    if (typeof err === 'string') return err;
    const msg = (err as { message?: unknown } | undefined)?.message ?? (first as { message?: unknown } | null)?.message;
    if (typeof msg === 'string') return msg;
  } catch { /* not JSON: fall through to the raw text */ }
  return body.trim().slice(0, 500);
}
