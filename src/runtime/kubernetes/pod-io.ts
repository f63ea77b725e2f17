// Streams to and from an agent's container in a cluster, through the API server (WebSockets,
// protocol v5.channel.k8s.io, so closing stdin reaches the process): attach, exec and logs,
// as the runtime-neutral OutputChunk streams the Runtime interface speaks.
import { PassThrough, Readable, Writable } from 'node:stream';
import { Attach, Exec, Log, type V1Status } from '@kubernetes/client-node';
import { ClawpodError } from '../../errors.js';
import type { Attached, ExecOptions, ExecResult, OutputChunk } from '../runtime.js';
import { apiError, type Cluster } from '../../kube/cluster.js';
import { CONTAINER_NAME } from '../../kube/defaults.js';

/** An async iterable fed by writers: what the WebSocket callbacks push, the caller reads. */
export class ChunkQueue implements AsyncIterable<OutputChunk> {
  private readonly items: OutputChunk[] = [];
  private waiting: (() => void) | undefined;
  private done = false;
  private error: unknown;

  push(c: OutputChunk): void { this.items.push(c); this.wake(); }
  end(error?: unknown): void { if (this.done) return; this.done = true; this.error = error; this.wake(); }
  private wake(): void { const w = this.waiting; this.waiting = undefined; w?.(); }

  /** A Writable whose bytes become chunks of `stream`. */
  writer(stream: OutputChunk['stream'], also?: (c: OutputChunk) => void): Writable {
    return new Writable({ write: (data: Buffer, _enc, cb) => { const c = { stream, data: Buffer.from(data) }; this.push(c); also?.(c); cb(); } });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    for (;;) {
      const next = this.items.shift();
      if (next) { yield next; continue; }
      if (this.done) { if (this.error) throw this.error; return; }
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
}

function wsClosed(ws: { on(ev: 'close', f: () => void): unknown; on(ev: 'error', f: (e: unknown) => void): unknown }): Promise<void> {
  return new Promise((resolve) => { ws.on('close', () => resolve()); ws.on('error', () => resolve()); });
}

/**
 * Attaches to the agent container of `pod` once `ready` resolves (the Pod runs). Until then what
 * is written to stdin is buffered: the session writes its first message before the Pod exists.
 */
export function attachPod(c: Cluster, ready: Promise<string>): Attached {
  const stdin = new PassThrough();
  const out = new ChunkQueue();
  let socket: { close(): void } | undefined;
  let closed = false;
  void ready.then(async (pod) => {
    if (closed) return;
    const ws = await new Attach(c.kc).attach(c.namespace, pod, CONTAINER_NAME, out.writer('stdout'), out.writer('stderr'), stdin, false);
    socket = ws;
    if (closed) ws.close();
    await wsClosed(ws);
    out.end();
  }).catch((e: unknown) => out.end(e));
  return {
    stdin,
    output: out,
    close: () => { closed = true; socket?.close(); stdin.end(); out.end(); },
  };
}

/** "command terminated with non-zero exit code: error executing command [...]: exit status 3" → 3. */
function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((x) => x.reason === 'ExitCode');
  return cause?.message !== undefined ? Number(cause.message) : 126;
}

/** Runs a command in the agent container (env and workingDir through `env` and `sh -c cd`, as exec has neither). */
export async function execPod(c: Cluster, pod: string, opts: ExecOptions): Promise<ExecResult> {
  if (opts.user) throw new ClawpodError('USAGE', `exec as user ${opts.user}: a Pod's processes run as the Pod's user`, { hint: 'leave out the user; the command runs as the agent' });
  let cmd = [...opts.cmd];
  if (opts.workingDir) cmd = ['sh', '-c', 'cd "$0" && exec "$@"', opts.workingDir, ...cmd];
  if (opts.env && Object.keys(opts.env).length) cmd = ['env', ...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), ...cmd];
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const q = new ChunkQueue();
  const collect = (ch: OutputChunk) => { (ch.stream === 'stdout' ? out : err).push(ch.data); opts.onOutput?.(ch); };
  const stdin = opts.stdin === undefined ? null : typeof opts.stdin === 'string' ? Readable.from([Buffer.from(opts.stdin)]) : opts.stdin;
  let status: V1Status | undefined;
  try {
    const ws = await new Exec(c.kc).exec(c.namespace, pod, CONTAINER_NAME, cmd, q.writer('stdout', collect), q.writer('stderr', collect), stdin, false, (s) => { status = s; });
    await wsClosed(ws);
  } catch (e) {
    throw apiError(e, c, { action: 'exec in', object: `pod/${pod}` });
  }
  return { exitCode: status ? exitCodeOf(status) : -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The container's log (stdout and stderr interleaved, as the kubelet keeps them), streamed. */
export function podLogs(c: Cluster, pod: string, opts: { follow?: boolean; tail?: number }): AsyncIterable<OutputChunk> {
  const q = new ChunkQueue();
  const sink = q.writer('stdout');
  sink.once('finish', () => q.end()); // the response body is piped in and ends it
  new Log(c.kc).log(c.namespace, pod, CONTAINER_NAME, sink, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tailLines: opts.tail } : {}) })
    .catch((e: unknown) => q.end(apiError(e, c, { action: 'read the log of', object: `pod/${pod}` })));
  return q;
}
