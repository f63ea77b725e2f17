import type { Ctx } from './context.js';
import { controlToken, controlUrl } from '../control/client.js';
import { serveHttp, serveStdio } from '../mcp/serve.js';

/** `clawpod mcp [--http HOST:PORT]`: stdout is the MCP channel in stdio mode, so everything else goes to stderr. */
export default async function mcpVerb(ctx: Ctx, opts: { http?: string }): Promise<number> {
  const url = controlUrl(ctx.config);
  if (!opts.http) {
    await serveStdio({ url, token: controlToken(ctx.config) });
    return 0;
  }
  const { url: at, server } = await serveHttp(opts.http, url);
  ctx.say(`clawpod MCP server on ${at} (streamable HTTP; each client's bearer token is checked by ${url} and used for its calls)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
