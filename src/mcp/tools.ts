// clawpod's sandbox tools for MCP clients (Claude Code, OpenClaw, the reference runner): each is
// one use of the sandbox API through the SDK, with the caller's own token, so what a token may do
// is decided by `clawpod serve` alone. An API error comes back as an MCP tool error whose text and
// structuredContent carry clawpod's code, message and hint: the model can read why and what to do.
import { McpServer, type ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { z } from 'zod';
import { Sandbox, SandboxError, type SandboxInfo } from '../../packages/sdk/src/index.js';

/** Where the sandbox API is and whose token calls it; `fetch` lets `clawpod serve` answer in-process. */
export interface Endpoint {
  readonly url: string;
  readonly token: string;
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

/** A model reads this much of a command's stdout and of its stderr; the rest is cut with a note. */
const MAX_STREAM_CHARS = 64 * 1024;
/** Larger files are refused by sandbox_files_read: a model's context would not hold them. */
const MAX_READ_BYTES = 1024 * 1024;

const id = z.string().min(1).describe('The sandbox id that sandbox_create returned (sandbox_list shows them)');
const path = z.string().min(1).describe('An absolute path inside the sandbox, e.g. /workspace/main.py');

const text = (t: string, structured?: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text: t }], ...(structured ? { structuredContent: structured } : {}) });
const json = (v: object): CallToolResult => text(JSON.stringify(v, null, 2), { ...v });

