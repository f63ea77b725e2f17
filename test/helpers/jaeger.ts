// A real Jaeger for integration tests: scripts/jaeger-harness.sh starts the Jaeger v2 all-in-one
// binary (built once from the github.com/jaegertracing/jaeger Go module, pinned v1.76.0, cached in
// ${CLAWPOD_JAEGER_CACHE:-~/.cache/clawpod-jaeger}) on loopback with in-memory storage and free ports:
// an OTLP receiver (HTTP and gRPC) and the query HTTP API that the tests read traces back from.
//
// Cost: the FIRST call on a machine builds the binary (15-20 minutes on 2 cores, one-time;
// vitest's global set-up or `scripts/jaeger-harness.sh build` does it ahead of the tests). Once
// cached, startJaeger() takes about a second. See docs/tracing-harness.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_CI } from './prereq.js';
import { parseEnv, runScript } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const JAEGER_HARNESS = join(ROOT, 'scripts/jaeger-harness.sh');

/**
 * Thrown when no Jaeger can be had on this machine (no Go or module proxy to build it...). Tests skip
 * on it — except with CI=true, where startJaeger throws a plain Error instead: set-up must provide it.
 */
export class JaegerUnavailableError extends Error {
  constructor(public readonly reason: string) {
    super(`Jaeger unavailable: ${reason}`);
    this.name = 'JaegerUnavailableError';
  }
}

/** A span as Jaeger's query API (/api/traces, the UI's JSON model) returns it. Times in µs. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[] | null;
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[] | null;
  logs: { timestamp: number; fields: { key: string; type: string; value: unknown }[] }[] | null;
  processID: string;
  warnings: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  /** processID -> the service (OTLP resource) that emitted the spans. */
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] | null }>;
  warnings: string[] | null;
}

export interface TraceQuery {
  /** Only spans of this operation (span name). */
  operation?: string;
  /** Span tags (attributes) that must match, e.g. { 'http.method': 'GET' }. */
  tags?: Record<string, string>;
  /** At most this many traces (Jaeger's default 100). */
  limit?: number;
  /** How far back to look, in ms (default 1 hour). */
  lookbackMs?: number;
}

