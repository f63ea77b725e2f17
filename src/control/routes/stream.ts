// Event streams as Server-Sent Events: the stored events after `?after=SEQ` (or Last-Event-ID)
// first, then live ones, so a client that reconnects misses nothing.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Daemon } from '../daemon.js';
import type { EventRow, Store } from '../store.js';

export function follow(c: Context, daemon: Daemon, replay: (after: number) => EventRow[], matches: (e: EventRow) => boolean, isEnd: (e: EventRow) => boolean, from?: number): Response {
  const after = from ?? (Number(c.req.query('after') ?? c.req.header('last-event-id') ?? 0) || 0);
  return streamSSE(c, async (stream) => {
    const live: EventRow[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (e: EventRow) => { if (matches(e)) { live.push(e); wake?.(); } };
    daemon.bus.on('event', onEvent); // subscribe before replaying, so nothing falls between
    stream.onAbort(() => { daemon.bus.off('event', onEvent); wake?.(); });
    try {
      let last = after;
      const send = async (e: EventRow): Promise<boolean> => {
        if (e.seq <= last) return false;
        last = e.seq;
        await stream.writeSSE({ id: String(e.seq), event: e.type, data: e.data });
        return isEnd(e);
      };
      for (const e of replay(after)) if (await send(e)) return;
      while (!stream.aborted) {
        while (live.length) if (await send(live.shift()!)) return;
        await new Promise<void>((res) => { wake = res; });
        wake = undefined;
      }
    } finally {
      daemon.bus.off('event', onEvent);
    }
  });
}

export function followMessage(c: Context, daemon: Daemon, store: Store, id: string, after?: number): Response {
  return follow(c, daemon, (a) => store.eventsForMessage(id, a), (e) => e.message_id === id, (e) => e.type === 'done' || e.type === 'failed', after);
}
