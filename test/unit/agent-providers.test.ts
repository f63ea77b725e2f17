// Each provider client against the scripted model server: streamed text, a tool call and its
// result going back, HTTP errors, stalls, malformed streams, and the unix-socket transport.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, ProviderTimeout } from '../../src/agent/errors.js';
import type { Provider } from '../../src/agent/protocol.js';
import { HttpTransport, modelClient, type ModelReply, type Turn } from '../../src/agent/providers/index.js';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';

const KEY = 'sk-test-0123456789abcdef';
const PROVIDERS: Provider[] = ['anthropic', 'openai', 'gemini'];
const KEY_HEADER: Record<Provider, (h: ScriptRequest['headers']) => unknown> = {
  anthropic: (h) => h['x-api-key'],
  openai: (h) => h.authorization?.replace(/^Bearer /, ''),
  gemini: (h) => h['x-goog-api-key'],
};
const TOOLS = [{ name: 'bash', description: 'run', inputSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } }];

let reply: (req: ScriptRequest) => Reply = () => ({ text: 'unset' });
let server: ModelServer;
const transport = new HttpTransport();
beforeAll(async () => { server = await startModelServer((req) => reply(req), { host: '127.0.0.1' }); });
afterAll(async () => { transport.close(); await server.close(); });
afterEach(() => { server.requests.length = 0; });

async function call(provider: Provider, turns: Turn[], o: { timeoutMs?: number; baseUrl?: string; system?: string } = {}): Promise<{ reply: ModelReply; deltas: string[] }> {
  const client = modelClient({ provider, model: `${provider}-model`, apiKey: KEY, baseUrl: o.baseUrl ?? server.baseUrl(provider), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }, transport);
  const deltas: string[] = [];
  const r = await client.complete({ turns, tools: TOOLS, signal: new AbortController().signal, onText: (d) => deltas.push(d), ...(o.system ? { system: o.system } : {}) });
  return { reply: r, deltas };
}

const user = (text: string): Turn => ({ role: 'user', parts: [{ type: 'text', text }] });

describe.each(PROVIDERS)('%s client', (provider) => {
  it('streams text in several deltas, sends the key in its header and the conversation as given', async () => {
    reply = () => ({ text: 'Hello from the scripted model.' });
    const { reply: r, deltas } = await call(provider, [user('hi')], { system: 'be brief' });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello from the scripted model.');
    expect(r.parts).toEqual([{ type: 'text', text: 'Hello from the scripted model.' }]);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    const req = server.requests[0]!;
    expect(KEY_HEADER[provider](req.headers)).toBe(KEY);
    expect(req.model).toBe(`${provider}-model`);
    expect(req.tools).toEqual(['bash']);
    expect(req.messages.map((m) => [m.role, m.text])).toEqual([['system', 'be brief'], ['user', 'hi']]);
  });

  it('returns a tool call with parsed input, and sends its result back on the next call', async () => {
    reply = () => ({ text: 'Let me look.', toolCalls: [{ name: 'bash', input: { command: 'ls -la' } }] });
    const first = await call(provider, [user('list files')]);
    const toolCall = first.reply.parts.find((p) => p.type === 'tool_call');
    expect(toolCall).toMatchObject({ type: 'tool_call', name: 'bash', input: { command: 'ls -la' } });
    expect(first.reply.parts[0]).toMatchObject({ type: 'text', text: 'Let me look.' });

    reply = (req) => ({ text: `saw: ${req.last.toolResults[0]?.output}` });
    const turns: Turn[] = [user('list files'), { role: 'assistant', parts: first.reply.parts }, {
      role: 'user', parts: [{ type: 'tool_result', id: (toolCall as { id: string }).id, name: 'bash', output: 'a.txt\n[exit code 0]', isError: false }],
    }];
    const second = await call(provider, turns);
    expect(second.deltas.join('')).toBe('saw: a.txt\n[exit code 0]');
    const sent = server.requests[1]!.messages;
    expect(sent[1]).toMatchObject({ role: 'assistant', toolCalls: [{ name: 'bash', input: { command: 'ls -la' } }] });
    expect(sent[2]!.toolResults).toEqual([expect.objectContaining({ output: 'a.txt\n[exit code 0]', isError: false })]);
    if (provider !== 'gemini') expect(sent[2]!.toolResults[0]!.id).toBe((toolCall as { id: string }).id);
    else expect((server.requests[1]!.raw as { contents: { parts: { thoughtSignature?: string }[] }[] }).contents[1]!.parts.some((p) => p.thoughtSignature?.startsWith('sig-'))).toBe(true);
  });

  it('turns an HTTP error into a ProviderError with the status and the provider message, never the key', async () => {
    reply = () => ({ error: { status: 429, message: `rate limited for key ${KEY.slice(0, 6)}` } });
    const err = await call(provider, [user('hi')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).status).toBe(429);
    expect((err as Error).message).toMatch(new RegExp(`^${provider} \\(model ${provider}-model, http://127.0.0.1:\\d+/.*\\) answered HTTP 429: rate limited for key sk-tes$`));
  });

  it('times out a stream that stalls, counting from the last byte', async () => {
    reply = () => ({ hang: true, afterText: 'partial answer' });
    const t0 = Date.now();
    const err = await call(provider, [user('hi')], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTimeout);
    expect((err as Error).message).toContain('sent nothing for 300 ms (model.timeoutMs)');
    expect(Date.now() - t0).toBeLessThan(2000);
    // slower overall than the timeout, but never silent for that long: no timeout
    reply = () => ({ text: 'slow but steady stream', chunkDelayMs: 80 });
    expect((await call(provider, [user('hi')], { timeoutMs: 300 })).deltas.join('')).toBe('slow but steady stream');
  });

  it('reports a malformed stream and a hung request without headers', async () => {
    reply = () => ({ garbage: true });
    await expect(call(provider, [user('hi')])).rejects.toThrow(new RegExp(`${provider} sent a malformed stream event`));
    reply = () => ({ hang: true });
    await expect(call(provider, [user('hi')], { timeoutMs: 200 })).rejects.toBeInstanceOf(ProviderTimeout);
  });
});

