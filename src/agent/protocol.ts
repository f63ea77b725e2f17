// The wire contract between the control plane (host) and the reference runner `clawpod-agent`
// (inside the container). Shared by both sides; no I/O here.
//
// stdin  (host → runner): newline-delimited JSON. Line 1 is the StartDoc (holds the provider key:
//        secrets travel only here, never in env or on disk). In `input.mode: "stdin"` later lines
//        are Inbound messages; in `input.mode: "dir"` they arrive as files in input.path (written
//        atomically: write `.tmp-*`, then rename to `*.json`; a file named `_close` closes).
// stdout (runner → host): one frame per line, `<<<CLAWPOD:{nonce}>>>{json}<<<END:{nonce}>>>`. The
//        nonce is random per session and only in the StartDoc, which no model or tool sees, so
//        nothing they print can forge a frame. Lines that are not frames are noise, not events.
// traces (optional, src/agent/trace-context.ts): a `traceparent` in the StartDoc and in each
//        follow-up; the runner then reports `span` frames. Hosts and runners without it still
//        understand each other: an older runner ignores the field, an older host never sets it.
// memory (optional): a `history` in the StartDoc, the group's earlier conversation, which the
//        runner puts before the first message; the same holds: an older runner ignores it.
// files (optional): `files: [{name, data (base64)}]` on a message (StartDoc.message, Inbound); the
//        runner saves them to WORKSPACE/inbox/ and sends back WORKSPACE/outbox/ as `file` frames.
import { fileFrameOk, FILE_FRAME_CHARS } from './file-names.js';
import { spanFrameOk, SPAN_LIMITS, type SpanFrame } from './trace-context.js';

export const PROTOCOL_VERSION = 1;

export type Provider = 'anthropic' | 'openai' | 'gemini';

export interface ModelConfig {
  readonly provider: Provider;
  readonly model: string;
  /** e.g. https://api.anthropic.com, http://host.containers.internal:8080/v1, or unix:///run/clawpod/llm.sock */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
  /** Per provider request; a stalled stream counts from the last byte received. */
  readonly timeoutMs?: number;
}

/** An MCP server the runner connects to: started over stdio, or reached over streamable HTTP (through a unix socket when given; the bearer token read from tokenFile). */
export type McpServerEntry =
  | { readonly command: string; readonly args?: readonly string[]; readonly env?: Readonly<Record<string, string>> }
  | { readonly url: string; readonly socketPath?: string; readonly tokenFile?: string };

/** Where bash runs when it runs over SSH. The key and known_hosts are files (tmpfs secrets), never their contents. */
export interface SshTarget {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  readonly user: string;
  /** The private key (unencrypted OpenSSH/PEM), e.g. /run/secrets/ssh-key. */
  readonly keyFile: string;
  /** OpenSSH known_hosts lines; the host's key must be there (strict checking). */
  readonly knownHostsFile: string;
  /** Remote folder commands run in; default the user's home. */
  readonly workdir?: string;
}

/** One side of an earlier exchange, as text only (tool calls are not carried over). */
export interface HistoryTurn { readonly role: 'user' | 'assistant'; readonly text: string }

export interface StartDoc {
  readonly type: 'start';
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly sessionId: string;
  readonly nonce: string;
  /** The first message of the session. */
  readonly message: { readonly id: string; readonly text: string; readonly files?: readonly InboundFile[] };
  /** The group's earlier conversation (src/control/memory.ts), oldest first, put before `message`. */
  readonly history?: readonly HistoryTurn[];
  readonly model: ModelConfig;
  readonly system?: string;
  /** bash cwd and the root file tools are confined to. */
  readonly workspace: string;
  readonly tools?: {
    readonly bash?: { readonly timeoutMs?: number; readonly maxOutputBytes?: number };
    /** A JSON file `{ "mcpServers": { NAME: SERVER } }`: stdio `{ command, args?, env? }` or HTTP `{ url, socketPath?, tokenFile? }`. */
    readonly mcpConfig?: string;
    /** More servers in the same shape, from the host (clawpod's own, for nested sandboxes); they win over the file's by name. */
    readonly mcpServers?: Readonly<Record<string, McpServerEntry>>;
    /** bash on a remote host over SSH instead of in the container (src/agent/tools/ssh.ts); the file tools stay local. */
    readonly shell?: { readonly ssh?: SshTarget };
  };
  /** Model↔tool round trips per message before the runner stops with stopReason "max_turns". */
  readonly maxTurns?: number;
  readonly input: { readonly mode: 'stdin' } | { readonly mode: 'dir'; readonly path: string; readonly pollMs?: number };
  /** W3C trace context of the first message: the runner reports its spans as its children. */
  readonly traceparent?: string;
}

