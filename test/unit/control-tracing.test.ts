// The control plane's message spans (src/control/tracing.ts) on the real SDK, exported to memory:
// the tree of one message, the runner's span frames joined to it with their own ids, the trust
// rules for a model call's traceparent, and forged frames refused without a span; and when
// tracing is on at all (OTEL_* variables, spec.tracing), with clear errors for what cannot work.
import { describe, expect, it } from 'vitest';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { RunnerEvent } from '../../src/agent/protocol.js';
import { MessageTracing } from '../../src/control/tracing.js';
import { startTracing } from '../../src/otel/provider.js';
import { SPAN_LIMITS } from '../../src/agent/trace-context.js';
import type { OtelEnv } from '../../src/config.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { tracingSettings } from '../../src/otel/settings.js';

async function traced(): Promise<{ t: MessageTracing; spans: () => Promise<ReadableSpan[]> }> {
  const got: ReadableSpan[] = [];
  const exporter: SpanExporter = { export: (s, done) => { got.push(...s); done({ code: 0 }); }, shutdown: async () => undefined };
  const t = new MessageTracing(startTracing({ url: 'http://unused.invalid/v1/traces', serviceName: 'clawpod', from: 'test' }, () => undefined, exporter));
  return { t, spans: async () => { await t.shutdown(); return got; } };
}

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const byName = (all: ReadableSpan[], name: string): ReadableSpan[] => all.filter((s) => s.name === name);
const m = { id: 'm_1', group_name: 'ops' };

