// GET /v1/stream: one Server-Sent Events stream of what changes, for a dashboard to stay current
// without polling: a message's status (queued, delivered, running, done, failed, ...), a session
// starting or ending, and the lifecycle's events (paused, woken, stopped_by_api, ...). Each one
// names its group or agent and no more (no text, no tool output: those are on the message's own
// stream); a caller hears only of the groups and agents its token sees.
import { createRoute, z } from '@hono/zod-openapi';
import { seesAgent, seesGroup } from '../auth.js';
import type { Daemon } from '../daemon.js';
import type { EventRow, Store } from '../store.js';
import type { LifecycleEvent } from '../../lifecycle/store.js';
import { byName } from '../../lifecycle/api.js';
import { errors, routes, type App } from './common.js';
import { pushSSE } from './push.js';

/** Runner and daemon event types that change a message's status, with the status they stand for. */
const MESSAGE_STATUS: Readonly<Record<string, string>> = {
  queued: 'queued', delivered: 'delivered', start: 'running', done: 'done', failed: 'failed', retry: 'queued', waking: 'waking', wake_failed: 'queued',
};
const SESSION_TYPES = new Set(['session_starting', 'session_ended']);

export function liveRoutes(daemon: Daemon, store: Store): App {
  const app = routes();
  app.openapi(createRoute({ method: 'get', path: '/v1/stream', tags: ['health'], summary: 'Live status changes the token may see: messages, sessions, lifecycle events',
    responses: { 200: { description: 'Server-Sent Events: `message` {id, group, type, status}, `session` {id, group, type}, `lifecycle` {agent, type, ts}; a comment line every 15 s', content: { 'text/event-stream': { schema: z.string() } } }, ...errors() } }), (c) => {
    const p = c.get('principal');
    return pushSSE(c, (push) => {
      const onEvent = (e: EventRow) => {
        if (SESSION_TYPES.has(e.type) && e.session_id) {
          const group = store.session(e.session_id)?.group_name;
          if (group && seesGroup(p, group)) push.send('session', { id: e.session_id, group, type: e.type });
        } else if (MESSAGE_STATUS[e.type] && e.message_id) {
          const group = store.message(e.message_id)?.group_name;
          if (group && seesGroup(p, group)) push.send('message', { id: e.message_id, group, type: e.type, status: MESSAGE_STATUS[e.type] });
        }
      };
      const onLifecycle = (e: LifecycleEvent) => { if (seesAgent(p, byName(e.agent))) push.send('lifecycle', { agent: e.agent, type: e.type, ts: e.ts }); };
      daemon.bus.on('event', onEvent);
      daemon.bus.on('lifecycle', onLifecycle);
      push.signal.addEventListener('abort', () => { daemon.bus.off('event', onEvent); daemon.bus.off('lifecycle', onLifecycle); });
      push.send('hello', { kind: p.kind });
    }) as never;
  });
  return app;
}