describe('provider quirks', () => {
  const sse = (...events: unknown[]): string => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');
  const call_ = (p: Provider): ReturnType<typeof call> => call(p, [user('hi')]);

  it('openai: whole calls at the same index with different ids are two calls; finish_reason without [DONE] ends the reply', async () => {
    const call = (id: string, cmd: string): unknown => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id, type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command: cmd }) } }] }, finish_reason: null }] });
    reply = () => ({ rawStream: sse(call('a', 'ls'), call('b', 'pwd'), { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }) });
    const { reply: r } = await call_('openai');
    expect(r.parts).toEqual([
      { type: 'tool_call', id: 'a', name: 'bash', input: { command: 'ls' } },
      { type: 'tool_call', id: 'b', name: 'bash', input: { command: 'pwd' } },
    ]);
  });

  it('flags tool arguments that are not JSON instead of failing the reply', async () => {
    reply = () => ({ rawStream: sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'x', function: { name: 'bash', arguments: '{"command": ' } }] } }] }, '[DONE]') });
    const { reply: r } = await call_('openai');
    expect(r.parts[0]).toMatchObject({ type: 'tool_call', id: 'x', input: {}, badArguments: expect.stringContaining('not valid JSON') });
  });

  it('anthropic: an error event mid-stream, and a stream cut before message_stop, are provider errors', async () => {
    reply = () => ({ rawStream: `event: error\n${sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}` });
    await expect(call_('anthropic')).rejects.toThrow('anthropic (model anthropic-model) reported overloaded_error mid-stream: Overloaded');
    reply = () => ({ rawStream: sse({ type: 'message_start', message: { usage: { input_tokens: 1 } } }, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'par' } }) });
    await expect(call_('anthropic')).rejects.toThrow('anthropic ended the stream before its final event');
  });

  it('gemini: a blocked prompt is a provider error; thought parts are not shown as text', async () => {
    reply = () => ({ rawStream: sse({ promptFeedback: { blockReason: 'SAFETY' } }) });
    await expect(call_('gemini')).rejects.toThrow('gemini (model gemini-model) blocked the prompt: SAFETY');
    reply = () => ({ rawStream: sse({ candidates: [{ content: { parts: [{ text: 'thinking...', thought: true }, { text: 'answer' }] }, finishReason: 'STOP' }] }) });
    expect((await call_('gemini')).deltas).toEqual(['answer']);
  });
});

describe('transport', () => {
  it('reaches every provider over a unix socket (unix:///PATH, and unix:///PATH:/v1 for OpenAI)', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'agent-sock-')), 'llm.sock');
    const unix = await startModelServer(() => ({ text: 'over the socket' }), { socketPath: sock });
    try {
      expect(unix.baseUrl('openai')).toBe(`unix://${sock}:/v1`);
      for (const p of PROVIDERS) {
        const { deltas } = await call(p, [user('hi')], { baseUrl: unix.baseUrl(p) });
        expect(deltas.join('')).toBe('over the socket');
      }
      expect(unix.requests.map((r) => r.path)).toEqual(['/v1/messages', '/v1/chat/completions', '/v1beta/models/gemini-model:streamGenerateContent?alt=sse']);
    } finally {
      await unix.close();
    }
  });

  it('names the endpoint it cannot reach', async () => {
    await expect(call('anthropic', [user('hi')], { baseUrl: 'unix:///nonexistent/llm.sock' })).rejects.toThrow(/cannot reach anthropic \(model anthropic-model, unix:\/nonexistent\/llm.sock \/v1\/messages\): ENOENT/);
    await expect(call('openai', [user('hi')], { baseUrl: 'ftp://x' })).rejects.toThrow(/unsupported scheme ftp:/);
  });
});
