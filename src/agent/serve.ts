// `clawpod-agent serve`: the reference runner as a long-running chat service (the `runner` payload
// profile), for tenants who want an endpoint rather than the control plane's stdin protocol.
//
// config  JSON at $CLAWPOD_RUNNER_CONFIG or $HOME/.clawpod/runner.json (clawpod seeds it onto the
//         state volume): { port, gatewayTokenFile, llm?: { baseUrl, api, model, tokenFile },
//         system?, workspace? ($HOME/workspace), maxTurns?, shell?: { ssh } }. Unusable: one line on stderr, exit 2.
// http    0.0.0.0:port. GET /healthz, GET /readyz (503 until the model is wired), POST
//         /v1/chat/completions (OpenAI-compatible subset, non-streaming, Bearer gateway token).
// tokens  Both token files are re-read per request, so a rotation needs no restart; their
//         values never reach a log line or a response (errors are redacted).
// state   One JSON line per answered request in $HOME/.clawpod/conversations.jsonl.
// exit    0 on SIGTERM/SIGINT (requests in flight are cancelled and answered 503).
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Interrupted, messageOf, ProviderError, ProviderTimeout } from './errors.js';
import { log, redactor, type Emit } from './frames.js';
import { runTurns } from './loop.js';
import { parseBaseUrl, RUNNER_DEFAULTS, type SshTarget } from './protocol.js';
import { HttpTransport, modelClient, type Part, type Turn, type Usage } from './providers/index.js';
import { checkShell } from './start-doc.js';
import { builtinTools } from './tools/builtin.js';
import { SshShell, sshBashTool } from './tools/ssh.js';
import { browserTools } from './tools/browser.js';
import { ToolBox } from './tools/toolbox.js';
import { Workspace } from './tools/workspace.js';

export const MAX_BODY_BYTES = 1024 * 1024;
// a body this far over the limit is not drained to the end (to answer 413 politely): the socket is cut
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;
// in-flight requests get this long to answer 503 after SIGTERM before the process exits anyway
const STOP_GRACE_MS = 1500;

export interface LlmConfig { readonly baseUrl: string; readonly api: 'anthropic' | 'openai'; readonly model: string; readonly tokenFile: string }
export interface ServeConfig {
  readonly port: number;
  readonly gatewayTokenFile: string;
  readonly llm?: LlmConfig;
  readonly system?: string;
  readonly workspace: string;
  readonly maxTurns: number;
  /** spec.tools.shell.ssh (clawpod's runner profile writes it): bash runs on that host. */
  readonly shell?: { readonly ssh?: SshTarget };
}

/** The config file is missing or wrong; its message says which field and what is expected. */
export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
}

/** A request answered with an OpenAI-style error: `{"error":{"message","type",...}}`. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly extra: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80) ?? String(v));

export function configPath(env: NodeJS.ProcessEnv): string {
  return env.CLAWPOD_RUNNER_CONFIG || join(env.HOME || '/home/agent', '.clawpod', 'runner.json');
}

/** Reads and checks the config, listing every problem at once. */
export function loadConfig(path: string, home: string): ServeConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new ConfigError(`cannot read the serve config ${path}: ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}; write it (clawpod's runner profile seeds it) or set CLAWPOD_RUNNER_CONFIG`);
  }
  let c: unknown;
  try { c = JSON.parse(text); } catch (e) { throw new ConfigError(`the serve config ${path} is not JSON: ${messageOf(e)}`); }
  if (!isObj(c)) throw new ConfigError(`the serve config ${path} is ${show(c)}; expected an object { port, gatewayTokenFile, llm? }`);
  const problems: string[] = [];
  const need = (ok: boolean, field: string, value: unknown, expected: string): void => { if (!ok) problems.push(`${field}: found ${show(value)}, expected ${expected}`); };
  const posInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): boolean => Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  need(posInt(c.port, 65535), 'port', c.port, 'a TCP port (1-65535)');
  need(nonEmpty(c.gatewayTokenFile), 'gatewayTokenFile', c.gatewayTokenFile, 'the path of the gateway token file');
  need(c.system === undefined || typeof c.system === 'string', 'system', c.system, 'a string');
  need(c.workspace === undefined || (typeof c.workspace === 'string' && c.workspace.startsWith('/')), 'workspace', c.workspace, 'an absolute path');
  need(c.maxTurns === undefined || posInt(c.maxTurns), 'maxTurns', c.maxTurns, 'a positive integer');
  checkShell(c.shell ?? undefined, (ok, field, value, expected) => need(ok, field.replace(/^tools\./, ''), value, expected));
  // null counts as absent: a config merge (spec.config.values) may blank the wiring out
  const llm = c.llm ?? undefined;
  if (llm !== undefined && !isObj(llm)) need(false, 'llm', llm, '{ baseUrl, api, model, tokenFile }');
  if (isObj(llm)) {
    let urlOk = nonEmpty(llm.baseUrl);
    if (urlOk) try { parseBaseUrl(llm.baseUrl as string); } catch { urlOk = false; }
    need(urlOk, 'llm.baseUrl', llm.baseUrl, 'http(s)://HOST[:PORT][/PATH] or unix:///SOCKET[:/PATH]');
    need(llm.api === 'anthropic' || llm.api === 'openai', 'llm.api', llm.api, '"anthropic" or "openai"');
    need(nonEmpty(llm.model), 'llm.model', llm.model, 'a model name');
    need(nonEmpty(llm.tokenFile), 'llm.tokenFile', llm.tokenFile, 'the path of the model token file');
  }
  if (problems.length) throw new ConfigError(`the serve config ${path} is invalid: ${problems.join('; ')}`);
  return {
    port: c.port as number,
    gatewayTokenFile: c.gatewayTokenFile as string,
    ...(isObj(llm) ? { llm: { baseUrl: llm.baseUrl, api: llm.api, model: llm.model, tokenFile: llm.tokenFile } as LlmConfig } : {}),
    ...(c.system ? { system: c.system as string } : {}),
    workspace: (c.workspace as string | undefined) ?? join(home, 'workspace'),
    maxTurns: (c.maxTurns as number | undefined) ?? RUNNER_DEFAULTS.maxTurns,
    ...(isObj(c.shell) ? { shell: c.shell as NonNullable<ServeConfig['shell']> } : {}),
  };
}

