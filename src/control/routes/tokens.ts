// Tokens: revoking an agent's LLM-gateway token (one a newer run replaces), and the API tokens
// with a scope (src/control/auth.ts) that `clawpod token create|ls|revoke` manage; a sandbox:OWNER
// token carries its limits (src/sandbox/limits.ts). Admin only.
import { createRoute, z } from '@hono/zod-openapi';
import { ClawpodError } from '../../errors.js';
import { limitsOf, limitsView, parseLimits } from '../../sandbox/limits.js';
import { parseScope, type ApiTokens } from '../auth.js';
import type { Daemon } from '../daemon.js';
import type { ApiTokenRow, Store } from '../store.js';
import { adminOnly, errors, IdParam, json, notFound, routes, type App } from './common.js';

const Limits = z.object({
  maxSandboxes: z.number().int(), cpus: z.number(), memory: z.string().openapi({ example: '512Mi' }), pids: z.number().int(),
}).openapi('SandboxLimits');
const LimitsInput = z.object({
  maxSandboxes: z.number().int().optional(), cpus: z.union([z.number(), z.string()]).optional(), memory: z.string().optional(), pids: z.number().int().optional(),
}).openapi({ description: 'sandbox:OWNER only; each one left out is its default (5 sandboxes, 1 cpu, 512Mi, 256 pids)' });
const ApiToken = z.object({
  id: z.string(), scope: z.string().openapi({ example: 'tenant:acme' }), name: z.string(),
  createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable(),
  limits: Limits.nullable().openapi({ description: 'a sandbox:OWNER token\'s limits' }),
}).openapi('ApiToken');
const view = (r: ApiTokenRow) => ({
  id: r.id, scope: r.scope, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
  limits: r.scope.startsWith('sandbox:') ? limitsView(limitsOf(r.limits)) : null,
});
const tag = ['tokens'];

export function tokenRoutes(daemon: Daemon, store: Store, tokens: ApiTokens): App {
  const app = routes();

  app.openapi(createRoute({ middleware: [adminOnly('revoking a gateway token')] as const, method: 'post', path: '/v1/tokens/revoke', tags: tag, summary: 'Revoke one LLM-gateway token by its value (admin)',
    request: { body: { content: { 'application/json': { schema: z.object({ token: z.string().min(1), reason: z.string().optional() }) } }, required: true } },
    responses: { 200: json(z.object({ revoked: z.boolean() }), 'whether it was live'), ...errors(400, 403) } }), (c) => {
    const b = c.req.valid('json');
    return c.json({ revoked: daemon.groups.revokeToken(b.token, b.reason ?? 'replaced') }, 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('listing API tokens')] as const, method: 'get', path: '/v1/api-tokens', tags: tag, summary: 'API tokens: id, scope, name, dates (never their value) (admin)',
    responses: { 200: json(z.array(ApiToken), 'the tokens'), ...errors(403) } }), (c) => {
    return c.json(store.apiTokens().map(view), 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('making an API token')] as const, method: 'post', path: '/v1/api-tokens', tags: tag, summary: 'Make an API token with a scope; its value is shown once (admin)',
    request: { body: { content: { 'application/json': { schema: z.object({ scope: z.string().openapi({ description: 'admin, metrics, group:NAME, tenant:NAME or sandbox:OWNER' }), name: z.string().max(200).optional(), limits: LimitsInput.optional() }).openapi('NewApiToken') } }, required: true } },
    responses: { 201: json(ApiToken.extend({ token: z.string() }), 'the token, with its value this once'), ...errors(400, 403) } }), (c) => {
    const b = c.req.valid('json');
    const scope = parseScope(b.scope);
    const sandbox = scope.startsWith('sandbox:');
    if (b.limits && !sandbox) throw new ClawpodError('USAGE', `limits are for a sandbox:OWNER token, and this one is ${scope}`, { hint: 'drop --max-sandboxes, --cpus, --memory and --pids, or use --scope sandbox:OWNER' });
    const { row, token } = tokens.create(scope, b.name ?? scope, sandbox ? parseLimits(b.limits ?? {}) : undefined);
    return c.json({ ...view(row), token }, 201);
  });

  app.openapi(createRoute({ middleware: [adminOnly('revoking an API token')] as const, method: 'delete', path: '/v1/api-tokens/{id}', tags: tag, summary: 'Revoke an API token (admin)',
    request: { params: IdParam }, responses: { 200: json(z.object({ id: z.string(), revoked: z.boolean() }), 'revoked now (false: it already was)'), ...errors(403, 404) } }), (c) => {
    const { id } = c.req.valid('param');
    if (!store.apiToken(id)) throw notFound(`API token ${id}`);
    return c.json({ id, revoked: store.revokeApiToken(id) }, 200);
  });

  return app;
}
