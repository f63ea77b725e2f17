// The session: the tool loop over a real model client (scripted server), one message at a time
// in order, history across follow-ups, errors that do not end the session, max_turns, stop(),
// and MCP servers' tools.
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redactor } from '../../src/agent/frames.js';
import type { RunnerEvent } from '../../src/agent/protocol.js';
import type { SpanFrame } from '../../src/agent/trace-context.js';
import { HttpTransport, modelClient } from '../../src/agent/providers/index.js';
import { AgentSession } from '../../src/agent/session.js';
import { builtinTools } from '../../src/agent/tools/builtin.js';
import { startMcp } from '../../src/agent/tools/mcp.js';
import { ToolBox } from '../../src/agent/tools/toolbox.js';
import { Workspace } from '../../src/agent/tools/workspace.js';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';

const KEY = 'sk-session-secret-42';
const MCP_SERVER = fileURLToPath(new URL('../fixtures/mcp-echo-server.mjs', import.meta.url));
let reply: (req: ScriptRequest) => Reply;
let server: ModelServer;
const transport = new HttpTransport();
beforeAll(async () => { server = await startModelServer((req) => reply(req), { host: '127.0.0.1' }); });
afterAll(async () => { transport.close(); await server.close(); });

function session(o: { maxTurns?: number; timeoutMs?: number; tools?: ToolBox } = {}): { s: AgentSession; events: RunnerEvent[]; logs: string[]; tools: ToolBox } {
  const ws = realpathSync(mkdtempSync(join(tmpdir(), 'agent-session-')));
  const tools = o.tools ?? new ToolBox();
  if (!o.tools) for (const t of builtinTools({ workspace: new Workspace(ws), env: { PATH: process.env.PATH ?? '' }, bashTimeoutMs: 5000, maxOutputBytes: 4096 })) tools.add(t);
  const events: RunnerEvent[] = [];
  const logs: string[] = [];
  const s = new AgentSession({
    client: modelClient({ provider: 'openai', model: 'm', apiKey: KEY, baseUrl: server.baseUrl('openai'), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }, transport),
    tools, emit: (e) => events.push(e), redact: redactor([KEY]), log: (l) => logs.push(l), maxTurns: o.maxTurns ?? 20, system: 'sys',
  });
  return { s, events, logs, tools };
}

const kinds = (events: RunnerEvent[]): string[] => events.map((e) => ('messageId' in e && e.messageId ? `${e.type}:${e.messageId}` : e.type));

