// clawpod's MCP server over streamable HTTP at /mcp, stateless: each POST gets its own server and
// transport, bound to the endpoint its bearer token is allowed (so one process serves many
// callers and keeps nothing between requests). A request without an accepted token gets 401
// before any MCP message is read. Used by `clawpod mcp --http` and by `clawpod serve` on the
// LLM gateway's socket for nested sandboxes.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { readCappedBody } from '../control/gateway/body.js';
import { sandboxMcpServer, type Endpoint } from './tools.js';

export const MCP_PATH = '/mcp';
/** A file written through sandbox_files_write is at most 16 MiB, ~22 MiB as base64 in JSON. */
const MAX_BODY_BYTES = 24 * 1024 * 1024;

export interface McpHttpOptions {
  /** The endpoint for a request's bearer token, or why it is refused (the text the caller gets). */
  readonly authorize: (token: string | undefined) => Promise<Endpoint | { refused: string }>;
}

function rpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

export function bearerOf(req: IncomingMessage): string | undefined {
  const a = req.headers.authorization;
  return a?.startsWith('Bearer ') ? a.slice(7) : undefined;
}

export function mcpHttpHandler(o: McpHttpOptions): RequestListener {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if ((req.url ?? '').replace(/\?.*/, '') !== MCP_PATH) return rpcError(res, 404, `no route ${req.method} ${req.url}; clawpod's MCP endpoint is POST ${MCP_PATH}`);
    // nothing is pushed outside a request's own answer: no standalone stream, no session to end
    if (req.method !== 'POST') return rpcError(res, 405, `${req.method} ${MCP_PATH}: this MCP server is stateless; send POST`, { allow: 'POST' });
    const ep = await o.authorize(bearerOf(req));
    if ('refused' in ep) return rpcError(res, 401, ep.refused, { 'www-authenticate': 'Bearer' });
    const body = await readCappedBody(req, MAX_BODY_BYTES);
    if (!body.ok) {
      res.setHeader('connection', 'close');
      return rpcError(res, 413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    let parsed: unknown;
    try { parsed = JSON.parse(body.bytes.toString('utf8')); } catch { return rpcError(res, 400, 'the request body is not JSON'); }
    const server = sandboxMcpServer(ep);
    // answers as an SSE stream: sandbox_exec's progress notifications go out while the command runs
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => { void transport.close(); void server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) rpcError(res, 500, `clawpod mcp: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    });
  };
}