/** What a failed call returns: clawpod's code and hint, never a thrown protocol error. */
export function toolError(e: unknown): CallToolResult {
  const code = e instanceof SandboxError ? e.code : 'INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof SandboxError ? e.hint : undefined;
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}${hint ? `\nhint: ${hint}` : ''}` }], structuredContent: { error: { code, message, ...(hint ? { hint } : {}) } } };
}

function cap(s: string): string {
  return s.length <= MAX_STREAM_CHARS ? s : `${s.slice(0, MAX_STREAM_CHARS)}\n[… ${s.length - MAX_STREAM_CHARS} more characters cut; redirect to a file and read parts of it]`;
}

export function sandboxMcpServer(ep: Endpoint): McpServer {
  // version: of this tool set, not of clawpod
  const server = new McpServer({ name: 'clawpod', version: '1' }, { instructions: 'Sandboxes are hardened, isolated Linux containers run by clawpod. Create one with sandbox_create, run commands with sandbox_exec, move files with sandbox_files_*, and sandbox_kill it when done.' });
  const opts = { url: ep.url, token: ep.token, ...(ep.fetch ? { fetch: ep.fetch } : {}) };
  const connect = (sid: string) => Sandbox.connect(sid, opts);
  const tool = <A extends ZodRawShapeCompat>(name: string, description: string, inputSchema: A, run: ToolCallback<A>, readOnly = false): void => {
    const guarded = (async (args: unknown, extra: unknown) => {
      try { return await (run as (a: unknown, x: unknown) => Promise<CallToolResult>)(args, extra); } catch (e) { return toolError(e); }
    }) as ToolCallback<A>;
    server.registerTool(name, { description, inputSchema, annotations: { readOnlyHint: readOnly, openWorldHint: false } }, guarded);
  };

  tool('sandbox_create', 'Start a new sandbox: a hardened Linux container (no network unless your token allows it) to run commands in and move files in and out of. With no arguments it starts the "reference" profile (a shell and Node, files under /workspace). Returns its id for the other sandbox_ tools. Kill it with sandbox_kill when done: your token allows only a few at once.', {
    profile: z.string().min(1).optional().describe('A payload profile to start (default "reference")'),
    spec: z.string().min(1).optional().describe('An Agent spec (clawpod YAML or JSON) instead of a profile; a scoped token may not ask for network, host mounts, ports, secrets or more resources than its limits'),
    pool: z.string().min(1).optional().describe('A warm pool to claim a running member of (faster start); a cold start when it is empty'),
    name: z.string().min(1).optional().describe('A name for the sandbox (default: one is made up)'),
  }, async (a) => {
    const sb = await Sandbox.create({ ...opts, ...(a.spec ? { spec: a.spec } : { profile: a.profile ?? 'reference' }), ...(a.pool ? { pool: a.pool } : {}), ...(a.name ? { name: a.name } : {}) });
    return json(sb.info);
  });

  tool('sandbox_list', 'List the sandboxes your token sees, with their ids and states.', {}, async () => {
    return json({ items: await Sandbox.list(opts) });
  }, true);

  tool('sandbox_exec', 'Run a command in a sandbox and wait for it. A string runs under `sh -c` (pipes, redirects); a list runs as is. Returns the exit code, stdout and stderr (each cut at 64 KiB).', {
    id,
    cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('A shell command line, or a program and its arguments'),
    cwd: z.string().min(1).optional().describe('Working directory (default: the sandbox\'s /workspace)'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables'),
    stdin: z.string().optional().describe('Text given to the command on stdin'),
    timeoutMs: z.number().int().min(1).max(3_600_000).optional().describe('Kill the command after this many milliseconds'),
  }, async (a, extra) => {
    const sb = await connect(a.id);
    // a client that asked for progress sees the output as it comes
    const token = extra._meta?.progressToken;
    let n = 0;
    // the result waits for every notification: sent out of order, the last chunk could reach the client after it
    const sent: Promise<void>[] = [];
    const progress = token === undefined ? undefined : (chunk: string) => { sent.push(extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++n, message: chunk } }).catch(() => undefined)); };
    const r = await sb.exec(a.cmd, {
      ...(a.cwd ? { cwd: a.cwd } : {}), ...(a.env ? { env: a.env } : {}), ...(a.stdin !== undefined ? { stdin: a.stdin } : {}), ...(a.timeoutMs ? { timeoutMs: a.timeoutMs } : {}),
      ...(progress ? { onStdout: progress, onStderr: progress } : {}),
    });
    await Promise.all(sent);
    const stdout = cap(r.stdout);
    const stderr = cap(r.stderr);
    const head = `exit code ${r.exitCode}${r.timedOut ? ' (timed out, killed)' : ''} after ${r.durationMs} ms`;
    return text([head, stdout && `stdout:\n${stdout}`, stderr && `stderr:\n${stderr}`].filter(Boolean).join('\n'), { exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs, stdout, stderr });
  });

  tool('sandbox_files_read', 'Read a file of a sandbox (at most 1 MiB). Text comes back as is; use encoding "base64" for binary files.', {
    id, path,
    encoding: z.enum(['utf8', 'base64']).default('utf8').describe('utf8 (default) or base64'),
  }, async (a) => {
    const bytes = await (await connect(a.id)).files.read(a.path);
    if (bytes.length > MAX_READ_BYTES) throw new SandboxError('TOO_LARGE', `${a.path} is ${bytes.length} bytes, more than the ${MAX_READ_BYTES} bytes sandbox_files_read returns`, { hint: `read a part with sandbox_exec, e.g. head -c 100000 ${a.path}` });
    if (a.encoding === 'base64') return text(Buffer.from(bytes).toString('base64'));
    try { return text(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch {
      throw new SandboxError('USAGE', `${a.path} is not UTF-8 text`, { hint: 'read it again with encoding "base64"' });
    }
  }, true);

  tool('sandbox_files_write', 'Write a file in a sandbox (created or replaced; folders are made as needed; at most 16 MiB).', {
    id, path,
    content: z.string().describe('The file\'s content: text, or base64 with encoding "base64"'),
    encoding: z.enum(['utf8', 'base64']).default('utf8').describe('utf8 (default) or base64'),
    mode: z.string().regex(/^0?[0-7]{3}$/, 'expected an octal mode such as "0644" or "755"').optional().describe('Permissions, e.g. "0755" for a script (default 0644)'),
  }, async (a) => {
    const data = a.encoding === 'base64' ? Buffer.from(a.content, 'base64') : a.content;
    await (await connect(a.id)).files.write(a.path, data, a.mode ? { mode: a.mode } : {});
    return text(`wrote ${Buffer.byteLength(data)} bytes to ${a.path}`);
  });

  tool('sandbox_files_list', 'List a folder of a sandbox: name, type (file, dir, link, other), size, mode and modification time of each entry.', {
    id,
    path: z.string().min(1).default('/workspace').describe('An absolute folder path (default /workspace)'),
  }, async (a) => json({ items: await (await connect(a.id)).files.list(a.path) }), true);

  tool('sandbox_files_remove', 'Remove a file or, with recursive, a folder and everything in it, from a sandbox.', {
    id, path,
    recursive: z.boolean().default(false).describe('Remove a folder and its contents'),
  }, async (a) => {
    await (await connect(a.id)).files.remove(a.path, { recursive: a.recursive });
    return text(`removed ${a.path}`);
  });

  tool('sandbox_logs', 'The last lines a sandbox\'s main process wrote (stdout and stderr; secrets redacted).', {
    id,
    tail: z.number().int().min(1).max(10_000).default(200).describe('How many lines from the end (default 200)'),
  }, async (a) => text(cap(await (await connect(a.id)).logs({ tail: a.tail })) || '(no output)'), true);

  tool('sandbox_stop', 'Stop a sandbox and keep it (its files stay; it no longer counts as running).', { id }, async (a) => {
    const sb = await connect(a.id);
    await sb.stop();
    return json(sb.info);
  });

  tool('sandbox_kill', 'Kill a sandbox and remove it with the volumes it made. Do this when you are done with it.', { id }, async (a) => {
    await (await connect(a.id)).kill();
    return text(`killed and removed sandbox ${a.id}`);
  });

  return server;
}

export type { SandboxInfo };
