// A message and its event stream; a session's event stream. A caller scoped to a group sees
// only its group's: others answer the same 404 as an id that does not exist.
import { createRoute, z } from '@hono/zod-openapi';
import { seesGroup } from '../auth.js';
import type { Daemon } from '../daemon.js';
import type { Store } from '../store.js';
import { errors, IdParam, json, notFound, routes, SSE, type App } from './common.js';
import { Message } from './groups.js';
import { follow, followMessage } from './stream.js';

const After = z.object({ after: z.string().regex(/^\d+$/).optional().openapi({ description: 'stream only events after this seq' }) });
const tag = ['messages'];

export function messageRoutes(daemon: Daemon, store: Store): App {
  const app = routes();
  const message = (p: Parameters<typeof seesGroup>[0], id: string) => {
    const m = store.message(id);
    if (!m || !seesGroup(p, m.group_name)) throw notFound(`message ${id}`);
    return m;
  };

  app.openapi(createRoute({ method: 'get', path: '/v1/messages/{id}', tags: tag, summary: 'A message and its status',
    request: { params: IdParam }, responses: { 200: json(Message, 'the message'), ...errors(404) } }), (c) => c.json(message(c.get('principal'), c.req.valid('param').id), 200));

  app.openapi(createRoute({ method: 'get', path: '/v1/messages/{id}/events', tags: tag, summary: 'The message\'s events, stored then live, until done or failed',
    request: { params: IdParam, query: After }, responses: { 200: SSE, ...errors(404) } }), (c) => {
    const m = message(c.get('principal'), c.req.valid('param').id);
    return followMessage(c, daemon, store, m.id) as never;
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/sessions/{id}/events', tags: tag, summary: 'A session\'s events, stored then live, until it ends',
    request: { params: IdParam, query: After }, responses: { 200: SSE, ...errors(404) } }), (c) => {
    const { id } = c.req.valid('param');
    const s = store.session(id);
    if (!s || !seesGroup(c.get('principal'), s.group_name)) throw notFound(`session ${id}`);
    return follow(c, daemon, (after) => store.eventsForSession(id, after), (e) => e.session_id === id, (e) => e.type === 'session_ended') as never;
  });

  return app;
}