/** A file sent with a message (src/agent/file-names.ts has the limits); the runner saves it to WORKSPACE/inbox/. */
export interface InboundFile { readonly name: string; readonly data: string }

export type Inbound =
  | { readonly type: 'message'; readonly id: string; readonly text: string; readonly traceparent?: string; readonly files?: readonly InboundFile[] }
  | { readonly type: 'close' };

export type ErrorCode = 'provider_error' | 'provider_timeout' | 'tool_error' | 'bad_input' | 'internal';

export type RunnerEvent =
  | { readonly type: 'ready'; readonly runner: string; readonly version: string }
  | { readonly type: 'start'; readonly messageId: string }
  | { readonly type: 'text'; readonly messageId: string; readonly delta: string }
  | { readonly type: 'tool_call'; readonly messageId: string; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly messageId: string; readonly id: string; readonly output: string; readonly isError: boolean }
  | { readonly type: 'error'; readonly messageId?: string; readonly code: ErrorCode; readonly message: string }
  /** Exactly one per message, after its last event (also after an error: stopReason "error"). */
  | { readonly type: 'end'; readonly messageId: string; readonly stopReason: 'end_turn' | 'max_turns' | 'error'; readonly usage?: { readonly inputTokens: number; readonly outputTokens: number } }
  | { readonly type: 'closed' }
  /** A file the agent left in WORKSPACE/outbox/, sent after the message's last model turn, before its end. */
  | { readonly type: 'file'; readonly messageId: string; readonly name: string; readonly size: number; readonly data: string }
  /** One of the runner's spans, only for a message that came with a traceparent (telemetry: never stored as an event). */
  | SpanFrame;

export function encodeFrame(nonce: string, event: RunnerEvent): string {
  return `<<<CLAWPOD:${nonce}>>>${JSON.stringify(event)}<<<END:${nonce}>>>\n`;
}

export type Decoded =
  | { readonly kind: 'event'; readonly event: RunnerEvent }
  | { readonly kind: 'malformed'; readonly reason: string; readonly line: string }
  | { readonly kind: 'noise'; readonly line: string };

type Fields = Record<string, unknown>;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

// What the host reads from each event type (the daemon stores messageId as a key, so a number or
// an object there would throw in SQLite). Lenient where a field is only shown (usage, error code).
const EVENT_SHAPES: Readonly<Record<RunnerEvent['type'], (e: Fields) => boolean>> = {
  ready: (e) => isStr(e.runner) && isStr(e.version),
  start: (e) => isStr(e.messageId),
  text: (e) => isStr(e.messageId) && isStr(e.delta),
  tool_call: (e) => isStr(e.messageId) && isStr(e.id) && isStr(e.name),
  tool_result: (e) => isStr(e.messageId) && isStr(e.id) && isStr(e.output) && typeof e.isError === 'boolean',
  error: (e) => (e.messageId === undefined || isStr(e.messageId)) && isStr(e.code) && isStr(e.message),
  end: (e) => isStr(e.messageId) && ['end_turn', 'max_turns', 'error'].includes(e.stopReason as string) && (e.usage === undefined || isObj(e.usage)),
  closed: () => true,
  span: spanFrameOk,
  file: fileFrameOk,
};

/** Decodes one stdout line (without its newline). An event is returned only when its fields have the types RunnerEvent promises. */
export function decodeLine(nonce: string, line: string): Decoded {
  const open = `<<<CLAWPOD:${nonce}>>>`;
  const close = `<<<END:${nonce}>>>`;
  if (!line.startsWith(open)) return { kind: 'noise', line };
  if (line.length < open.length + close.length || !line.endsWith(close)) return { kind: 'malformed', reason: 'frame without its end marker', line };
  let value: unknown;
  try { value = JSON.parse(line.slice(open.length, line.length - close.length)); } catch (e) {
    return { kind: 'malformed', reason: `frame is not JSON: ${(e as Error).message}`, line };
  }
  const type = isObj(value) ? value.type : undefined;
  if (!isStr(type) || !Object.hasOwn(EVENT_SHAPES, type)) return { kind: 'malformed', reason: `unknown event type ${JSON.stringify(type) ?? String(type)}`, line };
  if (type === 'file' && line.length > open.length + close.length + FILE_FRAME_CHARS) return { kind: 'malformed', reason: `a file frame longer than ${FILE_FRAME_CHARS} characters`, line };
  if (type === 'span' && line.length > open.length + close.length + SPAN_LIMITS.frameChars) return { kind: 'malformed', reason: `a span frame longer than ${SPAN_LIMITS.frameChars} characters`, line };
  if (!EVENT_SHAPES[type as RunnerEvent['type']](value as Fields)) return { kind: 'malformed', reason: `a ${type} event with missing or mistyped fields`, line };
  return { kind: 'event', event: value as RunnerEvent };
}

