// A small Chrome DevTools Protocol client over `ws`: commands by id, events by method, one
// browser connection with flattened target sessions. Enough for the browser tool; Playwright
// would be ~4 MB more for every runner start to parse.
import WebSocket from 'ws';

interface Reply { id?: number; method?: string; sessionId?: string; params?: unknown; result?: unknown; error?: { message: string } }
type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class CdpConnection {
  private next = 1;
  private readonly pending = new Map<number, Waiter>();
  private readonly listeners = new Set<(r: Reply) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      let r: Reply;
      try { r = JSON.parse(data.toString()) as Reply; } catch { return; }
      if (r.id !== undefined) {
        const w = this.pending.get(r.id);
        this.pending.delete(r.id);
        if (r.error) w?.reject(new Error(r.error.message)); else w?.resolve(r.result);
      } else for (const l of this.listeners) l(r);
    });
    ws.on('close', () => { for (const w of this.pending.values()) w.reject(new Error('the browser closed the DevTools connection')); this.pending.clear(); });
  }

  static open(url: string, timeoutMs: number): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
      ws.once('open', () => resolve(new CdpConnection(ws)));
      ws.once('error', reject);
    });
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Resolves on the first `method` event of `sessionId`, or rejects after timeoutMs with `what`. */
  once(method: string, sessionId: string, timeoutMs: number, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const l = (r: Reply): void => { if (r.method === method && r.sessionId === sessionId) { done(); resolve(r.params); } };
      const timer = setTimeout(() => { done(); reject(new Error(what)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.listeners.delete(l); };
      this.listeners.add(l);
    });
  }

  close(): void {
    this.ws.close();
  }
}