describe('MessageTracing', () => {
  it('makes one trace per message: message → queue, session.start, deliver, the runner\'s spans, llm.call under its model round', async () => {
    const { t, spans } = await traced();
    t.queued(m);
    const started = t.sessionStarting(m, { session: 's_1', runtime: 'podman', followups: 'dir' });
    expect(started.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    started.end();
    const trace = started.traceparent!.split('-')[1]!;
    const root = started.traceparent!.split('-')[2]!;
    const inflight = new Set([m.id]);
    const ev = (e: RunnerEvent) => t.runnerEvent('s_1', inflight, e);
    ev({ type: 'start', messageId: m.id });
    const now = Date.now();
    // the runner's model round 1111…, parent of the gateway's call; its turn 2222…
    const call = t.llmCall({ group: 'ops', sessionId: 's_1', provider: 'openai', traceparent: `00-${trace}-1111111111111111-01` });
    call({ model: 'fix', providerModel: 'scripted', status: 200, input: 12, output: 3 });
    expect(ev({ type: 'span', messageId: m.id, spanId: '1111111111111111', parentSpanId: '2222222222222222', name: 'model.round', startMs: now, endMs: now + 5, attributes: { 'clawpod.round': 1 } })).toBeUndefined();
    ev({ type: 'span', messageId: m.id, spanId: '3333333333333333', parentSpanId: '2222222222222222', name: 'tool.bash', startMs: now + 5, endMs: now + 9, attributes: { 'clawpod.tool.exit_code': 0 } });
    ev({ type: 'span', messageId: m.id, spanId: '2222222222222222', parentSpanId: root, name: 'turn', startMs: now, endMs: now + 10 });
    ev({ type: 'end', messageId: m.id, stopReason: 'end_turn' });
    const all = await spans();
    expect(all.map((s) => s.name).sort()).toEqual(['deliver', 'llm.call', 'message', 'model.round', 'queue', 'session.start', 'tool.bash', 'turn']);
    expect(new Set(all.map((s) => s.spanContext().traceId))).toEqual(new Set([trace]));
    const [message] = byName(all, 'message');
    expect(message!.spanContext().spanId).toBe(root);
    expect(message!.attributes).toMatchObject({ 'clawpod.group': 'ops', 'clawpod.message.id': m.id, 'clawpod.outcome': 'answered' });
    for (const n of ['queue', 'session.start', 'deliver', 'turn']) expect(parentOf(byName(all, n)[0]!), n).toBe(root);
    expect(byName(all, 'tool.bash')[0]!.spanContext().spanId).toBe('3333333333333333');
    expect(parentOf(byName(all, 'tool.bash')[0]!)).toBe('2222222222222222');
    const llm = byName(all, 'llm.call')[0]!;
    expect(parentOf(llm)).toBe('1111111111111111');
    expect(llm.attributes).toMatchObject({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'scripted', 'clawpod.model': 'fix', 'http.response.status_code': 200, 'gen_ai.usage.input_tokens': 12 });
  });

  it('does not trust a call\'s traceparent from another trace; a call of no traced message is a root', async () => {
    const { t, spans } = await traced();
    t.queued(m);
    const tp = t.delivering(m, 's_1', 'stdin')!;
    t.runnerEvent('s_1', new Set([m.id]), { type: 'start', messageId: m.id });
    t.llmCall({ group: 'ops', sessionId: 's_1', provider: 'openai', traceparent: `00-${'9'.repeat(32)}-1111111111111111-01` })({ model: 'fix', providerModel: 'x', status: 429, input: 0, output: 0 });
    t.llmCall({ group: 'tenant-a', sessionId: null, provider: 'anthropic', traceparent: undefined })({ model: null, providerModel: null, status: 401, input: 0, output: 0 });
    const all = await spans();
    const [inMessage, alone] = byName(all, 'llm.call');
    expect(inMessage!.spanContext().traceId).toBe(tp.split('-')[1]);
    expect(parentOf(inMessage!)).toBe(tp.split('-')[2]);
    expect(inMessage!.status.code).toBe(2);
    expect(parentOf(alone!)).toBeUndefined();
    expect(byName(all, 'message')[0]!.attributes['clawpod.outcome']).toBe('unfinished');
  });

  it('refuses span frames of a message the session is not running, and past the per-message limit (reported once)', async () => {
    const { t, spans } = await traced();
    t.queued(m);
    t.delivering(m, 's_1', 'dir');
    const frame = (i: number, messageId = m.id): RunnerEvent => ({ type: 'span', messageId, spanId: i.toString(16).padStart(16, 'a'), parentSpanId: 'bbbbbbbbbbbbbbbb', name: 'tool.bash', startMs: Date.now(), endMs: Date.now() });
    expect(t.runnerEvent('s_1', new Set([m.id]), frame(1, 'm_other'))).toContain('not running');
    const answers = Array.from({ length: SPAN_LIMITS.perMessage + 5 }, (_, i) => t.runnerEvent('s_1', new Set([m.id]), frame(i)));
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(answers[SPAN_LIMITS.perMessage]).toContain(`more than ${SPAN_LIMITS.perMessage}`);
    t.failed(m.id);
    const all = await spans();
    expect(byName(all, 'tool.bash')).toHaveLength(SPAN_LIMITS.perMessage);
    expect(byName(all, 'message')[0]!.status.code).toBe(2);
  });
});

describe('tracing settings', () => {
  const env = (o: Partial<OtelEnv> = {}): OtelEnv => ({ endpoint: undefined, tracesEndpoint: undefined, protocol: undefined, serviceName: undefined, disabled: false, ...o });

  it('is off unless an endpoint is set; OTEL_* variables win over spec.tracing', () => {
    expect(tracingSettings(env())).toBeUndefined();
    expect(tracingSettings(env(), { endpoint: 'http://c:4318/', serviceName: 'cp' })).toEqual({ url: 'http://c:4318/v1/traces', serviceName: 'cp', from: 'spec.tracing.endpoint' });
    expect(tracingSettings(env({ endpoint: 'http://e:4318', serviceName: 'svc' }), { endpoint: 'http://c:4318' })).toMatchObject({ url: 'http://e:4318/v1/traces', serviceName: 'svc', from: 'OTEL_EXPORTER_OTLP_ENDPOINT' });
    expect(tracingSettings(env({ endpoint: 'http://e:4318', tracesEndpoint: 'https://t/custom' }))).toMatchObject({ url: 'https://t/custom', serviceName: 'clawpod' });
    expect(tracingSettings(env({ endpoint: 'http://e:4318', disabled: true }))).toBeUndefined();
  });

  it('refuses what cannot work, naming the variable and the fix', () => {
    expect(() => tracingSettings(env({ endpoint: 'collector:4318' }))).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: expected an http:\/\/ or https:\/\/ URL/);
    expect(() => tracingSettings(env({ endpoint: 'http://c:4317', protocol: 'grpc' }))).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringContaining('4318') }));
  });

  it('checks spec.tracing in the ControlPlane file with the path named', () => {
    const parse = (tracing: unknown) => ControlPlaneSchema.safeParse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane', spec: { tracing } });
    expect(parse({ endpoint: 'http://127.0.0.1:4318' }).data?.spec.tracing).toEqual({ endpoint: 'http://127.0.0.1:4318', serviceName: 'clawpod' });
    const bad = parse({ endpoint: 'grpc://c:4317', extra: 1 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec\.tracing\.endpoint: expected an http:\/\/ or https:\/\/ URL \(OTLP\/HTTP\)/),
      expect.stringMatching(/^spec\.tracing/),
    ]));
  });
});
