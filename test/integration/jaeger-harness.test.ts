// The tracing test harness itself: a real Jaeger (v2 all-in-one, built from the
// github.com/jaegertracing/jaeger Go module, see docs/tracing-harness.md) on loopback. One OTLP/HTTP
// JSON export goes in with plain fetch; the query API must give back both spans and their link.
//
// Runtime: a couple of seconds once the binary is cached. The very first run on a machine builds it
// (one-time, 15-20 minutes on 2 cores) unless the global set-up or `scripts/jaeger-harness.sh build`
// did; CLAWPOD_JAEGER_BUILD=0 skips instead of building. Skips with the reason when Jaeger cannot be
// had (no Go toolchain / module proxy); with CI=true that fails instead.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JaegerUnavailableError, startJaeger, type Jaeger } from '../helpers/jaeger.js';

let jaeger: Jaeger | undefined;
let skipReason = '';

beforeAll(async () => {
  try {
    jaeger = await startJaeger();
  } catch (e) {
    if (!(e instanceof JaegerUnavailableError)) throw e;
    skipReason = e.reason;
    console.warn(`[jaeger-harness] skipping: ${e.reason}`);
  }
}, 30 * 60_000); // the one-time build; a cached start takes about a second

afterAll(async () => {
  await jaeger?.stop();
});

/** Resolves true when something accepts a TCP connection on host:port. */
function listening(hostPort: string): Promise<boolean> {
  const url = new URL(hostPort.includes('://') ? hostPort : `tcp://${hostPort}`);
  return new Promise((resolve) => {
    const s = connect({ host: url.hostname, port: Number(url.port) });
    s.setTimeout(2000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

describe('jaeger harness (real Jaeger, in-memory)', () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  const childId = randomBytes(8).toString('hex');
  const service = 'clawpod-test';

  it('takes an OTLP/HTTP JSON trace and gives both spans and their parent link back through the query API', async (ctx) => {
    if (!jaeger) return ctx.skip(skipReason);
    expect(jaeger.otlpHttp).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(jaeger.query).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const ns = (ms: number) => String(nowNs + BigInt(ms) * 1_000_000n);
    const body = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{
          scope: { name: 'clawpod-jaeger-harness-test' },
          spans: [
            {
              traceId, spanId: parentId, name: 'agent.run', kind: 2,
              startTimeUnixNano: ns(0), endTimeUnixNano: ns(50),
              attributes: [{ key: 'clawpod.agent', value: { stringValue: 'hello' } }],
              status: {},
            },
            {
              traceId, spanId: childId, parentSpanId: parentId, name: 'tool.call', kind: 1,
              startTimeUnixNano: ns(10), endTimeUnixNano: ns(30),
              attributes: [{ key: 'clawpod.tool', value: { stringValue: 'bash' } }],
              status: {},
            },
          ],
        }],
      }],
    };
    const res = await fetch(`${jaeger.otlpHttp}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    // OTLP/HTTP answers an ExportTraceServiceResponse; no partialSuccess means nothing was rejected
    const answer = (await res.json()) as { partialSuccess?: { rejectedSpans?: string } };
    expect(answer.partialSuccess?.rejectedSpans ?? '0').toBe('0');

    // both spans: the batch processor may hand them to storage apart, so wait for the whole trace
    const t = await jaeger.waitForTrace(service, (tr) => tr.traceID === traceId && tr.spans.length === 2, 10_000);
    const byId = new Map(t.spans.map((s) => [s.spanID, s]));
    const parent = byId.get(parentId);
    const child = byId.get(childId);
    expect(parent?.operationName).toBe('agent.run');
    expect(child?.operationName).toBe('tool.call');
    expect(parent?.references ?? []).toEqual([]);
    expect(child?.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: parentId }]);
    expect(child!.duration).toBe(20_000); // µs
    expect(child!.startTime - parent!.startTime).toBe(10_000);
    expect(child!.tags).toEqual(expect.arrayContaining([{ key: 'clawpod.tool', type: 'string', value: 'bash' }]));
    expect(t.processes[parent!.processID]?.serviceName).toBe(service);

    // the same trace by id, and nothing for another id or another service
    const byTraceId = await jaeger.trace(traceId);
    expect(byTraceId?.spans.map((s) => s.spanID).sort()).toEqual([childId, parentId].sort());
    expect(await jaeger.trace(randomBytes(16).toString('hex'))).toBeUndefined();
    expect((await jaeger.traces(service, { operation: 'tool.call' })).map((x) => x.traceID)).toContain(traceId);
    expect(await jaeger.traces('clawpod-no-such-service')).toEqual([]);
  });

  it('stops, and its ports are closed afterwards', async (ctx) => {
    if (!jaeger) return ctx.skip(skipReason);
    const ports = [jaeger.otlpHttp, jaeger.otlpGrpc, jaeger.query];
    for (const p of ports) expect(await listening(p), `${p} before stop`).toBe(true);
    const pid = jaeger.pid;
    await jaeger.stop();
    for (const p of ports) expect(await listening(p), `${p} after stop`).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