/**
 * Splits a byte stream into lines; keeps a partial line until its newline arrives. Bytes are
 * decoded here, so a UTF-8 character split between two chunks arrives whole (decoding each
 * chunk alone turns it into two U+FFFD). Work per chunk is proportional to the chunk, not to
 * the partial line held (a runner dripping one byte at a time must not cost the host quadratic time).
 */
export class LineSplitter {
  private parts: string[] = [];
  private held = 0;
  private readonly decoder = new TextDecoder('utf-8');
  /** A partial line longer than this is handed on as it is (a runaway runner must not exhaust the host's memory). */
  constructor(private readonly maxLine = 4 * 1024 * 1024) {}
  push(chunk: string | Uint8Array): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.parts.push(text.slice(start, nl));
      lines.push(this.take());
      start = nl + 1;
    }
    if (start < text.length) { this.parts.push(text.slice(start)); this.held += text.length - start; }
    if (this.held > this.maxLine) lines.push(this.take());
    return lines;
  }
  flush(): string[] {
    const tail = this.decoder.decode();
    if (tail) { this.parts.push(tail); this.held += tail.length; }
    return this.held > 0 ? [this.take()] : [];
  }
  private take(): string {
    const line = this.parts.join('');
    this.parts = [];
    this.held = 0;
    return line;
  }
}

/** What the runner uses when the StartDoc leaves a setting out (documented promises, not tuning). */
export const RUNNER_DEFAULTS = {
  maxTurns: 20,
  modelTimeoutMs: 120_000,
  /** Sent to Anthropic, which requires max_tokens; other providers use their own default when unset. */
  maxTokens: 8192,
  bashTimeoutMs: 30_000,
  bashMaxOutputBytes: 64 * 1024,
} as const;

/** Public endpoints per provider. OpenAI's includes `/v1`, as in the OpenAI SDK's baseURL. */
export const DEFAULT_BASE_URLS: Readonly<Record<Provider, string>> = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
  gemini: 'https://generativelanguage.googleapis.com',
};

export type Endpoint =
  | { readonly kind: 'tcp'; readonly url: URL }
  | { readonly kind: 'unix'; readonly socketPath: string; readonly pathPrefix: string };

/**
 * Reads a ModelConfig.baseUrl. A unix socket is `unix://SOCKET_PATH[:HTTP_PATH_PREFIX]`, e.g.
 * `unix:///run/clawpod/llm.sock` (requests go to /v1/messages …) or
 * `unix:///run/clawpod/llm.sock:/v1` (an OpenAI-compatible gateway: /v1/chat/completions).
 * The socket path therefore cannot contain ':'. Throws a TypeError naming the value otherwise.
 */
export function parseBaseUrl(baseUrl: string): Endpoint {
  if (baseUrl.startsWith('unix://')) {
    const rest = baseUrl.slice('unix://'.length);
    const colon = rest.indexOf(':');
    const socketPath = colon < 0 ? rest : rest.slice(0, colon);
    const pathPrefix = colon < 0 ? '' : rest.slice(colon + 1).replace(/\/+$/, '');
    if (!socketPath.startsWith('/')) throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)}: the socket path must be absolute, e.g. unix:///run/clawpod/llm.sock or unix:///run/clawpod/llm.sock:/v1`);
    if (pathPrefix && !pathPrefix.startsWith('/')) throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)}: the HTTP path after the socket must start with '/', e.g. unix:///run/clawpod/llm.sock:/v1`);
    return { kind: 'unix', socketPath, pathPrefix };
  }
  let url: URL;
  try { url = new URL(baseUrl); } catch {
    throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} is not a URL; expected http(s)://HOST[:PORT][/PATH] or unix:///SOCKET[:/PATH]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)}: unsupported scheme ${url.protocol}; use http:, https: or unix:`);
  return { kind: 'tcp', url };
}
