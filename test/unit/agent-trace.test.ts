// Trace context across the container boundary: the traceparent the host hands the runner, the
// `span` frames the runner sends back (checked like every frame: a bad one is malformed, never
// an event), and the runner's span recorder (nothing without a sampled traceparent; capped; its
// frames kept for the write that carries the message's end).
import { describe, expect, it } from 'vitest';
import { decodeLine, encodeFrame } from '../../src/agent/protocol.js';
import { MessageSpans } from '../../src/agent/spans.js';
import { parseTraceparent, runnerAttributes, SPAN_LIMITS, toolSpanName, type SpanFrame } from '../../src/agent/trace-context.js';

const NONCE = 'n0nce';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TP = `00-${TRACE}-${PARENT}-01`;
const frame = (over: Record<string, unknown>): string => `<<<CLAWPOD:${NONCE}>>>${JSON.stringify({
  type: 'span', messageId: 'm1', spanId: 'a1b2c3d4e5f60718', parentSpanId: PARENT, name: 'tool.bash', startMs: 1_700_000_000_000, endMs: 1_700_000_000_050, ...over,
})}<<<END:${NONCE}>>>`;

describe('traceparent', () => {
  it('parses W3C trace contexts and refuses anything else', () => {
    expect(parseTraceparent(TP)).toEqual({ traceId: TRACE, spanId: PARENT, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.sampled).toBe(false);
    for (const bad of [undefined, 42, '', `01-${TRACE}-${PARENT}-01`, `00-${'0'.repeat(32)}-${PARENT}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `00-${TRACE.toUpperCase()}-${PARENT}-01`, `${TP}-extra`]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('span frames', () => {
  it('decodes a well-formed span frame as an event', () => {
    const d = decodeLine(NONCE, frame({ attributes: { 'clawpod.tool.exit_code': 0, 'gen_ai.tool.name': 'bash' } }));
    expect(d).toMatchObject({ kind: 'event', event: { type: 'span', name: 'tool.bash' } });
  });

  it('refuses forged or malformed ones as malformed frames, with the reason', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ spanId: 'xyz' }, 'fields'],
      [{ parentSpanId: 42 }, 'fields'],
      [{ name: 'message' }, 'fields'], // a runner cannot name its spans after the host's
      [{ name: 'tool.' + 'x'.repeat(65) }, 'fields'],
      [{ endMs: 1 }, 'fields'],
      [{ startMs: Number.NaN }, 'fields'],
      [{ messageId: 7 }, 'fields'],
      [{ error: 'yes' }, 'fields'],
      [{ attributes: { 'clawpod.tool.exit_code': 'fixture-key-123' } }, 'fields'], // a known key must hold its type
      [{ attributes: Object.fromEntries(Array.from({ length: SPAN_LIMITS.attributes + 1 }, (_, i) => [`k${i}`, 1])) }, 'fields'],
      [{ attributes: { 'gen_ai.tool.name': 'x'.repeat(SPAN_LIMITS.frameChars) } }, 'longer than'],
    ];
    for (const [over, reason] of cases) {
      const d = decodeLine(NONCE, frame(over));
      expect(d.kind, JSON.stringify(over).slice(0, 80)).toBe('malformed');
      expect(d.kind === 'malformed' && d.reason).toContain(reason);
    }
  });

  it('exports only the attributes it knows: a newer runner\'s extra keys are dropped, not trusted', () => {
    const d = decodeLine(NONCE, frame({ attributes: { 'clawpod.tool.exit_code': 2, 'prompt.text': 'the user said hello' } }));
    expect(d.kind).toBe('event');
    expect(runnerAttributes((d as { event: SpanFrame }).event)).toEqual({ 'clawpod.tool.exit_code': 2 });
  });

  it('names tool spans within the span-name grammar', () => {
    expect(toolSpanName('bash')).toBe('tool.bash');
    expect(toolSpanName('mcp__fs__read file')).toBe('tool.mcp__fs__read_file');
    expect(decodeLine(NONCE, frame({ name: toolSpanName('x'.repeat(200)) })).kind).toBe('event');
  });
});

describe('MessageSpans (runner side)', () => {
  const collect = (tp: string | undefined) => new MessageSpans('m1', tp);

  it('reports nothing without a sampled traceparent (an older host, tracing off)', () => {
    for (const tp of [undefined, 'garbage', `00-${TRACE}-${PARENT}-00`]) {
      const spans = collect(tp);
      const s = spans.start('turn');
      expect(s.traceparent).toBeUndefined();
      s.end({ 'clawpod.round': 1 });
      expect(spans.take()).toEqual([]);
    }
  });

  it('reports children of the message span, and of its own spans, in the message\'s trace; each once', () => {
    const spans = collect(TP);
    const turn = spans.start('turn');
    const round = spans.start('model.round', turn);
    expect(parseTraceparent(round.traceparent)?.traceId).toBe(TRACE);
    round.end({ 'clawpod.round': 1 });
    round.end({ 'clawpod.round': 1 });
    turn.end(undefined, true);
    const events = spans.take();
    const [r, t] = events;
    expect(events).toHaveLength(2);
    expect(spans.take()).toEqual([]);
    expect(t).toMatchObject({ name: 'turn', parentSpanId: PARENT, error: true });
    expect(r).toMatchObject({ name: 'model.round', parentSpanId: parseTraceparent(turn.traceparent)!.spanId, attributes: { 'clawpod.round': 1 } });
    for (const e of events) expect(decodeLine(NONCE, encodeFrame(NONCE, e).trimEnd()).kind).toBe('event');
  });

  it(`sends at most ${SPAN_LIMITS.perMessage} spans per message`, () => {
    const spans = collect(TP);
    for (let i = 0; i < SPAN_LIMITS.perMessage + 10; i++) spans.start('tool.bash').end();
    expect(spans.take()).toHaveLength(SPAN_LIMITS.perMessage);
  });
});
