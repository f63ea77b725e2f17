// The control plane's HTTP API (bearer tokens, JSON, Server-Sent Events for streams), put together
// from one route module per subject under ./routes. Every route declares its input and answers
// with zod schemas: the same schemas validate requests and make the OpenAPI 3.1 document served
// at /v1/openapi.json (test/unit/api-contract.test.ts checks the two agree).
import { HTTPException } from 'hono/http-exception';
import { ClawpodError, httpStatusOf, isClawpodError } from '../errors.js';
import type { Daemon } from './daemon.js';
import type { Store } from './store.js';
import { redactor } from '../secrets/redact.js';
import { lifecycleRoutes } from '../lifecycle/api.js';
import { ApiTokens, describe } from './auth.js';
import { errorBody, errors, json, routes, type App } from './routes/common.js';
import { groupRoutes } from './routes/groups.js';
import { messageRoutes } from './routes/messages.js';
import { tenantRoutes } from './routes/tenants.js';
import { tokenRoutes } from './routes/tokens.js';
import { agentRoutes, type AgentOps } from './routes/agents.js';
import { liveRoutes } from './routes/live.js';
import { modelRoutes, type ModelInfo } from './routes/models.js';
import { whoamiRoutes } from './routes/whoami.js';
import { sandboxRoutes } from './routes/sandboxes.js';
import { scheduleRoutes } from './routes/schedules.js';
import { channelRoutes, type ChannelOps } from './routes/channels.js';
import type { Scheduler } from './schedules.js';
import { Sandboxes } from '../sandbox/sandboxes.js';
import { createRoute, z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Metrics } from './metrics.js';

export const OPENAPI_PATH = '/v1/openapi.json';

export interface ApiOptions {
  /** Served at GET /metrics (Prometheus text) to an admin or a metrics token; errors are counted by code. */
  readonly metrics?: Pick<Metrics, 'render' | 'contentType' | 'error'>;
  /** The runtime and config agents are stopped, started, removed, upgraded and read with; without them those routes answer 503. */
  readonly agents?: AgentOps;
  /** The ControlPlane file's models, for GET /v1/models. */
  readonly models?: readonly ModelInfo[];
  /** The sandboxes the /v1/sandboxes routes drive; default: made from `agents` (none without: those routes answer 503). */
  readonly sandboxes?: Sandboxes;
  /** The scheduled prompts /v1/schedules manages; without it those routes answer 503. */
  readonly schedules?: Scheduler;
  /** The chat channels (src/channels) /v1/channels lists and binds, and whose webhooks it takes. */
  readonly channels?: ChannelOps;
}

/** A platform's webhook carries its own signature, not a clawpod token (src/control/routes/channels.ts). */
const CHANNEL_HOOK = /^\/v1\/channels\/[^/]+\/hook$/;

/** The sandboxes of a control plane, their acts noted in its lifecycle's event log and their use resetting its idle clock. */
export function sandboxesOf(daemon: Daemon, store: Store, agents: AgentOps): Sandboxes {
  return new Sandboxes(agents.rt, agents.config, store, {
    note: (name, type, data) => daemon.lifecycle?.event(name, type, data),
    touch: (name) => daemon.lifecycle?.touch(name),
  });
}

export function buildApi(daemon: Daemon, store: Store, adminToken: string, opts: ApiOptions = {}): App {
  const app = routes();
  const tokens = new ApiTokens(store, adminToken);

  app.onError((e, c) => {
    if (isClawpodError(e)) opts.metrics?.error(e.code);
    if (isClawpodError(e)) return c.json(errorBody(e.code, redactor.redact(e.message), e.hint, e.details.map((d) => redactor.redact(d))), httpStatusOf(e.code) as ContentfulStatusCode);
    // hono's own: a body that is not JSON, and the like
    if (e instanceof HTTPException && e.status < 500) return c.json(errorBody('USAGE', e.message || 'bad request', 'send Content-Type: application/json with a JSON object body'), e.status);
    return c.json(errorBody('INTERNAL', redactor.redact(e.message)), 500);
  });

  // Hono's own 404 is text/plain; every answer of this API is JSON with a code
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`, `the routes are listed at ${OPENAPI_PATH}`), 404));

  app.use('/v1/*', async (c, next) => {
    if (c.req.path === OPENAPI_PATH || (c.req.method === 'POST' && CHANNEL_HOOK.test(c.req.path))) return next();
    const p = tokens.authenticate(c.req.header('authorization'));
    if (!p) return c.json(errorBody('UNAUTHORIZED', 'missing, wrong or revoked bearer token', 'the admin token is in the control plane\'s data folder (control/token); clawpod send/chat read it for you; scoped ones come from `clawpod token create`'), 401);
    // a metrics token scrapes /metrics and nothing else
    if (p.kind === 'metrics') throw new ClawpodError('FORBIDDEN', 'a metrics token reaches GET /metrics only', { hint: 'use an admin, group, tenant or sandbox token for the API' });
    c.set('principal', p);
    await next();
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/health', tags: ['health'], summary: 'The control plane runs; sessions running, messages queued',
    responses: { 200: json(z.object({ ok: z.literal(true), running: z.number().int(), queued: z.number().int() }), 'healthy'), ...errors() } }),
  (c) => c.json({ ok: true as const, running: daemon.running, queued: store.queued().length }, 200));

  for (const r of [groupRoutes(daemon, store), messageRoutes(daemon, store), tenantRoutes(store), tokenRoutes(daemon, store, tokens), lifecycleRoutes(daemon),
    agentRoutes(daemon, opts.agents), modelRoutes(opts.models ?? []), whoamiRoutes(), liveRoutes(daemon, store),
    sandboxRoutes(opts.sandboxes ?? (opts.agents ? sandboxesOf(daemon, store, opts.agents) : undefined)), scheduleRoutes(opts.schedules), channelRoutes(daemon, store, opts.channels)]) app.route('/', r);
  const metrics = opts.metrics;
  if (metrics) {
    // outside /v1 and the OpenAPI document: Prometheus' text format, for a scrape
    app.get('/metrics', async (c) => {
      const p = tokens.authenticate(c.req.header('authorization'));
      if (!p) return c.json(errorBody('UNAUTHORIZED', 'missing, wrong or revoked bearer token', 'scrape with an admin token or one from `clawpod token create --scope metrics`'), 401);
      if (p.kind !== 'admin' && p.kind !== 'metrics') throw new ClawpodError('FORBIDDEN', `GET /metrics needs an admin or a metrics token; this one is scoped to ${describe(p)}`, { hint: '`clawpod token create --scope metrics` makes one for Prometheus' });
      return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType });
    });
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'the admin token (control/token) or one from `clawpod token create`' });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: { title: 'clawpod control plane', version: 'v1', description: 'Groups, messages and sessions, agents and their lifecycle, tenants\' chat turns, sandboxes, tokens. Errors are {"error":{"code","message","hint"}} with the status of src/errors.ts.' },
    security: [{ bearer: [] }],
  });
  return app;
}
