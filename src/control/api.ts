// The control plane's HTTP API (localhost, bearer token). Streams are Server-Sent Events: the
// stored events after `?after=SEQ` (or Last-Event-ID) first, then live ones, so a client that
// reconnects misses nothing.
import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ClawpodError, isClawpodError } from '../errors.js';
import { badGroupName, BudgetSchema } from './config.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import type { Daemon } from './daemon.js';
import type { EventRow, Store } from './store.js';
import { redactor } from '../secrets/redact.js';
import { lifecycleRoutes } from '../lifecycle/api.js';

const STATUS: Partial<Record<string, 400 | 404 | 409 | 413 | 429 | 503 | 504>> = { NOT_FOUND: 404, USAGE: 400, NAME_TAKEN: 409, TOO_LARGE: 413, SECRET_MISSING: 400, IN_USE: 409, BUDGET_EXHAUSTED: 429, RUNTIME_UNAVAILABLE: 503, UNHEALTHY: 504 };
/** Chat turns kept per tenant for a canary replay. */
const TURNS_KEPT = 50;

/** body.models (model names) and body.budget ({period?, tokens?, requests?}) of PUT /v1/groups/NAME. */
function groupPolicy(b: Record<string, unknown>): { models?: string[]; budget?: object } {
  const out: { models?: string[]; budget?: object } = {};
  if (b.models !== undefined) {
    if (!Array.isArray(b.models) || !b.models.every((m) => typeof m === 'string')) throw new ClawpodError('USAGE', 'body.models must be a list of model names', { hint: 'e.g. {"model":"sonnet","models":["sonnet","haiku"]}' });
    out.models = b.models as string[];
  }
  if (b.budget !== undefined) {
    const r = BudgetSchema.safeParse(b.budget);
    if (!r.success) throw new ClawpodError('USAGE', `body.budget is not a budget: ${r.error.issues[0]!.message}`, { hint: 'e.g. {"period":"1d","tokens":100000,"requests":500}' });
    out.budget = r.data;
  }
  return out;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function errorBody(code: string, message: string, hint?: string) {
  return { error: { code, message, ...(hint ? { hint } : {}) } };
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  try {
    const v: unknown = await c.req.json();
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* fall through */ }
  throw new ClawpodError('USAGE', 'the request body is not a JSON object', { hint: 'send Content-Type: application/json with an object body, e.g. {"text":"hello"}' });
}

export function buildApi(daemon: Daemon, store: Store, token: string): Hono {
  const app = new Hono();

  app.onError((e, c) => {
    if (isClawpodError(e)) {
      const status = STATUS[e.code] ?? 500;
      return c.json(errorBody(e.code, redactor.redact(e.message), e.hint), status);
    }
    return c.json(errorBody('INTERNAL', redactor.redact(e.message)), 500);
  });

  // Hono's own 404 is text/plain; every answer of this API is JSON with a code
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`, 'the routes are listed in docs/control-plane.md'), 404));

  app.use('/v1/*', async (c, next) => {
    const h = c.req.header('authorization') ?? '';
    if (!h.startsWith('Bearer ') || !sameToken(h.slice(7), token)) {
      return c.json(errorBody('UNAUTHORIZED', 'missing or wrong bearer token', 'the token is in the control plane\'s data folder (control/token); clawpod send/chat read it for you'), 401);
    }
    await next();
  });

  app.get('/v1/health', (c) => c.json({ ok: true, running: daemon.running, queued: store.queued().length }));

  app.get('/v1/groups', (c) => c.json(store.groups().map((g) => {
    const s = daemon.sessionOf(g.name);
    return { ...g, session: s ? { id: s.opts.id, phase: s.phase, container: s.containerName ?? null } : null, queued: store.queued().filter((m) => m.group_name === g.name).length };
  })));

  app.put('/v1/groups/:name', async (c) => {
    const name = c.req.param('name');
    const bad = badGroupName(name);
    if (bad) throw bad;
    const b = await jsonBody(c);
    if (typeof b.model !== 'string') throw new ClawpodError('USAGE', 'body.model is missing', { hint: 'send {"model":"NAME"} with a model defined in the ControlPlane file' });
    daemon.addGroup(name, b.model, typeof b.system === 'string' ? b.system : null, groupPolicy(b));
    return c.json(store.group(name), 200);
  });

  app.delete('/v1/groups/:name', (c) => {
    const name = c.req.param('name');
    const bad = badGroupName(name);
    if (bad) throw bad;
    return c.json({ group: name, deleted: daemon.deleteGroup(name) });
  });

  // a tenant's chat turns as `clawpod tenant chat` saw them: what a canary upgrade replays (src/fleet/replay.ts)
  app.post('/v1/tenants/:name/turns', async (c) => {
    const b = await jsonBody(c);
    if (typeof b.prompt !== 'string' || typeof b.shape !== 'object' || b.shape === null) throw new ClawpodError('USAGE', 'POST /v1/tenants/NAME/turns needs {"prompt": "...", "shape": {...}}', { hint: 'clawpod tenant chat records turns for you' });
    store.addTurn(c.req.param('name'), b.prompt.slice(0, CONTROL_DEFAULTS.maxMessageBytes), b.shape as object, TURNS_KEPT);
    return c.json({ ok: true }, 201);
  });
  app.get('/v1/tenants/:name/turns', (c) => c.json(store.turns(c.req.param('name'), Math.min(Number(c.req.query('limit') ?? TURNS_KEPT) || TURNS_KEPT, TURNS_KEPT)).map((t) => ({ seq: t.seq, prompt: t.prompt, shape: JSON.parse(t.shape) as unknown, at: t.at }))));
  app.delete('/v1/tenants/:name/turns', (c) => { store.forgetTurns(c.req.param('name')); return c.json({ ok: true }); });

  app.post('/v1/groups/:name/revoke', async (c) => {
    const b = await jsonBody(c).catch(() => ({}) as Record<string, unknown>);
    const revoked = daemon.revoke(c.req.param('name'), typeof b.reason === 'string' ? b.reason : 'revoked by the operator');
    return c.json({ group: c.req.param('name'), revoked });
  });

  // a token for an agent that is not a session (an OpenClaw gateway run with `clawpod run`):
  // shown once, stored only as a hash, revoked with the group's others
  app.post('/v1/groups/:name/tokens', (c) => {
    const group = c.req.param('name');
    return c.json({ group, token: daemon.issueToken(group), ...daemon.wiring(group) }, 201);
  });

  // an agent's token that a newer one replaces (clawpod run of the same instance again)
  app.post('/v1/tokens/revoke', async (c) => {
    const b = await jsonBody(c).catch(() => ({}) as Record<string, unknown>);
    if (typeof b.token !== 'string' || !b.token) throw new ClawpodError('USAGE', 'POST /v1/tokens/revoke needs {"token": "..."}', { hint: 'send the token to revoke' });
    return c.json({ revoked: daemon.revokeToken(b.token, typeof b.reason === 'string' ? b.reason : 'replaced') });
  });

  app.get('/v1/groups/:name/usage', (c) => {
    const name = c.req.param('name');
    if (!store.group(name)) throw new ClawpodError('NOT_FOUND', `no group named ${name}`);
    return c.json(daemon.usage(name));
  });

  app.get('/v1/groups/:name/sessions', (c) => c.json(store.sessions(c.req.param('name'))));
  app.get('/v1/groups/:name/messages', (c) => c.json(store.messages(c.req.param('name'))));

  // With `Accept: text/event-stream` the answer streams in the same response (one round trip
  // less than POST + GET .../events); the first event, `queued`, carries the message id.
  app.post('/v1/groups/:name/messages', async (c) => {
    const b = await jsonBody(c);
    if (typeof b.text !== 'string') throw new ClawpodError('USAGE', 'body.text is missing or not a string', { hint: 'send {"text":"..."}' });
    const m = daemon.submit(c.req.param('name'), b.text);
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return followMessage(c, m.id, 0);
    return c.json({ id: m.id, group: m.group_name, status: m.status }, 202);
  });

  app.get('/v1/messages/:id', (c) => {
    const m = store.message(c.req.param('id'));
    if (!m) throw new ClawpodError('NOT_FOUND', `no message ${c.req.param('id')}`);
    return c.json(m);
  });

  const follow = (c: Context, replay: (after: number) => EventRow[], matches: (e: EventRow) => boolean, isEnd: (e: EventRow) => boolean, from?: number) => {
    const after = from ?? (Number(c.req.query('after') ?? c.req.header('last-event-id') ?? 0) || 0);
    return streamSSE(c, async (stream) => {
      const live: EventRow[] = [];
      let wake: (() => void) | undefined;
      const onEvent = (e: EventRow) => { if (matches(e)) { live.push(e); wake?.(); } };
      daemon.bus.on('event', onEvent); // subscribe before replaying, so nothing falls between
      stream.onAbort(() => { daemon.bus.off('event', onEvent); wake?.(); });
      try {
        let last = after;
        const send = async (e: EventRow): Promise<boolean> => {
          if (e.seq <= last) return false;
          last = e.seq;
          await stream.writeSSE({ id: String(e.seq), event: e.type, data: e.data });
          return isEnd(e);
        };
        for (const e of replay(after)) if (await send(e)) return;
        while (!stream.aborted) {
          while (live.length) if (await send(live.shift()!)) return;
          await new Promise<void>((res) => { wake = res; });
          wake = undefined;
        }
      } finally {
        daemon.bus.off('event', onEvent);
      }
    });
  };

  const followMessage = (c: Context, id: string, after?: number) =>
    follow(c, (a) => store.eventsForMessage(id, a), (e) => e.message_id === id, (e) => e.type === 'done' || e.type === 'failed', after);

  app.get('/v1/messages/:id/events', (c) => {
    const id = c.req.param('id');
    if (!store.message(id)) throw new ClawpodError('NOT_FOUND', `no message ${id}`);
    return followMessage(c, id);
  });

  app.get('/v1/sessions/:id/events', (c) => {
    const id = c.req.param('id');
    if (!store.session(id)) throw new ClawpodError('NOT_FOUND', `no session ${id}`);
    return follow(c, (after) => store.eventsForSession(id, after), (e) => e.session_id === id, (e) => e.type === 'session_ended');
  });

  lifecycleRoutes(app, daemon);
  return app;
}
