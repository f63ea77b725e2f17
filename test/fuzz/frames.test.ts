// Property-based fuzzing of the runner's wire protocol (src/agent/protocol.ts): stdout frames read
// by the host, stdin lines read by the runner. Whatever bytes arrive, in whatever chunks, the host
// gets the runner's events back exactly, and anything else is noise or a malformed frame, never
// an exception and never an event with mistyped fields; the runner answers bad stdin with BadInput.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLine, encodeFrame, LineSplitter, type RunnerEvent } from '../../src/agent/protocol.js';
import { BadInput, parseInbound, parseStartDoc } from '../../src/agent/start-doc.js';
import { params, timed } from './fuzz-kit.js';

const NONCE = 'n0nce-fuzz';
const OPEN = `<<<CLAWPOD:${NONCE}>>>`;
const CLOSE = `<<<END:${NONCE}>>>`;
const text = fc.string({ unit: 'binary', maxLength: 60 }); // any code point: multi-byte UTF-8, newlines, U+2028, NUL

const event: fc.Arbitrary<RunnerEvent> = fc.oneof(
  fc.record({ type: fc.constant('ready' as const), runner: text, version: text }),
  fc.record({ type: fc.constant('start' as const), messageId: text }),
  fc.record({ type: fc.constant('text' as const), messageId: text, delta: text }),
  fc.record({ type: fc.constant('tool_call' as const), messageId: text, id: text, name: text, input: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ type: fc.constant('tool_result' as const), messageId: text, id: text, output: text, isError: fc.boolean() }),
  fc.record({ type: fc.constant('error' as const), code: fc.constantFrom('provider_error' as const, 'tool_error' as const, 'bad_input' as const), message: text }),
  fc.record({ type: fc.constant('end' as const), messageId: text, stopReason: fc.constantFrom('end_turn' as const, 'max_turns' as const, 'error' as const), usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }) }),
  fc.constant({ type: 'closed' as const }),
);

/** Output a model or a tool might print: anything without a newline that does not start with the real nonce's marker. */
const noise = fc.oneof(text, fc.constantFrom('<<<CLAWPOD:guess>>>{"type":"closed"}<<<END:guess>>>', `${OPEN}`, `${OPEN}{"type":"closed"}`, `${OPEN}null${CLOSE}`,
  `${OPEN}{"type":"start","messageId":5}${CLOSE}`, `${OPEN}{"type":"end","messageId":{}}${CLOSE}`, `${OPEN}{"type":"__proto__"}${CLOSE}`, `${OPEN}{"type":"toString"}${CLOSE}`, `${OPEN}[]${CLOSE}`))
  .map((s) => s.replace(/\n/g, ' '));

/** `bytes` cut at the given (sorted, deduplicated) points. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...at, bytes.length]) { out.push(bytes.subarray(prev, p)); prev = p; }
  return out;
}

function readAll(chunks: readonly (Buffer | string)[], maxLine?: number): string[] {
  const s = new LineSplitter(maxLine);
  return [...chunks.flatMap((c) => s.push(c)), ...s.flush()];
}

describe('fuzz: runner frames', () => {
  it('events framed between noise, cut at any byte, come back exactly (and only they)', () => {
    const stream = fc.array(fc.oneof(event.map((e) => ({ e })), noise.map((n) => ({ n }))), { maxLength: 12 });
    timed('frames round trip (4000)', () => fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (items, points) => {
      const bytes = Buffer.from(items.map((i) => ('e' in i ? encodeFrame(NONCE, i.e) : `${i.n}\n`)).join(''), 'utf8');
      const events = readAll(cut(bytes, points)).map((l) => decodeLine(NONCE, l)).filter((d) => d.kind === 'event').map((d) => d.event);
      expect(events).toEqual(items.filter((i) => 'e' in i).map((i) => JSON.parse(JSON.stringify(i.e)) as unknown));
    }), params(4000)));
  });

  it('any line → event, malformed or noise; an event always has the fields its type promises', () => {
    const framed = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => `${OPEN}${JSON.stringify(v)}${CLOSE}`),
      fc.record({ type: fc.constantFrom('ready', 'start', 'text', 'tool_call', 'tool_result', 'error', 'end', 'closed', 'constructor'), messageId: fc.jsonValue({ maxDepth: 1 }), delta: fc.jsonValue({ maxDepth: 1 }), stopReason: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['type'] })
        .map((v) => `${OPEN}${JSON.stringify(v)}${CLOSE}`),
      fc.string({ unit: 'binary', maxLength: 80 }).map((s) => `${OPEN}${s}`), fc.string({ unit: 'binary', maxLength: 80 }));
    timed('frame lines (5000)', () => fc.assert(fc.property(framed, (line) => {
      const d = decodeLine(NONCE, line);
      expect(['event', 'malformed', 'noise']).toContain(d.kind);
      if (d.kind !== 'event') return;
      const e = d.event as unknown as Record<string, unknown>;
      if (e.type !== 'ready' && e.type !== 'closed' && e.type !== 'error') expect(typeof e.messageId).toBe('string');
      if (e.type === 'text') expect(typeof e.delta).toBe('string');
      if (e.type === 'end') expect(['end_turn', 'max_turns', 'error']).toContain(e.stopReason);
    }), params(5000)));
  });

  it('oversized lines: the splitter holds at most maxLine (plus one chunk), and loses no byte', () => {
    const chunks = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\n', 'x'.repeat(300), `${'y'.repeat(70)}\n`)), { maxLength: 30 });
    timed('oversized lines (3000)', () => fc.assert(fc.property(chunks, fc.integer({ min: 1, max: 64 }), (cs, max) => {
      const lines = readAll(cs, max);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(max + Math.max(0, ...cs.map((c) => c.length)));
      expect(lines.join('')).toBe(cs.join('').replace(/\n/g, ''));
    }), params(3000)));
  });

  it('a runner dripping a 4 MiB line one small chunk at a time costs linear time', () => {
    const s = new LineSplitter();
    const drip = 'z'.repeat(64);
    const t0 = performance.now();
    for (let i = 0; i < (4 * 1024 * 1024) / 64 - 1; i++) s.push(drip);
    expect(s.push('\n')).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(5_000); // quadratic re-splitting took minutes
  });

  it('stdin lines (StartDoc, follow-ups) → a parsed value or BadInput', () => {
    const line = fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.string({ unit: 'binary', maxLength: 80 }),
      fc.record({ type: fc.constantFrom('start', 'message', 'close'), protocol: fc.constantFrom(1, 2, '1'), sessionId: fc.jsonValue({ maxDepth: 1 }), nonce: fc.jsonValue({ maxDepth: 1 }), id: fc.jsonValue({ maxDepth: 1 }), text: fc.jsonValue({ maxDepth: 1 }),
        message: fc.jsonValue({ maxDepth: 2 }), model: fc.jsonValue({ maxDepth: 2 }), workspace: fc.jsonValue({ maxDepth: 1 }), tools: fc.jsonValue({ maxDepth: 3 }), input: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)));
    timed('stdin lines (4000)', () => fc.assert(fc.property(line, (l) => {
      for (const parse of [() => parseStartDoc(l), () => parseInbound(l, 'stdin line')]) {
        try { parse(); } catch (e) {
          expect(e).toBeInstanceOf(BadInput);
          expect((e as BadInput).message.length).toBeGreaterThan(0);
        }
      }
    }), params(4000)));
  });
});