export interface Jaeger {
  /** OTLP/HTTP receiver base URL, http://127.0.0.1:PORT: POST traces to `${otlpHttp}/v1/traces`. */
  otlpHttp: string;
  /** OTLP/gRPC receiver, 127.0.0.1:PORT (no scheme). */
  otlpGrpc: string;
  /** Query HTTP API (and UI) base URL, http://127.0.0.1:PORT. */
  query: string;
  /** Folder with config.yaml and jaeger.log while it runs. */
  dir: string;
  /** Jaeger's process id. */
  pid: number;
  /** The traces of `service` (newest first, as Jaeger orders them), through GET /api/traces. */
  traces(service: string, opts?: TraceQuery): Promise<JaegerTrace[]>;
  /** One trace by id (hex), or undefined when Jaeger has none with that id. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Polls traces(service) until one matches `predicate`; throws after timeoutMs (default 10 s). */
  waitForTrace(service: string, predicate?: (t: JaegerTrace) => boolean, timeoutMs?: number): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

export interface StartJaegerOptions {
  /** Build the binary if it is not cached (default true; CLAWPOD_JAEGER_BUILD=0 turns it off, then tests skip). */
  build?: boolean;
  /** Print the harness's progress lines (build heartbeat) to stderr. Default true. */
  progress?: boolean;
}

const run = (args: string[], env: NodeJS.ProcessEnv, progress: boolean) => runScript(JAEGER_HARNESS, args, env, progress);


/** Whether the harness's binary is in the cache (no build needed). */
export function jaegerBuilt(): boolean {
  const r = spawnSync('bash', [JAEGER_HARNESS, 'paths'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.split('\n').some((l) => l.startsWith('jaeger=') && !l.endsWith('(not built)'));
}

/** Starts Jaeger on loopback (building it first if needed) and waits until it takes OTLP and answers queries. */
export async function startJaeger(opts: StartJaegerOptions = {}): Promise<Jaeger> {
  try {
    return await startJaegerOrUnavailable(opts);
  } catch (e) {
    // In CI the project's set-up provides everything the harness needs: no skipping there.
    if (IN_CI && e instanceof JaegerUnavailableError) throw new Error(`prerequisite missing in CI: Jaeger (${e.reason})`);
    throw e;
  }
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

async function startJaegerOrUnavailable(opts: StartJaegerOptions): Promise<Jaeger> {
  const build = opts.build ?? process.env.CLAWPOD_JAEGER_BUILD !== '0';
  if (!existsSync(JAEGER_HARNESS)) throw new JaegerUnavailableError(`${JAEGER_HARNESS} is missing`);
  if (!build && !jaegerBuilt()) throw new JaegerUnavailableError('jaeger not built and CLAWPOD_JAEGER_BUILD=0; run scripts/jaeger-harness.sh build');

  const dir = mkdtempSync(join(tmpdir(), 'clawpod-jaeger-harness-'));
  const { code, stderr } = await run(['start', dir], process.env, opts.progress ?? true);
  if (code !== 0) {
    const lines = stderr.trim().split('\n');
    const last = lines.filter((l) => l.includes('unavailable:') || l.includes('error:')).pop() ?? lines.pop() ?? '';
    await run(['stop', dir], { ...process.env, CLAWPOD_JAEGER_KEEP_LOGS: '1' }, false);
    if (code === 3) throw new JaegerUnavailableError(last.replace(/^\[jaeger-harness\] unavailable: /, ''));
    throw new Error(`scripts/jaeger-harness.sh start failed (exit ${code}); log in ${dir}\n${stderr.slice(-4000)}`);
  }

  const e = parseEnv(join(dir, 'env'));
  const query = e.CLAWPOD_JAEGER_QUERY!;
  // If the test process dies without calling stop(), do not leave Jaeger behind.
  const onExit = () => { spawnSync('bash', [JAEGER_HARNESS, 'stop', dir], { stdio: 'ignore' }); };
  process.once('exit', onExit);
  let stopped = false;

  const traces = async (service: string, q: TraceQuery = {}): Promise<JaegerTrace[]> => {
    const nowUs = Date.now() * 1000;
    const params = new URLSearchParams({
      service,
      start: String(nowUs - (q.lookbackMs ?? 3_600_000) * 1000),
      // a minute ahead: spans stamped by a clock slightly in front of this process's still count
      end: String(nowUs + 60_000_000),
      limit: String(q.limit ?? 100),
    });
    if (q.operation) params.set('operation', q.operation);
    if (q.tags) params.set('tags', JSON.stringify(q.tags));
    const { status, body } = await getJson(`${query}/api/traces?${params}`);
    if (status !== 200) throw new Error(`GET ${query}/api/traces?${params}: ${status} ${JSON.stringify(body).slice(0, 500)}`);
    return (body as { data?: JaegerTrace[] | null } | null)?.data ?? [];
  };

  const trace = async (traceId: string): Promise<JaegerTrace | undefined> => {
    const { status, body } = await getJson(`${query}/api/traces/${encodeURIComponent(traceId)}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${query}/api/traces/${traceId}: ${status} ${JSON.stringify(body).slice(0, 500)}`);
    return (body as { data?: JaegerTrace[] | null } | null)?.data?.[0];
  };

  const waitForTrace = async (service: string, predicate: (t: JaegerTrace) => boolean = () => true, timeoutMs = 10_000): Promise<JaegerTrace> => {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      const all = await traces(service);
      seen = all.length;
      const hit = all.find(predicate);
      if (hit) return hit;
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no trace of service ${service} matched within ${timeoutMs} ms (${seen} trace(s) of it seen; Jaeger log: ${dir}/jaeger.log)`);
  };

  return {
    otlpHttp: e.CLAWPOD_JAEGER_OTLP_HTTP!,
    otlpGrpc: e.CLAWPOD_JAEGER_OTLP_GRPC!,
    query,
    dir,
    pid: Number(e.CLAWPOD_JAEGER_PID),
    traces,
    trace,
    waitForTrace,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await run(['stop', dir], process.env, false);
    },
  };
}
