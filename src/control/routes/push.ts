// Server-Sent Events fed by callbacks rather than by a replayable log (stream.ts does that one):
// the daemon's bus for GET /v1/stream, an upgrade's progress lines, a container's log chunks.
// Events are queued as they come and written in order; the producer learns that the client went
// away through `signal`, and a comment line every `heartbeatMs` keeps idle proxies from cutting
// a quiet stream. Every payload passes the redactor: a log line or an error may hold a key.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { isClawpodError, messageOf } from '../../errors.js';
import { redactor } from '../../secrets/redact.js';

export interface Push {
  send(event: string, data: unknown): void;
  /** No more events: the response ends once the queue is written. */
  end(): void;
  /** Aborted when the client disconnects (or the stream ended): stop producing. */
  readonly signal: AbortSignal;
}

/** What a failed producer's last event says: the error's code, message and hint, redacted. */
export function errorEvent(e: unknown): { code: string; message: string; hint?: string } {
  if (isClawpodError(e)) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { code: 'INTERNAL', message: messageOf(e) };
}

export function pushSSE(c: Context, produce: (push: Push) => void | Promise<void>, opts: { heartbeatMs?: number } = {}): Response {
  return streamSSE(c, async (stream) => {
    const queue: ({ event: string; data: string } | 'ping')[] = [];
    const ac = new AbortController();
    let ended = false;
    let wake: (() => void) | undefined;
    const poke = () => { const w = wake; wake = undefined; w?.(); };
    stream.onAbort(() => { ac.abort(); poke(); });
    const push: Push = {
      send(event, data) { if (!ended) { queue.push({ event, data: JSON.stringify(redactor.redactDeep(data)) }); poke(); } },
      end() { ended = true; poke(); },
      signal: ac.signal,
    };
    const beat = setInterval(() => { queue.push('ping'); poke(); }, opts.heartbeatMs ?? 15_000);
    // a producer's failure is the stream's last event; the HTTP status was sent long ago
    Promise.resolve().then(() => produce(push)).catch((e: unknown) => { push.send('failed', errorEvent(e)); push.end(); });
    try {
      while (!stream.aborted) {
        while (queue.length && !stream.aborted) {
          const item = queue.shift()!;
          if (item === 'ping') await stream.write(': ping\n\n');
          else await stream.writeSSE(item);
        }
        if (ended || stream.aborted) break;
        await new Promise<void>((res) => { wake = res; });
      }
    } finally {
      clearInterval(beat);
      ac.abort();
    }
  });
}
