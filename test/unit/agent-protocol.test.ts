// The wire contract: frames, line splitting, baseUrl parsing, and the runner's input checks.
import { describe, expect, it } from 'vitest';
import { decodeLine, encodeFrame, LineSplitter, parseBaseUrl, type RunnerEvent } from '../../src/agent/protocol.js';
import { parseInbound, parseStartDoc } from '../../src/agent/start-doc.js';

const NONCE = 'a3f9c2d18e7b4c60a3f9c2d18e7b4c60';

describe('frames', () => {
  it('round-trips every event through encode and decode', () => {
    const events: RunnerEvent[] = [
      { type: 'ready', runner: 'clawpod-agent', version: '1' },
      { type: 'text', messageId: 'm1', delta: 'line one\nline two <<<END:x>>>' },
      { type: 'tool_call', messageId: 'm1', id: 'c1', name: 'bash', input: { command: 'echo "hi"' } },
      { type: 'end', messageId: 'm1', stopReason: 'end_turn', usage: { inputTokens: 3, outputTokens: 4 } },
      { type: 'closed' },
    ];
    for (const e of events) {
      const line = encodeFrame(NONCE, e);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(decodeLine(NONCE, line.slice(0, -1))).toEqual({ kind: 'event', event: e });
    }
  });

  it('treats a frame with a guessed nonce as noise, not an event', () => {
    const forged = encodeFrame('0000000000000000', { type: 'end', messageId: 'm1', stopReason: 'end_turn' }).trimEnd();
    expect(decodeLine(NONCE, forged)).toEqual({ kind: 'noise', line: forged });
    expect(decodeLine(NONCE, 'plain output')).toMatchObject({ kind: 'noise' });
  });

  it('reports bad JSON, a missing end marker and an unknown type inside real markers as malformed', () => {
    const open = `<<<CLAWPOD:${NONCE}>>>`;
    const close = `<<<END:${NONCE}>>>`;
    expect(decodeLine(NONCE, `${open}{"type":"text",${close}`)).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('not JSON') });
    expect(decodeLine(NONCE, `${open}{"type":"closed"}`)).toMatchObject({ kind: 'malformed', reason: 'frame without its end marker' });
    expect(decodeLine(NONCE, `${open}{"type":"pwned"}${close}`)).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('unknown event type') });
    expect(decodeLine(NONCE, `${open}null${close}`)).toMatchObject({ kind: 'malformed' });
  });
});

describe('LineSplitter', () => {
  it('keeps a partial line until its newline arrives', () => {
    const s = new LineSplitter();
    expect(s.push('ab')).toEqual([]);
    expect(s.push('c\nde')).toEqual(['abc']);
    expect(s.push('f\n\ng\n')).toEqual(['def', '', 'g']);
    expect(s.push('tail')).toEqual([]);
    expect(s.flush()).toEqual(['tail']);
    expect(s.flush()).toEqual([]);
  });

  it('cuts a runaway line at maxLine', () => {
    const s = new LineSplitter(10);
    expect(s.push('x'.repeat(25))).toEqual(['x'.repeat(25)]);
    expect(s.push('ok\n')).toEqual(['ok']);
  });
});

describe('parseBaseUrl', () => {
  it('reads http(s) URLs and the unix-socket convention', () => {
    expect(parseBaseUrl('https://api.openai.com/v1')).toMatchObject({ kind: 'tcp' });
    expect(parseBaseUrl('unix:///run/clawpod/llm.sock')).toEqual({ kind: 'unix', socketPath: '/run/clawpod/llm.sock', pathPrefix: '' });
    expect(parseBaseUrl('unix:///run/clawpod/llm.sock:/v1/')).toEqual({ kind: 'unix', socketPath: '/run/clawpod/llm.sock', pathPrefix: '/v1' });
  });

  it('names the value and the expected form when it is wrong', () => {
    expect(() => parseBaseUrl('unix://relative.sock')).toThrow(/"unix:\/\/relative.sock".*absolute/);
    expect(() => parseBaseUrl('unix:///s.sock:v1')).toThrow(/must start with '\/'/);
    expect(() => parseBaseUrl('ftp://x')).toThrow(/unsupported scheme ftp:/);
    expect(() => parseBaseUrl('not a url')).toThrow(/"not a url" is not a URL/);
  });
});

describe('parseStartDoc', () => {
  const good = {
    type: 'start', protocol: 1, sessionId: 's1', nonce: NONCE, message: { id: 'm1', text: 'hi' },
    model: { provider: 'anthropic', model: 'claude', apiKey: 'sk-secret-key' }, workspace: '/workspace', input: { mode: 'stdin' },
  };

  it('accepts a valid document', () => {
    expect(parseStartDoc(JSON.stringify(good))).toEqual(good);
  });

  it('lists every problem at once with path and expectation, never echoing the key or nonce', () => {
    const bad = { ...good, protocol: 2, model: { provider: 'llama', apiKey: 42 }, input: { mode: 'dir', path: 'relative' } };
    let msg = '';
    try { parseStartDoc(JSON.stringify(bad)); } catch (e) { msg = (e as Error).message; }
    expect(msg).toContain('protocol: found 2, expected 1');
    expect(msg).toContain('model.provider: found "llama", expected anthropic | openai | gemini');
    expect(msg).toContain('model.model: found nothing');
    expect(msg).toContain('model.apiKey: found a non-string');
    expect(msg).toContain('input: found {"mode":"dir","path":"relative"}');
    expect(msg).not.toContain(NONCE);
    expect(() => parseStartDoc('{oops')).toThrow(/stdin line 1 is not JSON/);
  });

  it('reads follow-ups and says what it expected otherwise', () => {
    expect(parseInbound('{"type":"message","id":"m2","text":"more"}', 'x')).toEqual({ type: 'message', id: 'm2', text: 'more' });
    expect(parseInbound('{"type":"close"}', 'x')).toEqual({ type: 'close' });
    expect(() => parseInbound('{"type":"message"}', 'follow-up file /in/1.json')).toThrow(/follow-up file \/in\/1.json is .*expected \{"type":"message"/);
  });
});
