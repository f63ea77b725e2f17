// Groups: list, add or change (model, allowed models, budget), delete, revoke their gateway tokens,
// issue a gateway token for an agent that is not a session, usage, sessions, messages, history; and
// sending a message (streamed in the same response with Accept: text/event-stream).
import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { INBOUND_LINE_CHARS } from '../../agent/file-names.js';
import { ClawpodError } from '../../errors.js';
import { seesGroup, type Principal } from '../auth.js';
import { badGroupName, BudgetSchema } from '../config.js';
import type { Daemon } from '../daemon.js';
import type { Store } from '../store.js';
import { adminOnly, errors, json, NameParam, notFound, routes, SSE, type App } from './common.js';
import { followMessage } from './stream.js';
import { page, PageQuery, TOTAL_HEADER } from './paging.js';

const Usage = z.object({
  group: z.string(), periodStart: z.string(), periodEnd: z.string(), requests: z.number(), inputTokens: z.number(), outputTokens: z.number(),
  budget: z.object({ tokens: z.number().optional(), requests: z.number().optional() }).nullable(),
}).openapi('Usage');

const Group = z.object({
  name: z.string(), model: z.string(), system: z.string().nullable(), created_at: z.string(),
  models: z.string().nullable().openapi({ description: 'JSON list of the model names its tokens may use; null: the ControlPlane file decides' }),
  budget: z.string().nullable().openapi({ description: 'JSON budget set through the API; null: the file\'s' }),
  session: z.object({ id: z.string(), phase: z.string(), container: z.string().nullable() }).nullable(),
  queued: z.number().int(),
  usage: Usage.optional().openapi({ description: 'with ?usage=1: the period\'s use and budget, as GET /v1/groups/{name}/usage' }),
}).openapi('Group');

const GroupRowSchema = Group.omit({ session: true, queued: true, usage: true }).openapi('GroupRow');

const PutGroup = z.object({
  model: z.string().min(1).openapi({ description: 'a model defined under spec.models of the ControlPlane file' }),
  system: z.string().optional(),
  models: z.array(z.string()).optional(),
  budget: BudgetSchema.optional(),
}).openapi('PutGroup');

const Session = z.object({
  id: z.string(), group_name: z.string(), container_name: z.string().nullable(), status: z.string(), followups: z.string(),
  started_at: z.string(), ended_at: z.string().nullable(), end_reason: z.string().nullable(),
}).openapi('Session');

export const Message = z.object({
  id: z.string(), group_name: z.string(), session_id: z.string().nullable(), text: z.string(), status: z.string(),
  attempts: z.number().int(), error: z.string().nullable(), created_at: z.string(), updated_at: z.string(),
}).openapi('Message');

const History = z.object({
  group: z.string(), enabled: z.boolean(), budgetTokens: z.number().int(),
  freshAfter: z.number().int().openapi({ description: 'turns up to this seq belong to conversations before the last /new; 0: none' }),
  turns: z.array(z.object({ seq: z.number().int(), messageId: z.string(), sessionId: z.string().nullable(), at: z.string(), user: z.string(), assistant: z.string() })),
  summaries: z.array(z.object({ uptoSeq: z.number().int(), turns: z.number().int(), at: z.string(), text: z.string() })),
}).openapi('History');

const tag = ['groups'];

/** A group the caller may see, or the same 404 as for one that does not exist. */
function visibleGroup(store: Store, p: Principal, name: string): string {
  const bad = badGroupName(name);
  if (bad) throw bad;
  if (!seesGroup(p, name) || !store.group(name)) throw notFound(`group named ${name}`);
  return name;
}

