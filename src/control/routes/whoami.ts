// Who the bearer token is: what a client (the dashboard) shows and which pages it offers. It says
// only what the caller already holds: its own scope.
import { createRoute, z } from '@hono/zod-openapi';
import { errors, json, routes, type App } from './common.js';

const Me = z.object({ kind: z.enum(['admin', 'group', 'tenant', 'sandbox']), name: z.string().nullable().openapi({ description: 'the group, tenant or sandbox owner a scoped token is for' }) }).openapi('Me');

export function whoamiRoutes(): App {
  const app = routes();
  app.openapi(createRoute({ method: 'get', path: '/v1/whoami', tags: ['tokens'], summary: 'The scope of the calling token',
    responses: { 200: json(Me, 'the caller'), ...errors() } }), (c) => {
    const p = c.get('principal');
    // metrics tokens never get this far (src/control/api.ts)
    if (p.kind === 'group') return c.json({ kind: 'group' as const, name: p.group }, 200);
    if (p.kind === 'tenant') return c.json({ kind: 'tenant' as const, name: p.tenant }, 200);
    if (p.kind === 'sandbox') return c.json({ kind: 'sandbox' as const, name: p.owner }, 200);
    return c.json({ kind: 'admin' as const, name: null }, 200);
  });
  return app;
}