/** A token file's value, trimmed. Missing or empty: 503 (the operator must fix it), never "no token required". */
function readSecret(file: string, what: string): string {
  let v: string;
  try { v = readFileSync(file, 'utf8').trim(); } catch (e) {
    log(`serve: cannot read the ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}`);
    throw new HttpError(503, 'server_error', `the ${what} is not available (see the runner's log)`);
  }
  if (!v) { log(`serve: the ${what} file ${file} is empty`); throw new HttpError(503, 'server_error', `the ${what} is not available (see the runner's log)`); }
  return v;
}

/** Checks `Authorization: Bearer T` against the file's current value in constant time; returns the value. */
function authorize(header: string | undefined, file: string): string {
  const expected = readSecret(file, 'gateway token');
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  // hashing first gives equal lengths, so neither the length nor a prefix of the token leaks through timing
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!given || !timingSafeEqual(digest(given), digest(expected))) {
    throw new HttpError(401, 'authentication_error', 'missing or wrong bearer token: send Authorization: Bearer <gateway token>');
  }
  return expected;
}

/** The body as text, at most `limit` bytes (413 beyond it, after draining a moderate excess). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= limit) chunks.push(d);
      else if (size > DRAIN_LIMIT_BYTES) { reject(new HttpError(413, 'invalid_request_error', `the body is over ${limit} bytes`)); req.destroy(); }
    });
    req.on('end', () => {
      if (size > limit) reject(new HttpError(413, 'invalid_request_error', `the body is over ${limit} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export interface ChatRequest {
  readonly turns: Turn[];
  /** system (and developer) messages, joined; sent after the config's own system prompt. */
  readonly system?: string;
  /** The conversation id (`user`): requests of one conversation run one at a time. */
  readonly user?: string;
  /** The last user message, for the conversation log. */
  readonly prompt: string;
}