describe('AgentSession', () => {
  it('runs the tool loop: text streams, bash runs, its result goes back, then end_turn', async () => {
    reply = (req) => (req.last.toolResults.length ? { text: `the file says ${req.last.toolResults[0]!.output.split('\n')[0]}` } : { text: 'Writing.', toolCalls: [{ name: 'bash', input: { command: 'echo hi > f.txt && cat f.txt' } }] });
    const { s, events, tools } = session();
    s.push({ type: 'message', id: 'm1', text: 'go' });
    s.push({ type: 'close' });
    await s.run(tools.specs());
    expect(kinds(events)).toEqual(['start:m1', 'text:m1', 'text:m1', 'text:m1', 'tool_call:m1', 'tool_result:m1', 'text:m1', 'text:m1', 'text:m1', 'end:m1', 'closed']);
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ output: 'hi\n[exit code 0]', isError: false });
    expect(server.requests.at(-1)!.tools).toEqual(['bash', 'read_file', 'write_file', 'edit_file', 'list_files']);
    expect(events.filter((e) => e.type === 'text').slice(3).map((e) => (e as { delta: string }).delta).join('')).toBe('the file says hi');
    expect(events.find((e) => e.type === 'end')).toMatchObject({ stopReason: 'end_turn', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } });
  });

  it('answers follow-ups one at a time, in order, with the history of the earlier ones', async () => {
    let n = 0;
    reply = (req) => ({ text: `answer ${++n} to ${req.last.text} after ${req.messages.length} messages`, chunkDelayMs: 5 });
    const { s, events } = session();
    s.push({ type: 'message', id: 'a', text: 'first' });
    const done = s.run([]);
    s.push({ type: 'message', id: 'b', text: 'second' });
    s.push({ type: 'message', id: 'c', text: 'third' });
    s.push({ type: 'close' });
    s.push({ type: 'message', id: 'late', text: 'after close' });
    await done;
    expect(kinds(events).filter((k) => !k.startsWith('text'))).toEqual(['start:a', 'end:a', 'start:b', 'end:b', 'start:c', 'end:c', 'closed']);
    // system + alternating user/assistant: each call saw everything before it
    expect(server.requests.slice(-3).map((r) => r.messages.length)).toEqual([2, 4, 6]);
    expect(server.requests.at(-1)!.messages.map((m) => m.text)).toEqual(['sys', 'first', 'answer 1 to first after 2 messages', 'second', 'answer 2 to second after 4 messages', 'third']);
  });

  it('reports a provider error with error+end, redacts the key, and keeps going', async () => {
    reply = (req) => (req.last.text.endsWith('boom') ? { error: { status: 401, message: `invalid key ${KEY}` } } : { text: `fine: ${req.last.text}` });
    const { s, events } = session();
    s.push({ type: 'message', id: 'm1', text: 'boom' });
    s.push({ type: 'message', id: 'm2', text: 'again' });
    s.push({ type: 'close' });
    await s.run([]);
    const err = events.find((e) => e.type === 'error');
    expect(err).toMatchObject({ messageId: 'm1', code: 'provider_error', message: expect.stringContaining('answered HTTP 401: invalid key [redacted]') });
    expect(JSON.stringify(events)).not.toContain(KEY);
    expect(events.filter((e) => e.type === 'end').map((e) => (e as { stopReason: string }).stopReason)).toEqual(['error', 'end_turn']);
    // the failed message stays in the history, merged with the next one into one user turn
    expect(server.requests.at(-1)!.messages.map((m) => [m.role, m.text])).toEqual([['system', 'sys'], ['user', 'boom\n\nagain']]);
  });

  it('stops at maxTurns with every tool call answered', async () => {
    reply = () => ({ toolCalls: [{ name: 'bash', input: { command: 'true' } }] });
    const { s, events } = session({ maxTurns: 2 });
    s.push({ type: 'message', id: 'm1', text: 'loop forever' });
    s.push({ type: 'close' });
    await s.run([]);
    expect(events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
    expect(events.find((e) => e.type === 'end')).toMatchObject({ stopReason: 'max_turns' });
  });

  it('stop() cancels the message in flight promptly and drops the queue', async () => {
    reply = () => ({ hang: true });
    const { s, events, logs } = session();
    s.push({ type: 'message', id: 'm1', text: 'hang' });
    s.push({ type: 'message', id: 'm2', text: 'queued' });
    const done = s.run([]);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    s.stop('the runner received SIGTERM');
    await done;
    expect(Date.now() - t0).toBeLessThan(500);
    expect(kinds(events)).toEqual(['start:m1', 'error:m1', 'end:m1', 'closed']);
    expect(events[1]).toMatchObject({ code: 'internal', message: 'interrupted: the runner received SIGTERM' });
    expect(logs.join('\n')).toContain('not starting queued messages m2');
  });

  it('with a traceparent, reports its turn, model rounds and tool calls as span frames, before end; the model call carries the round\'s traceparent', async () => {
    reply = (req) => (req.last.toolResults.length || req.last.text !== 'go' ? { text: 'done' } : { toolCalls: [{ name: 'bash', input: { command: 'exit 3' } }] });
    const { s, events, tools } = session();
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    s.push({ type: 'message', id: 'm1', text: 'go', traceparent: tp });
    s.push({ type: 'message', id: 'm2', text: 'untraced' });
    s.push({ type: 'close' });
    await s.run(tools.specs());
    const spans = events.filter((e): e is SpanFrame => e.type === 'span');
    expect(spans.map((x) => x.name)).toEqual(['model.round', 'tool.bash', 'model.round', 'turn']);
    expect(spans.every((x) => x.messageId === 'm1')).toBe(true);
    const turn = spans.at(-1)!;
    expect(turn).toMatchObject({ parentSpanId: '00f067aa0ba902b7', attributes: { 'clawpod.stop_reason': 'end_turn' } });
    expect(spans.slice(0, 3).every((x) => x.parentSpanId === turn.spanId)).toBe(true);
    expect(spans[1]).toMatchObject({ error: true, attributes: { 'gen_ai.tool.name': 'bash', 'clawpod.tool.exit_code': 3, 'clawpod.tool.is_error': true } });
    // every span of m1 before its end; m2 (no traceparent) has none
    expect(events.findIndex((e) => e.type === 'end')).toBeGreaterThan(events.findIndex((e) => e === turn));
    const calls = server.requests.slice(-3);
    expect(calls[0]!.headers.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${spans[0]!.spanId}-01`);
    expect(calls[1]!.headers.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${spans[2]!.spanId}-01`);
    expect(calls[2]!.headers.traceparent).toBeUndefined();
  });
});

