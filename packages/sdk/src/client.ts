// One control plane's URL and token, and the calls the SDK makes to it. Without options they come
// from CLAWPOD_URL and CLAWPOD_TOKEN (a `clawpod token create --scope sandbox:OWNER` token, or the
// admin token). `fetch` may be replaced (a test, a proxy, an in-process server).
import { errorOf, SandboxError } from './errors.js';

export interface ClientOptions {
  /** The control plane, e.g. http://127.0.0.1:7878 (default: CLAWPOD_URL). */
  readonly url?: string;
  /** Its API token (default: CLAWPOD_TOKEN). */
  readonly token?: string;
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

const env = (k: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[k] || undefined;

export class Client {
  readonly url: string;
  private readonly token: string;
  private readonly doFetch: NonNullable<ClientOptions['fetch']>;

  constructor(o: ClientOptions = {}) {
    const url = o.url ?? env('CLAWPOD_URL');
    const token = o.token ?? env('CLAWPOD_TOKEN');
    if (!url) throw new SandboxError('USAGE', 'no clawpod URL', { hint: 'pass { url } or set CLAWPOD_URL to what `clawpod serve` prints (e.g. http://127.0.0.1:7878)' });
    if (!token) throw new SandboxError('USAGE', 'no clawpod token', { hint: 'pass { token } or set CLAWPOD_TOKEN (`clawpod token create --scope sandbox:OWNER` makes one)' });
    this.url = url.replace(/\/+$/, '');
    this.token = token;
    this.doFetch = o.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The answer of a call, or the SandboxError of a failed one (`what` names the call). */
  async request(method: string, path: string, what: string, init: { body?: BodyInit; json?: unknown; accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    else if (init.body !== undefined) headers['content-type'] = 'application/octet-stream';
    if (init.accept) headers.accept = init.accept;
    const send = () => this.doFetch(`${this.url}${path}`, {
      method, headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.body !== undefined ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
    let res: Response;
    try {
      // a kept-alive connection the server closes as a request goes out fails it unanswered
      // ("other side closed"): a read is safe to send again once, a write is not
      res = await send().catch((e: unknown) => { if (method !== 'GET' || init.signal?.aborted) throw e; return send(); });
    } catch (e) {
      if (init.signal?.aborted) throw new SandboxError('ABORTED', `${what}: aborted`, { cause: e });
      const why = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new SandboxError('RUNTIME_UNAVAILABLE', `${what}: the control plane at ${this.url} does not answer (${why})`, { hint: 'is `clawpod serve` running there?', cause: e });
    }
    if (!res.ok) throw await errorOf(res, what);
    return res;
  }

  async json<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, what, body === undefined ? {} : { json: body })).json()) as T;
  }
}
