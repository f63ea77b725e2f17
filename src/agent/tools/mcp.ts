// MCP servers from tools.mcpConfig (`{ "mcpServers": { NAME: SERVER } }`) and the StartDoc's
// tools.mcpServers (which win by name), connected with the official SDK; their tools are offered
// as mcp__SERVER__TOOL. A SERVER is started over stdio (`{ command, args?, env? }`) or reached
// over streamable HTTP (`{ url, socketPath?, tokenFile? }`: through a unix socket when given, with
// the token read from tokenFile as a bearer token, never logged). A server that fails to start is
// reported (onError) and left out; the session goes on without it.
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { messageOf } from '../errors.js';
import { capOutput } from './output.js';
import type { Tool } from './toolbox.js';
import { unixFetch } from './unix-fetch.js';

interface StdioServer { readonly command: string; readonly args?: readonly string[]; readonly env?: Readonly<Record<string, string>> }
interface HttpServer { readonly url: string; readonly socketPath?: string; readonly tokenFile?: string }
type ServerConfig = StdioServer | HttpServer;

export interface McpTools {
  readonly tools: readonly Tool[];
  close(): Promise<void>;
}

export interface McpOptions {
  readonly cwd: string;
  readonly maxOutputBytes: number;
  /** How long a server may take to start and list its tools. */
  readonly startTimeoutMs: number;
  readonly onError: (message: string) => void;
  /** The StartDoc's tools.mcpServers: added to the file's, replacing one of the same name. */
  readonly servers?: Readonly<Record<string, unknown>>;
}

const NONE: McpTools = { tools: [], close: async () => undefined };
/** A tool call may run a long command (sandbox_exec waits up to 10 min by default): the SDK's 60 s would cut it; the session's deadline still aborts it. */
const CALL_TIMEOUT_MS = 15 * 60_000;

/** Starts every configured server; no config file and no StartDoc servers mean no MCP tools (not an error). */
export async function startMcp(configPath: string | undefined, o: McpOptions): Promise<McpTools> {
  const servers: Record<string, ServerConfig> = {};
  for (const [where, read] of [
    [`tools.mcpConfig ${configPath}`, () => (configPath && existsSync(configPath) ? readConfig(configPath) : {})],
    ['tools.mcpServers of the StartDoc', () => checkServers(o.servers ?? {}, 'tools.mcpServers')],
  ] as const) {
    try { Object.assign(servers, read()); } catch (e) { o.onError(`${where}: ${messageOf(e)}; its MCP servers are left out this session`); }
  }
  if (Object.keys(servers).length === 0) return NONE;
  const clients: Client[] = [];
  const tools: Tool[] = [];
  // the SDK is loaded only when a server is configured: most sessions never pay for it
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  await Promise.all(Object.entries(servers).map(async ([name, s]) => {
    const client = new Client({ name: 'clawpod-agent', version: '1' });
    try {
      await withTimeout(client.connect(await transportOf(s, o.cwd)), o.startTimeoutMs, 'did not answer MCP initialize');
      const listed = await withTimeout(listAll(client), o.startTimeoutMs, 'did not list its tools');
      clients.push(client);
      for (const t of listed) tools.push(mcpTool(client, name, t, o.maxOutputBytes));
    } catch (e) {
      await client.close().catch(() => undefined);
      const what = 'command' in s ? [s.command, ...(s.args ?? [])].join(' ') : `${s.url}${s.socketPath ? ` via ${s.socketPath}` : ''}`;
      o.onError(`MCP server ${JSON.stringify(name)} (${what}) failed to start: ${messageOf(e)}; continuing without its tools`);
    }
  }));
  return { tools, close: async () => { await Promise.all(clients.map((c) => c.close().catch(() => undefined))); } };
}

async function transportOf(s: ServerConfig, cwd: string): Promise<Transport> {
  if ('command' in s) {
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    // the SDK adds HOME, PATH, USER and a few more from the runner's env, which holds no secrets
    return new StdioClientTransport({ command: s.command, args: [...(s.args ?? [])], env: { ...(s.env ?? {}) }, cwd, stderr: 'inherit' });
  }
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  let token: string | undefined;
  if (s.tokenFile) {
    try { token = readFileSync(s.tokenFile, 'utf8').trim(); } catch (e) { throw new Error(`cannot read its tokenFile ${s.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`); }
  }
  return new StreamableHTTPClientTransport(new URL(s.url), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
    ...(s.socketPath ? { fetch: unixFetch(s.socketPath) } : {}),
  });
}

function readConfig(path: string): Record<string, ServerConfig> {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { mcpServers?: unknown };
  return checkServers(doc?.mcpServers, 'mcpServers');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';

function checkServers(servers: unknown, where: string): Record<string, ServerConfig> {
  if (!isObj(servers)) throw new Error(`expected { "${where}": { NAME: { "command": …, "args": […], "env": {…} } or { "url": …, "socketPath"?: …, "tokenFile"?: … } } }`);
  for (const [name, c] of Object.entries(servers)) {
    const at = `${where}.${name}`;
    if (isObj(c) && typeof c.url === 'string') {
      if (!/^https?:\/\//.test(c.url)) throw new Error(`${at}.url must be an http:// or https:// URL`);
      if (!optStr(c.socketPath) || (typeof c.socketPath === 'string' && !c.socketPath.startsWith('/'))) throw new Error(`${at}.socketPath must be an absolute path`);
      if (!optStr(c.tokenFile)) throw new Error(`${at}.tokenFile must be a path`);
      continue;
    }
    if (!isObj(c) || typeof c.command !== 'string') throw new Error(`${at} needs a "command" (the program to start) or a "url" (an HTTP server)`);
    if (c.args !== undefined && !(Array.isArray(c.args) && c.args.every((a) => typeof a === 'string'))) throw new Error(`${at}.args must be a list of strings`);
    if (c.env !== undefined && (!isObj(c.env) || Object.values(c.env).some((v) => typeof v !== 'string'))) throw new Error(`${at}.env must map names to strings`);
  }
  return servers as Record<string, ServerConfig>;
}

type Listed = Awaited<ReturnType<Client['listTools']>>['tools'][number];

async function listAll(client: Client): Promise<Listed[]> {
  const all: Listed[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    all.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** Provider tool names allow [a-zA-Z0-9_-], at most 64 characters. */
export function mcpToolName(server: string, tool: string): string {
  const clean = (s: string): string => s.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `mcp__${clean(server)}__${clean(tool)}`.slice(0, 64);
}

function mcpTool(client: Client, server: string, t: Listed, maxOutputBytes: number): Tool {
  return {
    spec: { name: mcpToolName(server, t.name), description: t.description ?? `${t.name} (MCP server ${server})`, inputSchema: t.inputSchema as Record<string, unknown> },
    run: async (input, signal) => {
      const r = await client.callTool({ name: t.name, arguments: { ...input } }, undefined, { signal, timeout: CALL_TIMEOUT_MS });
      const content = (Array.isArray(r.content) ? r.content : []) as { type: string; text?: string; mimeType?: string; resource?: { uri?: string; text?: string } }[];
      const text = content.map((c) => (c.type === 'text' ? c.text ?? '' : c.type === 'resource' ? c.resource?.text ?? `[resource ${c.resource?.uri ?? ''}]` : `[${c.type}${c.mimeType ? ` ${c.mimeType}` : ''}]`)).join('\n');
      return { output: capOutput(Buffer.from(text || JSON.stringify(r.structuredContent ?? r)), maxOutputBytes), isError: r.isError === true };
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms); }),
  ]);
}
