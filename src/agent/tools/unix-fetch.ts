// A fetch that sends every request to one unix socket, whatever the URL's host: how a session
// container with no network reaches an MCP server of the control plane through the gateway's
// mounted socket. Node's own fetch cannot (a socket needs the undici package's Agent); node:http
// takes `socketPath` directly. Bodies stream both ways, so MCP's SSE answers arrive as sent.
import http from 'node:http';
import { Readable } from 'node:stream';

export type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export function unixFetch(socketPath: string): Fetch {
  return async (url, init) => {
    const req = new Request(url, init);
    const target = new URL(req.url);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    const headers: Record<string, string> = { ...Object.fromEntries(req.headers), host: target.host };
    if (body) headers['content-length'] = String(body.length);
    const signal = req.signal;
    signal.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const out = http.request({ socketPath, path: target.pathname + target.search, method: req.method, headers }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) for (const x of [v ?? []].flat()) h.append(k, x);
        const empty = res.statusCode === 204 || res.statusCode === 304 || req.method === 'HEAD';
        if (empty) res.resume();
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status: res.statusCode ?? 502, statusText: res.statusMessage ?? '', headers: h }));
      });
      const abort = (): void => { out.destroy(signal.reason as Error); reject(signal.reason); };
      signal.addEventListener('abort', abort, { once: true });
      out.on('close', () => signal.removeEventListener('abort', abort));
      out.on('error', reject);
      out.end(body);
    });
  };
}
