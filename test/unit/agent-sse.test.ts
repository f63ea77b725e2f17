// The SSE parser every provider client shares.
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/agent/providers/sse.js';

describe('SseParser', () => {
  it('parses events split at any byte, with \\n, \\r\\n and \\r line ends', () => {
    const text = 'event: a\r\ndata: {"x":1}\r\n\r\n: a comment\rdata: line1\rdata: line2\r\rdata:nospace\n\n';
    const want = [{ event: 'a', data: '{"x":1}' }, { event: 'message', data: 'line1\nline2' }, { event: 'message', data: 'nospace' }];
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      expect([...p.push(text.slice(0, cut)), ...p.push(text.slice(cut)), ...p.end()], `cut at ${cut}`).toEqual(want);
    }
  });

  it('keeps a last event that lacks its blank line, and ignores unknown fields', () => {
    const p = new SseParser();
    expect(p.push('id: 7\nretry: 100\ndata: [DONE]')).toEqual([]);
    expect(p.end()).toEqual([{ event: 'message', data: '[DONE]' }]);
  });

  it('drops an event name without data', () => {
    const p = new SseParser();
    expect(p.push('event: ping\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });
});
