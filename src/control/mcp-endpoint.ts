// clawpod's MCP server at /mcp on the LLM gateway's unix socket, for nested sandboxes: a session
// container already has that socket (and no network), so its runner reaches the sandbox tools
// without a new mount. Only a sandbox:OWNER token is taken here, never an admin, group or tenant
// one: what a container can present is what a session was given. The tools call the API
// in-process with the same token, so the sandbox routes decide everything a token may do.
import type { RequestListener } from 'node:http';
import { MCP_PATH, mcpHttpHandler } from '../mcp/http.js';
import type { ApiTokens } from './auth.js';

export interface InProcessApi { fetch(req: Request): Response | Promise<Response> }

/** Serves /mcp on `listener`'s server and hands every other request to `rest` (the gateway). */
export function withMcp(rest: RequestListener, tokens: ApiTokens, api: () => InProcessApi | undefined): RequestListener {
  const mcp = mcpHttpHandler({
    authorize: async (token) => {
      const p = token ? tokens.authenticate(`Bearer ${token}`) : undefined;
      const app = api();
      if (!p || p.kind !== 'sandbox') return { refused: 'clawpod MCP on the gateway socket takes a session\'s sandbox token only (it is in /run/secrets/CLAWPOD_SANDBOX_TOKEN of sessions whose group has sandboxes)' };
      if (!app) return { refused: 'the control plane is still starting' };
      // the URL is never dialled: every request goes to the API in this process
      return { url: 'http://clawpod.internal', token: token!, fetch: (input, init) => Promise.resolve(app.fetch(new Request(input, init))) };
    },
  });
  return (req, res) => ((req.url ?? '').replace(/\?.*/, '') === MCP_PATH ? mcp(req, res) : rest(req, res));
}
