// The lifecycle's routes of the control plane API: agents with their state and next step (what
// `clawpod ps` shows), a wake (what `clawpod exec` asks for), activity, and the event log.
import type { Hono } from 'hono';
import { ClawpodError } from '../errors.js';
import type { Daemon } from '../control/daemon.js';
import type { Lifecycle } from './manager.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

export function lifecycleRoutes(app: Hono, daemon: Daemon): void {
  const life = (): Lifecycle => {
    if (!daemon.lifecycle) throw new ClawpodError('USAGE', 'this control plane runs without the lifecycle', { hint: 'start it with `clawpod serve`' });
    return daemon.lifecycle;
  };
  const name = (n: string): string => {
    if (!NAME.test(n)) throw new ClawpodError('USAGE', `"${n}" is not an agent name`, { hint: '`clawpod ps -a` lists agents' });
    return n;
  };
  app.get('/v1/agents', async (c) => c.json(await life().status()));
  app.post('/v1/agents/:name/wake', async (c) => {
    const w = await life().wake(name(c.req.param('name')));
    return c.json({ name: w.name, from: w.from, ms: Math.round(w.ms), url: w.url ?? null });
  });
  app.post('/v1/agents/:name/activity', (c) => { life().touch(name(c.req.param('name'))); return c.json({ ok: true }); });
  app.get('/v1/lifecycle/events', (c) => {
    const agent = c.req.query('agent');
    return c.json(life().events({ ...(agent ? { agent: name(agent) } : {}), after: Number(c.req.query('after') ?? 0) || 0 })
      .map((e) => ({ seq: e.seq, agent: e.agent, type: e.type, data: JSON.parse(e.data) as unknown, ts: e.ts })));
  });
}
