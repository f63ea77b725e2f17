// `clawpod mcp`'s two transports. stdio: one client (Claude Code, OpenClaw start it as a child
// process), one token, from CLAWPOD_TOKEN or the data folder. HTTP: many clients, each with its own
// bearer token, checked against the control plane before any MCP message is read and then used
// for every API call that client's tools make.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ClawpodError, messageOf } from '../errors.js';
import { MCP_PATH, mcpHttpHandler } from './http.js';
import { sandboxMcpServer, type Endpoint } from './tools.js';

/** Serves one client on stdin/stdout until it closes stdin. */
export async function serveStdio(ep: Endpoint): Promise<void> {
  const server = sandboxMcpServer(ep);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once('end', resolve);
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/** Whether the control plane at `url` takes `token` (GET /v1/whoami): the text a refused client gets, or undefined. */
async function refusal(url: string, token: string | undefined): Promise<string | undefined> {
  if (!token) return 'missing bearer token: send Authorization: Bearer TOKEN (a clawpod API token, e.g. from `clawpod token create --scope sandbox:OWNER`)';
  let res: Response;
  try { res = await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } }); } catch (e) {
    return `the control plane at ${url} does not answer: ${messageOf((e as { cause?: unknown }).cause ?? e)}`;
  }
  await res.body?.cancel();
  return res.ok ? undefined : `the control plane refused this token (HTTP ${res.status}): it is unknown, revoked, or a metrics token`;
}

/** Serves streamable HTTP at http://LISTEN/mcp until stop() is called. */
export async function serveHttp(listen: string, apiUrl: string): Promise<{ url: string; server: Server }> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  if (at < 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ClawpodError('USAGE', `--http ${listen}: expected HOST:PORT`, { hint: 'e.g. --http 127.0.0.1:7879' });
  }
  const server = createServer(mcpHttpHandler({
    authorize: async (token) => {
      const refused = await refusal(apiUrl, token);
      return refused ? { refused } : { url: apiUrl, token: token! };
    },
  }));
  await new Promise<void>((resolve, reject) => server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
    ? new ClawpodError('PORT_TAKEN', `--http ${listen}: the address is in use`, { hint: 'pick another port' })
    : e)).listen(port, host, () => resolve()));
  const a = server.address() as AddressInfo;
  return { url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}${MCP_PATH}`, server };
}