/** Reads the OpenAI-compatible subset: messages with text content, user, model (ignored). */
export function parseChatRequest(text: string): ChatRequest {
  const bad = (message: string) => new HttpError(400, 'invalid_request_error', message);
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw bad(`the body is not JSON: ${messageOf(e)}`); }
  if (!isObj(v)) throw bad('the body must be a JSON object { messages: [{ role, content }], user? }');
  if (v.stream === true) throw bad('stream: true is not supported by this runner; send stream: false or leave it out');
  if (v.user !== undefined && typeof v.user !== 'string') throw bad(`user: found ${show(v.user)}, expected a string (the conversation id)`);
  if (!Array.isArray(v.messages) || v.messages.length === 0) throw bad(`messages: found ${show(v.messages)}, expected a non-empty array of { role, content }`);
  const systems: string[] = [];
  const turns: Turn[] = [];
  v.messages.forEach((m: unknown, i: number) => {
    const role = isObj(m) ? m.role : undefined;
    if (!isObj(m) || !['system', 'developer', 'user', 'assistant'].includes(role as string)) throw bad(`messages[${i}].role: found ${show(role)}, expected "system", "user" or "assistant"`);
    const content = textOf(m.content);
    if (content === undefined) throw bad(`messages[${i}].content: found ${show(m.content)}, expected a string (or an array of { type: "text", text })`);
    if (role === 'system' || role === 'developer') { if (content) systems.push(content); return; }
    if (!content) return; // empty text is refused by Anthropic; an empty turn says nothing anyway
    const last = turns[turns.length - 1];
    const part: Part = { type: 'text', text: content };
    // providers want roles to alternate: consecutive messages of one role become one turn
    if (last && last.role === role) turns[turns.length - 1] = { role: last.role, parts: [...last.parts, part] };
    else turns.push({ role: role as Turn['role'], parts: [part] });
  });
  const last = turns[turns.length - 1];
  if (!last || last.role !== 'user') throw bad('the last non-empty message must have role "user": it is what the agent answers');
  const prompt = last.parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n');
  return { turns, prompt, ...(systems.length ? { system: systems.join('\n\n') } : {}), ...(v.user !== undefined ? { user: v.user } : {}) };
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null) return '';
  if (!Array.isArray(content)) return undefined;
  const texts = content.map((p: unknown) => (isObj(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : undefined));
  return texts.every((t) => t !== undefined) ? texts.join('\n') : undefined;
}

