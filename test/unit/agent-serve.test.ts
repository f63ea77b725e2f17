// `clawpod-agent serve` as a real process (the TS sources bundled by esbuild into a temp folder,
// so dist/ is not needed) with the config the `runner` profile renders, against the scripted model
// server: probes, the bearer guard and its rotation, answers with and without a tool round, the
// conversation log, bad requests, upstream errors without token leaks, concurrency, SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerGatewayUrl } from '../../src/ops/payload.js';
import { runner } from '../../src/profiles/runner.js';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GATEWAY = 'gw-token-5b1e9d7c2f';
const GATEWAY2 = 'gw-token-rotated-8a2f61';
const LLM = 'llm-token-c0ffee4242';
const SECRETS = [GATEWAY, GATEWAY2, LLM];
const VERSION = '9.9.9-test';

let tmp: string;
let bundle: string;
let model: ModelServer;
let reply: (req: ScriptRequest) => Reply | Promise<Reply> = () => ({ text: 'unset' });
const started: Served[] = [];

interface Served {
  readonly child: ChildProcess;
  readonly home: string;
  readonly secrets: string;
  readonly base: string;
  readonly exited: Promise<number | null>;
  stderr: string;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'agent-serve-'));
  bundle = join(tmp, 'clawpod-agent.mjs');
  // the same recipe as scripts/bundle.mjs, from the TS sources
  await build({
    entryPoints: [join(ROOT, 'src/agent/main.ts')], bundle: true, platform: 'node', target: 'node20', format: 'esm', outfile: bundle, logLevel: 'warning',
    define: { __CLAWPOD_RUNNER_VERSION__: JSON.stringify(VERSION) },
    // ssh2's optional native parts stay out, and its CommonJS needs __dirname (scripts/bundle.mjs says why)
    external: ['cpu-features', '*.node'],
    banner: { js: "import { createRequire as __clawpodRequire } from 'node:module'; import { fileURLToPath as __clawpodPath } from 'node:url'; const require = __clawpodRequire(import.meta.url); const __filename = __clawpodPath(import.meta.url); const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));" },
  });
  // 127.0.0.2: containerGatewayUrl refuses 127.0.0.1 (no container reaches it); Linux routes all of 127/8 to lo
  model = await startModelServer((req) => reply(req), { host: '127.0.0.2' });
});
afterAll(async () => {
  for (const s of started) s.child.kill('SIGKILL');
  await model?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts serve mode with runner.json as the profile renders it (the port moved to a free one). */
async function startServe(o: { api?: 'anthropic' | 'openai'; wired?: boolean; config?: string } = {}): Promise<Served> {
  const home = mkdtempSync(join(tmp, 'home-'));
  const secrets = mkdtempSync(join(tmp, 'secrets-'));
  writeFileSync(join(secrets, 'gateway-token'), `${GATEWAY}\n`);
  writeFileSync(join(secrets, 'llm-token'), `${LLM}\n`);
  const port = await freePort();
  const api = o.api ?? 'anthropic';
  const llm = { baseUrl: containerGatewayUrl(`127.0.0.2:${model.port}`, api), api, model: 'claude-test', tokenFile: join(secrets, 'llm-token') };
  const rendered = runner.config!.render({ instance: 't', secretsDir: secrets, ...(o.wired === false ? {} : { llm }) });
  mkdirSync(join(home, '.clawpod'));
  writeFileSync(join(home, runner.config!.file), o.config ?? JSON.stringify({ ...rendered, port }));
  const child = spawn(process.execPath, [bundle, 'serve'], { env: { PATH: process.env.PATH ?? '', HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  const s: Served = { child, home, secrets, base: `http://127.0.0.1:${port}`, stderr: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr!.on('data', (d: Buffer) => { s.stderr += d.toString(); });
  started.push(s);
  if (o.config !== undefined) return s;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${s.stderr}`);
    try { if ((await fetch(`${s.base}/healthz`)).ok) return s; } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`serve did not answer /healthz within 10 s: ${s.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function chat(s: Served, body: unknown, token: string | null = GATEWAY): Promise<{ status: number; text: string; json: Json }> {
  const r = await fetch(`${s.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) as Json };
}

const ask = (text: string, user?: string) => ({ model: 'ignored', messages: [{ role: 'user', content: text }], ...(user ? { user } : {}) });
const noSecrets = (text: string) => { for (const t of SECRETS) expect(text).not.toContain(t); };

describe('clawpod-agent serve', () => {
  let s: Served;
  beforeAll(async () => { s = await startServe(); });

  it('answers its probes, and refuses a chat without the gateway token', async () => {
    const health = await fetch(`${s.base}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
    const ready = await fetch(`${s.base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true }]);
    for (const token of [null, 'wrong', `${GATEWAY}x`]) {
      const r = await chat(s, ask('hi'), token);
      expect(r.status).toBe(401);
      expect(r.json.error).toMatchObject({ type: 'authentication_error', message: expect.stringContaining('Bearer') });
    }
    expect((await fetch(`${s.base}/v1/chat/completions`)).status).toBe(405);
    expect((await fetch(`${s.base}/nope`)).status).toBe(404);
    expect(model.requests).toHaveLength(0);
  });

  it('answers a conversation through the model, with the model token from its file', async () => {
    reply = (req) => ({ text: `hello, ${req.last.text}` });
    const r = await chat(s, { model: 'gpt-whatever', user: 'conv-1', messages: [
      { role: 'system', content: 'be brief' }, { role: 'user', content: 'first' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: [{ type: 'text', text: 'world' }] },
    ] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      id: expect.stringMatching(/^chatcmpl-/), object: 'chat.completion', created: expect.any(Number), model: 'claude-test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello, world' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
      clawpod: { toolCalls: [], stopReason: 'end_turn', version: VERSION },
    });
    const sent = model.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(LLM);
    expect(sent.model).toBe('claude-test');
    expect(sent.messages.map((m) => [m.role, m.text])).toEqual([['system', 'be brief'], ['user', 'first'], ['assistant', 'ok'], ['user', 'world']]);
    expect(sent.tools).toEqual(['bash', 'read_file', 'write_file', 'edit_file', 'list_files']);
  });

  it('runs a tool round in the workspace and names the tools it called', async () => {
    reply = (req) => (req.last.toolResults.length ? { text: `done: ${req.last.toolResults[0]!.output.trim()}` } : { toolCalls: [{ name: 'bash', input: { command: 'echo hi; pwd' } }] });
    const r = await chat(s, ask('say hi', 'conv-2'));
    expect(r.status).toBe(200);
    // bash ran in the workspace, which serve created
    expect(r.json.choices[0].message.content).toMatch(new RegExp(`^done: hi\\n${join(s.home, 'workspace')}\\n`));
    expect(r.json.clawpod.toolCalls).toEqual([{ name: 'bash' }]);
    const lines = readFileSync(join(s.home, '.clawpod', 'conversations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines).toEqual([
      { at: expect.any(String), user: 'conv-1', prompt: 'world', answer: 'hello, world', toolCalls: [] },
      { at: expect.any(String), user: 'conv-2', prompt: 'say hi', answer: r.json.choices[0].message.content, toolCalls: ['bash'] },
    ]);
  });

  it('refuses bad JSON, a conversation not ending with the user, streaming, and a body over 1 MiB', async () => {
    const before = model.requests.length;
    const bad = await chat(s, '{"messages": [');
    expect([bad.status, bad.json.error.type]).toEqual([400, 'invalid_request_error']);
    expect(bad.json.error.message).toContain('not JSON');
    expect((await chat(s, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] })).status).toBe(400);
    expect((await chat(s, { messages: [{ role: 'robot', content: 'a' }] })).json.error.message).toContain('messages[0].role');
    expect((await chat(s, { ...ask('x'), stream: true })).status).toBe(400);
    const big = await chat(s, ask('x'.repeat(2 * 1024 * 1024)));
    expect([big.status, big.json.error.type]).toEqual([413, 'invalid_request_error']);
    expect(model.requests.length).toBe(before);
  });

  it('answers 502 with the upstream status and message when the model fails, tokens redacted', async () => {
    reply = () => ({ error: { status: 500, message: `overloaded; you sent key ${LLM} via ${GATEWAY}` } });
    const r = await chat(s, ask('hi'));
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ type: 'upstream_error', upstream_status: 500, message: expect.stringContaining('HTTP 500: overloaded; you sent key [redacted]') });
    noSecrets(r.text);
    noSecrets(s.stderr);
  });

  it('keeps concurrent conversations apart', async () => {
    reply = (req) => ({ text: `re:${req.last.text}`, chunkDelayMs: 30 });
    const rs = await Promise.all(['a', 'b', 'c', 'd'].map((t, i) => chat(s, ask(t, i % 2 ? 'same' : `own-${t}`))));
    expect(rs.map((r) => [r.status, r.json.choices[0].message.content])).toEqual([[200, 're:a'], [200, 're:b'], [200, 're:c'], [200, 're:d']]);
  });

  it('takes a rotated gateway token at the next request, and refuses the old one', async () => {
    reply = () => ({ text: 'rotated' });
    writeFileSync(join(s.secrets, 'gateway-token'), `${GATEWAY2}\n`);
    expect((await chat(s, ask('hi'), GATEWAY2)).json.choices[0].message.content).toBe('rotated');
    expect((await chat(s, ask('hi'), GATEWAY)).status).toBe(401);
  });

  it('exits 0 promptly on SIGTERM, cancelling a request in flight with 503; no token was ever logged', async () => {
    reply = () => ({ hang: true });
    const pending = chat(s, ask('wait'), GATEWAY2);
    const deadline = Date.now() + 5000;
    while (model.requests.at(-1)?.last.text !== 'wait' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    const r = await pending;
    expect([r.status, r.json.error.type]).toEqual([503, 'server_error']);
    noSecrets(s.stderr);
    expect(s.stderr).toContain('listening on 0.0.0.0');
  });
});

describe('clawpod-agent serve, other configs', () => {
  it('is not ready without a model, and says so', async () => {
    const s = await startServe({ wired: false });
    const ready = await fetch(`${s.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reason: expect.stringContaining('no llm') });
    const r = await chat(s, ask('hi'));
    expect([r.status, r.json.error.message]).toEqual([503, expect.stringContaining('no model is configured')]);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });

  it('speaks the OpenAI wire to the gateway at the /v1 base the profile renders', async () => {
    const s = await startServe({ api: 'openai' });
    reply = () => ({ text: 'from openai' });
    const r = await chat(s, ask('hi'));
    expect(r.json.choices[0].message.content).toBe('from openai');
    expect(model.requests.at(-1)!.path).toBe('/v1/chat/completions');
    expect(model.requests.at(-1)!.headers.authorization).toBe(`Bearer ${LLM}`);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('exits 2 with one clear line when the config is missing or invalid', async () => {
    const missing = spawn(process.execPath, [bundle, 'serve'], { env: { PATH: process.env.PATH ?? '', HOME: join(tmp, 'no-such-home') }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    missing.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    expect(await new Promise((resolve) => missing.on('exit', resolve))).toBe(2);
    expect(err).toContain(`cannot read the serve config ${join(tmp, 'no-such-home', '.clawpod', 'runner.json')}: ENOENT`);
    const bad = await startServe({ config: JSON.stringify({ port: 'x', llm: { api: 'gemini' } }) });
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toMatch(/invalid: port: found "x".*gatewayTokenFile: found nothing.*llm\.baseUrl.*llm\.api: found "gemini"/);
    expect(existsSync(join(bad.home, 'workspace'))).toBe(false);
  });
});