describe('MCP tools', () => {
  it('exposes a stdio server\'s tools as mcp__SERVER__TOOL; a server that fails is reported and skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mcp-'));
    const config = join(dir, 'servers.json');
    writeFileSync(config, JSON.stringify({ mcpServers: {
      echo: { command: process.execPath, args: [MCP_SERVER], env: { FLAVOR: 'mint' } },
      broken: { command: '/nonexistent/mcp-server' },
    } }));
    const errors: string[] = [];
    process.env.CLAWPOD_TEST_SECRET = 'x';
    const mcp = await startMcp(config, { cwd: dir, maxOutputBytes: 4096, startTimeoutMs: 10_000, onError: (m) => errors.push(m) });
    delete process.env.CLAWPOD_TEST_SECRET;
    try {
      expect(mcp.tools.map((t) => t.spec.name)).toEqual(['mcp__echo__echo']);
      expect(errors).toEqual([expect.stringMatching(/^MCP server "broken" \(\/nonexistent\/mcp-server\) failed to start: .*; continuing without its tools$/)]);
      const box = new ToolBox();
      for (const t of mcp.tools) box.add(t);
      reply = (req) => (req.last.toolResults.length ? { text: req.last.toolResults[0]!.output } : { toolCalls: [{ name: 'mcp__echo__echo', input: { text: 'ping' } }] });
      const { s, events } = session({ tools: box });
      s.push({ type: 'message', id: 'm1', text: 'use mcp' });
      s.push({ type: 'close' });
      await s.run(box.specs());
      expect(server.requests.at(-2)!.tools).toEqual(['mcp__echo__echo']);
      expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ isError: false, output: 'echo: ping (secret visible: false, FLAVOR=mint)' });
      expect(await box.run({ type: 'tool_call', id: 'x', name: 'mcp__echo__echo', input: { text: 'fail' } }, new AbortController().signal)).toEqual({ output: 'echo refused', isError: true });
    } finally {
      await mcp.close();
    }
  });

  it('reaches a streamable-HTTP server through a unix socket with the bearer token of its tokenFile', async () => {
    const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
    const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
    const dir = mkdtempSync(join(tmpdir(), 'agent-mcp-http-'));
    const sock = join(dir, 'mcp.sock');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'mcp-token-0123456789\n');
    const seen: string[] = [];
    const http = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      if (req.headers.authorization !== 'Bearer mcp-token-0123456789') { res.writeHead(401).end('{"error":"no token"}'); return; }
      const mcp = new McpServer({ name: 'sock', version: '1' });
      mcp.registerTool('hello', { description: 'says hello', inputSchema: { who: z.string() } }, ({ who }) => ({ content: [{ type: 'text', text: `hello ${who}` }] }));
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => { void t.close(); void mcp.close(); });
      void mcp.connect(t).then(() => t.handleRequest(req, res));
    });
    await new Promise<void>((r) => http.listen(sock, r));
    const errors: string[] = [];
    const o = { cwd: dir, maxOutputBytes: 4096, startTimeoutMs: 10_000, onError: (m: string) => errors.push(m) };
    const mcp = await startMcp(undefined, { ...o, servers: {
      sock: { url: 'http://clawpod/mcp', socketPath: sock, tokenFile },
      nofile: { url: 'http://clawpod/mcp', socketPath: sock, tokenFile: join(dir, 'missing') },
      wrong: { url: 'http://clawpod/mcp', socketPath: sock },
    } });
    try {
      expect(mcp.tools.map((t) => t.spec.name)).toEqual(['mcp__sock__hello']);
      expect(await mcp.tools[0]!.run({ who: 'pod' }, new AbortController().signal)).toEqual({ output: 'hello pod', isError: false });
      expect(errors.sort()).toEqual([
        expect.stringMatching(/^MCP server "nofile" \(http:\/\/clawpod\/mcp via .*mcp.sock\) failed to start: cannot read its tokenFile .*missing: ENOENT/),
        expect.stringMatching(/^MCP server "wrong" .*failed to start: .*no token/),
      ]);
      expect(seen.some((l) => l.startsWith('POST /mcp Bearer mcp-token-0123456789'))).toBe(true);
      expect(errors.join()).not.toContain('mcp-token-0123456789');
    } finally {
      await mcp.close();
      http.closeAllConnections();
      http.close();
    }
  });

  it('treats a missing config file as no MCP tools and a malformed one as an error', async () => {
    const errors: string[] = [];
    const o = { cwd: '/', maxOutputBytes: 100, startTimeoutMs: 1000, onError: (m: string) => errors.push(m) };
    expect((await startMcp('/nonexistent/servers.json', o)).tools).toEqual([]);
    const bad = join(mkdtempSync(join(tmpdir(), 'agent-mcp-')), 'servers.json');
    writeFileSync(bad, '{"fs":{}}');
    expect((await startMcp(bad, o)).tools).toEqual([]);
    expect(errors).toEqual([expect.stringContaining(`tools.mcpConfig ${bad}: expected { "mcpServers"`)]);
  });
});