/** Runs tasks of one key one after another; different keys (and no key) run concurrently. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(key: string | undefined, task: () => Promise<T>): Promise<T> {
    if (key === undefined) return task();
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(task);
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return result;
  }
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) });
  res.end(text);
}

/** Starts the service; returns once it listens (exits the process on an unusable config). */
export function serve(version: string): void {
  const home = process.env.HOME || '/home/agent';
  const path = configPath(process.env);
  let cfg: ServeConfig;
  let workspace: Workspace;
  try {
    cfg = loadConfig(path, home);
    mkdirSync(cfg.workspace, { recursive: true });
    workspace = new Workspace(cfg.workspace);
  } catch (e) {
    log(`serve: ${e instanceof ConfigError ? e.message : `the workspace is unusable: ${messageOf(e)}`}`);
    process.exit(2);
  }
  const conversations = join(home, '.clawpod', 'conversations.jsonl');
  const transport = new HttpTransport();
  const tools = new ToolBox();
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, WORKSPACE: cfg.workspace };
  for (const t of builtinTools({ workspace, env, maxOutputBytes: RUNNER_DEFAULTS.bashMaxOutputBytes, bashTimeoutMs: RUNNER_DEFAULTS.bashTimeoutMs })) tools.add(t);
  // shell.ssh: bash runs on that host instead (same name: it replaces the local one); one connection for the process
  const sshTarget = cfg.shell?.ssh;
  const ssh = sshTarget ? new SshShell(sshTarget) : undefined;
  if (ssh) tools.add(sshBashTool(ssh, { timeoutMs: RUNNER_DEFAULTS.bashTimeoutMs, maxOutputBytes: RUNNER_DEFAULTS.bashMaxOutputBytes, workdir: sshTarget?.workdir }));
  // spec.browser: clawpod's sidecar on this container's loopback (docs/browser.md)
  if (process.env.CLAWPOD_BROWSER_CDP) for (const t of browserTools({ cdpUrl: process.env.CLAWPOD_BROWSER_CDP, maxOutputBytes: RUNNER_DEFAULTS.bashMaxOutputBytes })) tools.add(t);
  const specs = tools.specs();
  const lock = new KeyedLock();
  const inflight = new Set<AbortController>();
  let stopping = false;

  const chat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const gatewayToken = authorize(req.headers.authorization, cfg.gatewayTokenFile);
    const llm = cfg.llm;
    if (!llm) throw new HttpError(503, 'server_error', `no model is configured: ${path} has no llm (clawpod wires it when the agent runs with clawpod serve's LLM gateway)`);
    const chatReq = parseChatRequest(await readBody(req, MAX_BODY_BYTES));
    const ac = new AbortController();
    inflight.add(ac);
    // the caller hung up (maybe while waiting for its conversation's turn): stop spending tokens on an answer nobody reads
    res.on('close', () => { if (!res.writableFinished) ac.abort(); });
    await lock.run(chatReq.user, async () => {
      const apiKey = readSecret(llm.tokenFile, 'model token');
      const redact = redactor([gatewayToken, apiKey]);
      const history = [...chatReq.turns];
      const start = history.length;
      const usage: Usage = { inputTokens: 0, outputTokens: 0 };
      const toolCalls: string[] = [];
      const emit: Emit = (e) => { if (e.type === 'tool_call') toolCalls.push(e.name); };
      const system = [cfg.system, chatReq.system].filter(Boolean).join('\n\n');
      let stop: 'end_turn' | 'max_turns';
      try {
        stop = await runTurns(history, randomUUID(), usage, {
          client: modelClient({ provider: llm.api, model: llm.model, baseUrl: llm.baseUrl, apiKey }, transport),
          tools, specs, emit, maxTurns: cfg.maxTurns, signal: ac.signal, ...(system ? { system } : {}),
        });
      } catch (e) {
        throw asHttp(e, redact);
      }
      const answer = history.slice(start).filter((t) => t.role === 'assistant')
        .map((t) => t.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')).filter(Boolean).join('\n\n');
      try {
        mkdirSync(dirname(conversations), { recursive: true });
        appendFileSync(conversations, `${JSON.stringify({ at: new Date().toISOString(), user: chatReq.user ?? null, prompt: chatReq.prompt, answer, toolCalls })}\n`);
      } catch (e) { log(`serve: cannot append to ${conversations}: ${messageOf(e)}`); }
      send(res, 200, {
        id: `chatcmpl-${randomUUID()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: llm.model,
        choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: stop === 'max_turns' ? 'length' : 'stop' }],
        ...(usage.inputTokens || usage.outputTokens ? { usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens } } : {}),
        clawpod: { toolCalls: toolCalls.map((name) => ({ name })), stopReason: stop, version },
      }, stopping);
    }).finally(() => inflight.delete(ac));
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = (req.url ?? '/').replace(/\?.*/, '');
    const only = (method: string) => { if (req.method !== method) throw new HttpError(405, 'invalid_request_error', `${url} takes ${method}`); };
    if (stopping) throw new HttpError(503, 'server_error', 'the runner is stopping');
    if (url === '/healthz') { only('GET'); send(res, 200, { ok: true }); return; }
    if (url === '/readyz') {
      only('GET');
      if (cfg.llm) send(res, 200, { ready: true });
      else send(res, 503, { ready: false, reason: `no model is configured: ${path} has no llm` });
      return;
    }
    if (url === '/v1/chat/completions') { only('POST'); await chat(req, res); return; }
    throw new HttpError(404, 'invalid_request_error', `no route ${req.method} ${url}; this runner serves GET /healthz, GET /readyz, POST /v1/chat/completions`);
  };

  const server = createServer((req, res) => {
    const began = Date.now();
    res.on('finish', () => log(`serve: ${req.method} ${(req.url ?? '/').replace(/\?.*/, '')} ${res.statusCode} ${Date.now() - began}ms`));
    route(req, res).catch((e: unknown) => {
      const h = e instanceof HttpError ? e : asHttp(e, (s) => s);
      send(res, h.status, { error: { message: h.message, type: h.type, ...h.extra } }, stopping || h.status === 413);
    });
  });
  server.on('error', (e: NodeJS.ErrnoException) => {
    log(`serve: cannot listen on 0.0.0.0:${cfg.port}: ${e.code ?? e.message}`);
    process.exit(1);
  });
  server.listen(cfg.port, '0.0.0.0', () => {
    log(`serve: clawpod-agent ${version} listening on 0.0.0.0:${cfg.port}; ${cfg.llm ? `model ${cfg.llm.model} (${cfg.llm.api}) at ${cfg.llm.baseUrl}` : `no model configured (${path} has no llm): /readyz answers 503`}`);
  });

  // as PID 1 in a container a signal without a handler is ignored, so both are handled
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`serve: received ${sig}; cancelling ${inflight.size} request(s) in flight and exiting`);
      for (const ac of inflight) ac.abort();
      const exit = () => { transport.close(); ssh?.close(); process.exit(0); };
      server.close(exit);
      server.closeIdleConnections();
      setTimeout(exit, STOP_GRACE_MS).unref();
    });
  }
}

/** The HTTP answer for a failure of the agent loop; messages are redacted of both tokens. */
function asHttp(e: unknown, redact: (s: string) => string): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof ProviderTimeout) return new HttpError(504, 'upstream_timeout', redact(e.message));
  if (e instanceof ProviderError) return new HttpError(502, 'upstream_error', redact(e.message), e.status === undefined ? {} : { upstream_status: e.status });
  if (e instanceof Interrupted) return new HttpError(503, 'server_error', 'the request was cancelled: the runner is stopping or the caller went away');
  log(`serve: unexpected failure: ${redact((e as Error).stack ?? messageOf(e))}`);
  return new HttpError(500, 'server_error', 'unexpected failure in the runner (see its log)');
}
