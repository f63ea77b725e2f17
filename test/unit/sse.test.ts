// The one SSE parser: the runner's provider clients, the gateway's usage count and ControlClient.
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/shared/sse.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Feeds `input` cut in two at `cut` (bytes when given bytes) and returns every event. */
function parseCut(input: string | Uint8Array, cut: number): SseEvent[] {
  const p = new SseParser();
  return [...p.push(input.slice(0, cut)), ...p.push(input.slice(cut)), ...p.end()];
}

describe('SseParser', () => {
  it('parses events split at any character, with \\n, \\r\\n and \\r line ends, comments and multi-line data', () => {
    const text = 'event: a\r\ndata: {"x":1}\r\n\r\n: a comment\rdata: line1\rdata: line2\r\rdata:nospace\n\n';
    const want = [{ event: 'a', data: '{"x":1}', id: '' }, { event: 'message', data: 'line1\nline2', id: '' }, { event: 'message', data: 'nospace', id: '' }];
    for (let cut = 0; cut <= text.length; cut++) expect(parseCut(text, cut), `cut at ${cut}`).toEqual(want);
  });

  it('puts a UTF-8 character split across chunks back together, at any byte', () => {
    const input = bytes('data: grüße 🦀 日本\r\n\r\n');
    for (let cut = 0; cut <= input.length; cut++) {
      expect(parseCut(input, cut), `cut at byte ${cut}`).toEqual([{ event: 'message', data: 'grüße 🦀 日本', id: '' }]);
    }
    // one byte per chunk, the worst case
    const p = new SseParser();
    const got = [...input].flatMap((b) => p.push(Uint8Array.of(b)));
    expect(got).toEqual([{ event: 'message', data: 'grüße 🦀 日本', id: '' }]);
  });

  it('ends an event at a \\r without waiting for the next chunk, and does not count a \\n after it twice', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\r')).toEqual([{ event: 'message', data: 'a', id: '' }]);
    const q = new SseParser();
    expect(q.push('data: a\r')).toEqual([]);
    expect(q.push('\n')).toEqual([]);
    expect(q.push('\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a', id: '' }, { event: 'message', data: 'b', id: '' }]);
  });

  it('keeps the last id across events, ignores one holding NUL, and takes only an all-digit retry', () => {
    const p = new SseParser();
    expect(p.push('id: 7\nretry: 1500\ndata: a\n\ndata: b\n\nid: 8\0\nretry: 2s\ndata: c\n\nid\ndata: d\n\n')).toEqual([
      { event: 'message', data: 'a', id: '7' },
      { event: 'message', data: 'b', id: '7' },
      { event: 'message', data: 'c', id: '7' },
      { event: 'message', data: 'd', id: '' },
    ]);
    expect(p.retry).toBe(1500);
  });

  it('keeps a last event that lacks its blank line, and ignores unknown fields', () => {
    const p = new SseParser();
    expect(p.push('id: 7\nretry: 100\nfoo: bar\ndata: [DONE]')).toEqual([]);
    expect(p.end()).toEqual([{ event: 'message', data: '[DONE]', id: '7' }]);
  });

  it('drops an event name without data, and resets the name after each event', () => {
    const p = new SseParser();
    expect(p.push('event: ping\n\ndata: x\n\nevent: a\ndata: y\n\ndata: z\n\n')).toEqual([
      { event: 'message', data: 'x', id: '' }, { event: 'a', data: 'y', id: '' }, { event: 'message', data: 'z', id: '' },
    ]);
  });

  it('strips one space after the colon only, and a bare `data` is an empty line of data', () => {
    const p = new SseParser();
    expect(p.push('data:  two\ndata\ndata:\n\n')).toEqual([{ event: 'message', data: ' two\n\n', id: '' }]);
  });

  it('skips a byte order mark at the start of the stream', () => {
    const p = new SseParser();
    expect([...p.push(Uint8Array.of(0xef, 0xbb)), ...p.push(Uint8Array.of(0xbf, ...bytes('data: x\n\n')))]).toEqual([{ event: 'message', data: 'x', id: '' }]);
  });
});
