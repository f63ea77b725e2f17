// What `clawpod send/chat/group` use to talk to a running `clawpod serve`: finds its URL and
// token, makes JSON calls, and follows a message's event stream.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError, isErrorCode, messageOf } from '../errors.js';
import { SseParser } from '../shared/sse.js';

export interface StreamedEvent { readonly seq: number; readonly type: string; readonly data: Record<string, unknown> }

/** The running control plane's URL: CLAWPOD_API (or CLAWPOD_URL), else what `clawpod serve` wrote in the data folder. */
export function controlUrl(config: Config): string {
  if (config.apiUrl) return config.apiUrl;
  const file = join(config.dataDir, 'control', 'serve.json');
  try { return (JSON.parse(readFileSync(file, 'utf8')) as { url: string }).url; } catch {
    throw new ClawpodError('RUNTIME_UNAVAILABLE', 'no clawpod control plane is running', { hint: 'start one with `clawpod serve` (or set CLAWPOD_API to its URL)' });
  }
}

/** Its token: CLAWPOD_TOKEN, else the admin token `clawpod serve` keeps in the data folder. */
export function controlToken(config: Config): string {
  if (config.apiToken) return config.apiToken;
  const dir = join(config.dataDir, 'control');
  try { return readFileSync(join(dir, 'token'), 'utf8').trim(); } catch {
    throw new ClawpodError('RUNTIME_UNAVAILABLE', `cannot read the control plane token in ${dir}`, { hint: 'run as the user who runs `clawpod serve`, or set CLAWPOD_TOKEN' });
  }
}

export class ControlClient {
  constructor(readonly url: string, private readonly token: string) {}

  static fromConfig(config: Config): ControlClient {
    return new ControlClient(controlUrl(config), controlToken(config));
  }

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, { ...init, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    } catch (e) {
      throw new ClawpodError('RUNTIME_UNAVAILABLE', `the control plane at ${this.url} does not answer: ${messageOf((e as { cause?: unknown }).cause ?? e)}`, { hint: 'start it with `clawpod serve`' });
    }
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) await this.raise(res);
    return (await res.json()) as T;
  }

  /** Yields a message's events (stored ones first) until it is done or failed. */
  async *events(messageId: string, after = 0): AsyncGenerator<StreamedEvent> {
    const res = await this.fetch(`/v1/messages/${encodeURIComponent(messageId)}/events?after=${after}`, { headers: { accept: 'text/event-stream' } });
    if (!res.ok || !res.body) throw new ClawpodError('RUNTIME_ERROR', `cannot follow message ${messageId}: HTTP ${res.status}`);
    yield* sseEvents(res);
  }

  /** Sends a message and yields its events in the same response; the first (`queued`) has `id`. */
  async *send(group: string, text: string): AsyncGenerator<StreamedEvent> {
    const res = await this.fetch(`/v1/groups/${encodeURIComponent(group)}/messages`, { method: 'POST', body: JSON.stringify({ text }), headers: { accept: 'text/event-stream' } });
    if (!res.ok || !res.body) await this.raise(res);
    yield* sseEvents(res);
  }

  private async raise(res: Response): Promise<never> {
    const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; hint?: string; details?: string[] } };
    const e = json.error;
    // the server's code as it is (src/errors.ts is shared); only an answer without one is ours to name
    const code = isErrorCode(e?.code) ? e.code : 'RUNTIME_ERROR';
    throw new ClawpodError(code, e?.message ?? `the control plane at ${this.url} answered HTTP ${res.status}`, { ...(e?.hint ? { hint: e.hint } : {}), ...(Array.isArray(e?.details) ? { details: e.details.map(String) } : {}) });
  }
}

async function* sseEvents(res: Response): AsyncGenerator<StreamedEvent> {
  // end() is not called: an event cut off by a dropped connection is dropped, as the spec says
  const sse = new SseParser();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const ev of sse.push(chunk)) {
      // every event of ours carries JSON; one without data has nothing to hand on
      if (ev.data) yield { seq: Number(ev.id), type: ev.event, data: JSON.parse(ev.data) as Record<string, unknown> };
    }
  }
}
