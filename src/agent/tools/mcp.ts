// MCP servers from tools.mcpConfig (`{ "mcpServers": { NAME: { command, args?, env? } } }`),
// started over stdio with the official SDK; their tools are offered as mcp__SERVER__TOOL. A
// server that fails to start is reported (onError) and left out; the session goes on without it.
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { messageOf } from '../errors.js';
import { capOutput } from './output.js';
import type { Tool } from './toolbox.js';

interface ServerConfig { readonly command: string; readonly args?: readonly string[]; readonly env?: Readonly<Record<string, string>> }

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
}

const NONE: McpTools = { tools: [], close: async () => undefined };

/** Starts every configured server; a missing config file means no MCP tools (not an error). */
export async function startMcp(configPath: string | undefined, o: McpOptions): Promise<McpTools> {
  if (!configPath || !existsSync(configPath)) return NONE;
  let servers: Record<string, ServerConfig>;
  try {
    servers = readConfig(configPath);
  } catch (e) {
    o.onError(`tools.mcpConfig ${configPath}: ${messageOf(e)}; no MCP tools this session`);
    return NONE;
  }
  const clients: Client[] = [];
  const tools: Tool[] = [];
  // the SDK is loaded only when a config exists: most sessions never pay for it
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
  ]);
  await Promise.all(Object.entries(servers).map(async ([name, s]) => {
    const client = new Client({ name: 'clawpod-agent', version: '1' });
    // the SDK adds HOME, PATH, USER and a few more from the runner's env, which holds no secrets
    const transport = new StdioClientTransport({ command: s.command, args: [...(s.args ?? [])], env: { ...(s.env ?? {}) }, cwd: o.cwd, stderr: 'inherit' });
    try {
      await withTimeout(client.connect(transport), o.startTimeoutMs, 'did not answer MCP initialize');
      const listed = await withTimeout(listAll(client), o.startTimeoutMs, 'did not list its tools');
      clients.push(client);
      for (const t of listed) tools.push(mcpTool(client, name, t, o.maxOutputBytes));
    } catch (e) {
      await client.close().catch(() => undefined);
      o.onError(`MCP server ${JSON.stringify(name)} (${[s.command, ...(s.args ?? [])].join(' ')}) failed to start: ${messageOf(e)}; continuing without its tools`);
    }
  }));
  return { tools, close: async () => { await Promise.all(clients.map((c) => c.close().catch(() => undefined))); } };
}

function readConfig(path: string): Record<string, ServerConfig> {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { mcpServers?: unknown };
  const servers = doc?.mcpServers;
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new Error('expected { "mcpServers": { NAME: { "command": …, "args": […], "env": {…} } } }');
  for (const [name, s] of Object.entries(servers)) {
    const c = s as Partial<ServerConfig> | null;
    if (typeof c?.command !== 'string') throw new Error(`mcpServers.${name}.command must be a string (the program to start)`);
    if (c.args !== undefined && !(Array.isArray(c.args) && c.args.every((a) => typeof a === 'string'))) throw new Error(`mcpServers.${name}.args must be a list of strings`);
    if (c.env !== undefined && (typeof c.env !== 'object' || c.env === null || Object.values(c.env).some((v) => typeof v !== 'string'))) throw new Error(`mcpServers.${name}.env must map names to strings`);
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
      const r = await client.callTool({ name: t.name, arguments: { ...input } }, undefined, { signal });
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
