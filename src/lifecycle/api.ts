// The lifecycle's routes of the control plane API: agents with their state and next step (what
// `clawpod ps` shows), a wake (what `clawpod exec` asks for), activity, and the event log. A
// scoped token sees its own agents only; another's answers like one that does not exist.
import { createRoute, z } from '@hono/zod-openapi';
import { ClawpodError } from '../errors.js';
import { seesAgent, type Principal } from '../control/auth.js';
import type { Daemon } from '../control/daemon.js';
import { errors, json, NameParam, notFound, Ok, routes, type App } from '../control/routes/common.js';
import { page, PageQuery, TOTAL_HEADER } from '../control/routes/paging.js';
import type { Lifecycle } from './manager.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
const Agent = z.object({
  name: z.string(), state: z.enum(['running', 'paused', 'suspended', 'stopped']), tenant: z.string().nullable(), idleSeconds: z.number(),
  next: z.object({ action: z.string(), inSeconds: z.number() }).nullable(), expiresAt: z.string().nullable(),
  held: z.object({ until: z.string(), reason: z.string() }).nullable(), expectedWakeMs: z.number(),
}).openapi('Agent');
const tag = ['agents'];

/** An agent's tenant is in its name (tenant-NAME) for the routes that have only the name. */
export const byName = (name: string) => ({ name, tenant: name.startsWith('tenant-') ? name.slice(7) : null });

/** An agent name the caller may act on (checked before any engine is asked), or the same 404 as a missing one. */
export function visibleAgent(p: Principal, n: string): string {
  if (!NAME.test(n)) throw new ClawpodError('USAGE', `"${n}" is not an agent name`, { hint: '`clawpod ps -a` lists agents' });
  if (!seesAgent(p, byName(n))) throw notFound(`agent named ${n}`);
  return n;
}

/** The daemon's lifecycle, or a 503 saying this control plane runs without one (no engine). */
export function lifecycleOf(daemon: Daemon): Lifecycle {
  if (!daemon.lifecycle) throw new ClawpodError('RUNTIME_UNAVAILABLE', 'this control plane runs without the lifecycle', { hint: 'start it with `clawpod serve`' });
  return daemon.lifecycle;
}

export function lifecycleRoutes(daemon: Daemon): App {
  const app = routes();
  const life = () => lifecycleOf(daemon);

  app.openapi(createRoute({ method: 'get', path: '/v1/agents', tags: tag, summary: 'Agents with their state and next lifecycle step (?q= matches name, state, tenant)',
    request: { query: PageQuery.extend({ tenants: z.enum(['1']).optional().openapi({ description: '1: only the agents of a tenant' }) }) },
    responses: { 200: { ...json(z.array(Agent), 'agents'), headers: TOTAL_HEADER }, ...errors(400, 503) } }), async (c) => {
    const p = c.get('principal');
    const q = c.req.valid('query');
    const mine = (await life().status()).filter((a) => seesAgent(p, a) && (q.tenants !== '1' || a.tenant !== null));
    return c.json(page(c, mine, q, (a) => [a.name, a.state, a.tenant]), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/agents/{name}/wake', tags: tag, summary: 'Wake a paused or suspended agent; answers once it runs',
    request: { params: NameParam },
    responses: { 200: json(z.object({ name: z.string(), from: z.string(), ms: z.number(), url: z.string().nullable() }), 'woken (from says what it was)'), ...errors(400, 404, 409, 503) } }), async (c) => {
    const name = visibleAgent(c.get('principal'), c.req.valid('param').name); // before the lifecycle is asked anything
    const w = await life().wake(name);
    return c.json({ name: w.name, from: w.from, ms: Math.round(w.ms), url: w.url ?? null }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/agents/{name}/activity', tags: tag, summary: 'Reset the agent\'s idle clock',
    request: { params: NameParam }, responses: { 200: json(Ok, 'noted'), ...errors(400, 404, 503) } }), (c) => {
    const name = visibleAgent(c.get('principal'), c.req.valid('param').name);
    life().touch(name);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/lifecycle/events', tags: tag, summary: 'Lifecycle events (paused, suspended, woken, ttl_warning, destroyed, ...)',
    request: { query: z.object({ agent: z.string().optional(), after: z.string().regex(/^\d+$/).optional() }) },
    responses: { 200: json(z.array(z.object({ seq: z.number(), agent: z.string(), type: z.string(), data: z.unknown(), ts: z.string() }).openapi('LifecycleEvent')), 'events'), ...errors(400, 404, 503) } }), (c) => {
    const p = c.get('principal');
    const q = c.req.valid('query');
    const only = q.agent ? visibleAgent(p, q.agent) : undefined;
    return c.json(life().events({ ...(only ? { agent: only } : {}), after: Number(q.after ?? 0) || 0 })
      .filter((e) => seesAgent(p, byName(e.agent)))
      .map((e) => ({ seq: e.seq, agent: e.agent, type: e.type, data: JSON.parse(e.data) as unknown, ts: e.ts })), 200);
  });

  return app;
}
