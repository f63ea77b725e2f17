// Scheduled prompts (src/control/schedules.ts): make, list and remove them. Admin only: a
// schedule sends words to a group on its own, as often as its cron says.
import { createRoute, z } from '@hono/zod-openapi';
import { ClawpodError } from '../../errors.js';
import type { ScheduleRow, Scheduler } from '../schedules.js';
import { adminOnly, errors, IdParam, json, routes, type App } from './common.js';

const Schedule = z.object({
  id: z.string(), name: z.string().nullable(), group: z.string(),
  cron: z.string().openapi({ example: '0 9 * * 1-5' }), tz: z.string().openapi({ example: 'Europe/Berlin' }), prompt: z.string(),
  missed: z.enum(['skip', 'once']).openapi({ description: 'a run missed while the daemon was down: skipped, or run once at start' }),
  source: z.enum(['file', 'api']).openapi({ description: 'file: spec.schedules of the ControlPlane file (removed there); api: made here' }),
  createdAt: z.string(), lastRunAt: z.string().nullable(), nextRunAt: z.string().nullable(),
}).openapi('Schedule');

const NewSchedule = z.object({
  group: z.string(),
  cron: z.string().openapi({ description: 'five fields (minute hour day month weekday), or six with seconds first', example: '0 9 * * 1-5' }),
  tz: z.string().optional().openapi({ description: 'IANA time zone (default UTC)', example: 'Europe/Berlin' }),
  prompt: z.string(),
  missed: z.enum(['skip', 'once']).optional().openapi({ description: 'default skip' }),
  name: z.string().optional(),
}).openapi('NewSchedule');

export function scheduleView(r: ScheduleRow): z.infer<typeof Schedule> {
  return {
    id: r.id, name: r.name, group: r.group_name, cron: r.cron, tz: r.tz, prompt: r.prompt, missed: r.missed, source: r.source,
    createdAt: r.created_at, lastRunAt: r.last_run_at, nextRunAt: r.next_run_at,
  };
}

const tag = ['schedules'];

/** Without a scheduler (an API built in a test) the routes exist, and answer 503. */
export function scheduleRoutes(scheduler: Scheduler | undefined): App {
  const app = routes();
  const need = (): Scheduler => {
    if (!scheduler) throw new ClawpodError('RUNTIME_UNAVAILABLE', 'this control plane runs no scheduler', { hint: 'schedules are kept by `clawpod serve`' });
    return scheduler;
  };

  app.openapi(createRoute({ middleware: [adminOnly('listing schedules')] as const, method: 'get', path: '/v1/schedules', tags: tag, summary: 'Scheduled prompts, from the file and the API, with their next and last run (admin)',
    responses: { 200: json(z.array(Schedule), 'the schedules'), ...errors(403, 503) } }), (c) => {
    return c.json(need().list().map(scheduleView), 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('making a schedule')] as const, method: 'post', path: '/v1/schedules', tags: tag, summary: 'Send a prompt to a group on a cron schedule; runs are queued like messages (admin)',
    request: { body: { content: { 'application/json': { schema: NewSchedule } }, required: true } },
    responses: { 201: json(Schedule, 'the schedule, with its next run'), ...errors(400, 403, 404, 409, 413, 503) } }), (c) => {
    return c.json(scheduleView(need().add(c.req.valid('json'))), 201);
  });

  app.openapi(createRoute({ middleware: [adminOnly('removing a schedule')] as const, method: 'delete', path: '/v1/schedules/{id}', tags: tag, summary: 'Remove a schedule made through the API (one from the file is removed there) (admin)',
    request: { params: IdParam }, responses: { 200: json(Schedule, 'the schedule removed'), ...errors(400, 403, 404, 503) } }), (c) => {
    return c.json(scheduleView(need().remove(c.req.valid('param').id)), 200);
  });

  return app;
}
