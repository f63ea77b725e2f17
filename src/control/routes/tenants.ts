// A tenant's chat turns as `clawpod tenant chat` saw them: what a canary upgrade replays
// (src/fleet/replay.ts). A tenant's token reaches its own tenant's only.
import { createRoute, z } from '@hono/zod-openapi';
import { seesTenant, type Principal } from '../auth.js';
import { CONTROL_DEFAULTS } from '../../spec/defaults.js';
import type { Store } from '../store.js';
import { errors, json, NameParam, notFound, Ok, routes, type App } from './common.js';

/** Chat turns kept per tenant for a canary replay. */
const TURNS_KEPT = 50;
const Turn = z.object({ seq: z.number().int(), prompt: z.string(), shape: z.unknown(), at: z.string() }).openapi('Turn');
const tag = ['tenants'];

function tenant(p: Principal, name: string): string {
  if (!seesTenant(p, name)) throw notFound(`tenant ${name}`);
  return name;
}

export function tenantRoutes(store: Store): App {
  const app = routes();

  app.openapi(createRoute({ method: 'post', path: '/v1/tenants/{name}/turns', tags: tag, summary: 'Record a chat turn (prompt and the answer\'s shape)',
    request: { params: NameParam, body: { content: { 'application/json': { schema: z.object({ prompt: z.string(), shape: z.record(z.string(), z.unknown()) }).openapi('NewTurn') } }, required: true } },
    responses: { 201: json(Ok, 'recorded'), ...errors(400, 404) } }), (c) => {
    const name = tenant(c.get('principal'), c.req.valid('param').name);
    const b = c.req.valid('json');
    store.addTurn(name, b.prompt.slice(0, CONTROL_DEFAULTS.maxMessageBytes), b.shape, TURNS_KEPT);
    return c.json({ ok: true as const }, 201);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/tenants/{name}/turns', tags: tag, summary: 'The last recorded turns, oldest first',
    request: { params: NameParam, query: z.object({ limit: z.string().regex(/^\d+$/).optional() }) },
    responses: { 200: json(z.array(Turn), 'turns'), ...errors(404) } }), (c) => {
    const name = tenant(c.get('principal'), c.req.valid('param').name);
    const limit = Math.min(Number(c.req.valid('query').limit ?? TURNS_KEPT) || TURNS_KEPT, TURNS_KEPT);
    return c.json(store.turns(name, limit).map((t) => ({ seq: t.seq, prompt: t.prompt, shape: JSON.parse(t.shape) as unknown, at: t.at })), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/v1/tenants/{name}/turns', tags: tag, summary: 'Forget the tenant\'s turns',
    request: { params: NameParam }, responses: { 200: json(Ok, 'forgotten'), ...errors(404) } }), (c) => {
    store.forgetTurns(tenant(c.get('principal'), c.req.valid('param').name));
    return c.json({ ok: true as const }, 200);
  });

  return app;
}
