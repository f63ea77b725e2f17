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
const FileParams = IdParam.extend({ fileId: z.string().min(1).max(200).openapi({ param: { name: 'fileId', in: 'path' } }) });

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

  // a file the message came with or its agent sent back (the `file` event names its fileId)
  app.openapi(createRoute({ method: 'get', path: '/v1/messages/{id}/files/{fileId}', tags: tag, summary: 'A file of the message: sent with it, or sent back by its agent',
    request: { params: FileParams }, responses: { 200: { description: 'the file\'s bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, ...errors(404) } }), (c) => {
    const { id, fileId } = c.req.valid('param');
    const m = message(c.get('principal'), id);
    const f = daemon.file(fileId);
    if (!f || f.messageId !== m.id) throw notFound(`file ${fileId} of message ${m.id}`);
    return c.body(new Uint8Array(f.bytes), 200, {
      'content-type': 'application/octet-stream', 'content-length': String(f.bytes.length),
      // the name is a safe basename already; RFC 5987 carries any character it kept
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(f.name)}`, 'x-content-type-options': 'nosniff',
    }) as never;
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
