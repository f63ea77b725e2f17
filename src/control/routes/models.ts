// The models of the ControlPlane file a group can be switched to (PUT /v1/groups/{name}): names,
// providers and provider model ids only. Keys, their sources and base URLs (which may carry a
// key or an internal host) stay on the server. Admin only, like switching.
import { createRoute, z } from '@hono/zod-openapi';
import { adminOnly, errors, json, routes, type App } from './common.js';

export interface ModelInfo { readonly name: string; readonly provider: string; readonly model: string }

const Model = z.object({ name: z.string(), provider: z.string(), model: z.string() }).openapi('Model');

/** What GET /v1/models shows of spec.models: picked field by field, so a new secret field never leaks by default. */
export function modelInfos(models: Readonly<Record<string, { provider: string; model: string }>>): ModelInfo[] {
  return Object.entries(models).map(([name, m]) => ({ name, provider: m.provider, model: m.model })).sort((a, b) => a.name.localeCompare(b.name));
}

export function modelRoutes(models: readonly ModelInfo[]): App {
  const app = routes();
  app.openapi(createRoute({ middleware: [adminOnly('listing models')] as const, method: 'get', path: '/v1/models', tags: ['groups'], summary: 'The models groups can use: name, provider, model id (never keys or base URLs) (admin)',
    responses: { 200: json(z.array(Model), 'the models'), ...errors(403) } }), (c) => c.json(models.map((m) => ({ name: m.name, provider: m.provider, model: m.model })), 200));
  return app;
}