export function groupRoutes(daemon: Daemon, store: Store): App {
  const app = routes();

  app.openapi(createRoute({ method: 'get', path: '/v1/groups', tags: tag, summary: 'Groups the token may see, with their session and queue (?q= matches name and model)',
    request: { query: PageQuery.extend({ usage: z.enum(['1']).optional().openapi({ description: '1: each group with its usage (one request for a page, not one per group)' }) }) },
    responses: { 200: { ...json(z.array(Group), 'the groups'), headers: TOTAL_HEADER }, ...errors(400) } }), (c) => {
    const p = c.get('principal');
    const q = c.req.valid('query');
    const mine = page(c, store.groups().filter((g) => seesGroup(p, g.name)), q, (g) => [g.name, g.model]);
    // the queue is read once, not once per group (1,000 groups would be 1,000 queries)
    const queued = new Map<string, number>();
    for (const m of store.queued()) queued.set(m.group_name, (queued.get(m.group_name) ?? 0) + 1);
    return c.json(mine.map((g) => {
      const s = daemon.sessionOf(g.name);
      return { ...g, session: s ? { id: s.opts.id, phase: s.phase, container: s.containerName ?? null } : null, queued: queued.get(g.name) ?? 0, ...(q.usage ? { usage: daemon.groups.usage(g.name) } : {}) };
    }), 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('changing a group')] as const, method: 'put', path: '/v1/groups/{name}', tags: tag, summary: 'Add a group or change its model, allowed models and budget (admin)',
    request: { params: NameParam, body: { content: { 'application/json': { schema: PutGroup } }, required: true } },
    responses: { 200: json(GroupRowSchema, 'the group as stored'), ...errors(400, 403) } }), (c) => {
    const { name } = c.req.valid('param');
    const bad = badGroupName(name);
    if (bad) throw bad;
    const b = c.req.valid('json');
    daemon.groups.add(name, b.model, b.system ?? null, { ...(b.models ? { models: b.models } : {}), ...(b.budget ? { budget: b.budget } : {}) });
    return c.json(store.group(name)!, 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('deleting a group')] as const, method: 'delete', path: '/v1/groups/{name}', tags: tag, summary: 'Delete a group, its queue and tokens (admin)',
    request: { params: NameParam }, responses: { 200: json(z.object({ group: z.string(), deleted: z.boolean() }), 'whether it existed'), ...errors(400, 403) } }), (c) => {
    const { name } = c.req.valid('param');
    const bad = badGroupName(name);
    if (bad) throw bad;
    return c.json({ group: name, deleted: daemon.groups.delete(name) }, 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('revoking a group\'s tokens')] as const, method: 'post', path: '/v1/groups/{name}/revoke', tags: tag, summary: 'Revoke every gateway token of the group (admin)',
    // the body, {"reason": "..."}, is optional: read by hand (a schema would refuse an empty one)
    request: { params: NameParam },
    responses: { 200: json(z.object({ group: z.string(), revoked: z.number().int() }), 'how many were revoked'), ...errors(403) } }), async (c) => {
    const { name } = c.req.valid('param');
    const bad = badGroupName(name);
    if (bad) throw bad;
    const b: unknown = await c.req.json().catch(() => null);
    const reason = b && typeof b === 'object' && 'reason' in b && typeof b.reason === 'string' ? b.reason : 'revoked by the operator';
    return c.json({ group: name, revoked: daemon.groups.revoke(name, reason) }, 200);
  });

  // a gateway token for an agent that is not a session (an OpenClaw gateway run with `clawpod run`):
  // shown once, stored only as a hash, revoked with the group's others
  app.openapi(createRoute({ middleware: [adminOnly('issuing a gateway token')] as const, method: 'post', path: '/v1/groups/{name}/tokens', tags: tag, summary: 'Issue an LLM-gateway token for an agent of the group, shown once (admin)',
    request: { params: NameParam },
    responses: { 201: json(z.object({ group: z.string(), token: z.string(), gatewayListen: z.string().nullable(), model: z.object({ name: z.string(), provider: z.string(), model: z.string() }) }), 'the token and how to reach the gateway'), ...errors(403, 404) } }), (c) => {
    const { name } = c.req.valid('param');
    return c.json({ group: name, token: daemon.groups.issueToken(name), ...daemon.groups.wiring(name) }, 201);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/groups/{name}/usage', tags: tag, summary: 'Model use in the current budget period, and the budget',
    request: { params: NameParam }, responses: { 200: json(Usage, 'usage'), ...errors(404) } }), (c) => {
    return c.json(daemon.groups.usage(visibleGroup(store, c.get('principal'), c.req.valid('param').name)), 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/groups/{name}/sessions', tags: tag, summary: 'The group\'s sessions, newest first',
    request: { params: NameParam }, responses: { 200: json(z.array(Session), 'sessions'), ...errors(404) } }), (c) => {
    return c.json(store.sessions(visibleGroup(store, c.get('principal'), c.req.valid('param').name)), 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/groups/{name}/messages', tags: tag, summary: 'The group\'s last messages',
    request: { params: NameParam }, responses: { 200: json(z.array(Message), 'messages'), ...errors(404) } }), (c) => {
    return c.json(store.messages(visibleGroup(store, c.get('principal'), c.req.valid('param').name)), 200);
  });

  // memory across sessions (src/control/memory.ts): the export, and forgetting it
  app.openapi(createRoute({ method: 'get', path: '/v1/groups/{name}/history', tags: tag, summary: 'The group\'s stored conversation: turns and summaries, as JSON',
    request: { params: NameParam, query: z.object({ format: z.enum(['json']).optional().openapi({ description: 'json (the default and only format)' }) }) },
    responses: { 200: json(History, 'the stored turns and summaries'), ...errors(400, 404) } }), (c) => {
    return c.json(daemon.memory.history(visibleGroup(store, c.get('principal'), c.req.valid('param').name)), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/v1/groups/{name}/history', tags: tag, summary: 'Forget the group\'s stored conversation (turns and summaries); its next session starts with none',
    request: { params: NameParam }, responses: { 200: json(z.object({ group: z.string(), turns: z.number().int(), summaries: z.number().int() }), 'how many were deleted'), ...errors(404) } }), (c) => {
    const name = visibleGroup(store, c.get('principal'), c.req.valid('param').name);
    return c.json({ group: name, ...daemon.memory.forget(name) }, 200);
  });

  // With `Accept: text/event-stream` the answer streams in the same response (one round trip
  // less than POST + GET .../events); the first event, `queued`, carries the message id.
  // the body is read whole: at most what the runner takes in one message (10 files of 10 MiB, base64)
  const sendLimit = bodyLimit({ maxSize: INBOUND_LINE_CHARS, onError: () => { throw new ClawpodError('TOO_LARGE', `the request is larger than ${INBOUND_LINE_CHARS} bytes`, { hint: 'send at most 10 files of at most 10 MiB each with one message' }); } });
  app.openapi(createRoute({ middleware: [sendLimit] as const, method: 'post', path: '/v1/groups/{name}/messages', tags: tag, summary: 'Send a message to the group (stored before it is acknowledged)',
    request: { params: NameParam, body: { content: { 'application/json': { schema: z.object({ text: z.string(), files: z.array(z.object({ name: z.string().min(1).max(1000), data: z.base64().openapi({ description: 'the file\'s bytes, base64' }) })).max(10).optional().openapi({ description: 'files for the agent: saved to its workspace\'s inbox/ (each at most 10 MiB)' }) }).openapi('NewMessage') } }, required: true } },
    responses: { 202: json(z.object({ id: z.string(), group: z.string(), status: z.string() }), 'queued'), 200: SSE, ...errors(400, 404, 413) } }), (c) => {
    const p = c.get('principal');
    const { name } = c.req.valid('param');
    // an admin asking for a missing group hears which ones exist (daemon.submit says); others do not
    if (p.kind !== 'admin') visibleGroup(store, p, name);
    const body = c.req.valid('json');
    const m = daemon.submit(name, body.text, { files: body.files?.map((f) => ({ name: f.name, bytes: Buffer.from(f.data, 'base64') })) ?? [] });
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return followMessage(c, daemon, store, m.id, 0) as never;
    return c.json({ id: m.id, group: m.group_name, status: m.status }, 202);
  });

  return app;
}
