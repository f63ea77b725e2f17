// Reads a gateway request body with a cap: a body over the cap is never held in memory (a 300 MB
// upload took `serve` from 77 MB to 1 GB resident). Refusing early would reset a client that is
// still sending, and it would never see why; so the rest is read and dropped (bounded in time),
// then the caller answers 413 on a connection that closes.
import type { IncomingMessage } from 'node:http';

/** How long an over-cap body is drained before the connection is cut anyway. */
export const DRAIN_MS = 5_000;

export type Body = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly drained: boolean };

export function readCappedBody(req: IncomingMessage, max: number): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  // no for-await: leaving its loop early destroys the socket, and with it our 413
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const tooLarge = () => { over = true; chunks = []; timer = setTimeout(() => finish(false), DRAIN_MS); };
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', data).off('end', end).off('error', reject).off('close', close);
      resolve(over || !ended ? { ok: false, drained: ended } : { ok: true, bytes: Buffer.concat(chunks, size) });
    };
    const data = (c: Buffer) => {
      if (over) return; // read and dropped
      size += c.length;
      if (size > max) tooLarge(); else chunks.push(c);
    };
    const end = () => finish(true);
    const close = () => finish(req.readableEnded);
    if (declared > max) tooLarge();
    req.on('data', data).on('end', end).on('error', reject).on('close', close);
  });
}
