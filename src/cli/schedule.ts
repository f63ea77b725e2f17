// `clawpod schedule add|ls|rm`: prompts sent to a group on a cron schedule, kept by the running
// `clawpod serve` (src/control/schedules.ts, docs/schedules.md).
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ControlClient } from '../control/client.js';
import { ClawpodError } from '../errors.js';

interface ScheduleView {
  id: string; name: string | null; group: string; cron: string; tz: string; prompt: string; missed: 'skip' | 'once';
  source: 'file' | 'api'; createdAt: string; lastRunAt: string | null; nextRunAt: string | null;
}

/** "2026-11-30 09:00 Europe/Berlin": a run's time as its schedule reads it. */
function inZone(iso: string | null, tz: string): string {
  if (!iso) return '-';
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${p.second === '00' ? '' : `:${p.second}`} ${tz}`;
}

export async function add(ctx: Ctx, group: string, prompt: string[], opts: { cron: string; tz?: string; missed?: string; name?: string }): Promise<void> {
  if (opts.missed !== undefined && opts.missed !== 'skip' && opts.missed !== 'once') {
    throw new ClawpodError('USAGE', `--missed ${opts.missed}: expected skip or once`, { hint: 'skip: a run missed while clawpod serve was down is dropped; once: it runs once at start' });
  }
  const s = await ControlClient.fromConfig(ctx.config).call<ScheduleView>('POST', '/v1/schedules', {
    group, cron: opts.cron, prompt: prompt.join(' '),
    ...(opts.tz ? { tz: opts.tz } : {}), ...(opts.missed ? { missed: opts.missed } : {}), ...(opts.name ? { name: opts.name } : {}),
  });
  if (ctx.json) { ctx.printJson(s); return; }
  ctx.print(`${s.id} next run ${inZone(s.nextRunAt, s.tz)} (${s.nextRunAt ?? 'never'})`);
}

export async function list(ctx: Ctx): Promise<void> {
  const all = await ControlClient.fromConfig(ctx.config).call<ScheduleView[]>('GET', '/v1/schedules');
  if (ctx.json) { ctx.printJson(all); return; }
  ctx.print(table([['ID', 'NAME', 'GROUP', 'CRON', 'TZ', 'NEXT RUN', 'LAST RUN', 'MISSED', 'SOURCE'],
    ...all.map((s) => [s.id, s.name ?? '-', s.group, s.cron, s.tz, inZone(s.nextRunAt, s.tz), inZone(s.lastRunAt, s.tz), s.missed, s.source])]));
}

export async function rm(ctx: Ctx, ids: string[]): Promise<void> {
  const client = ControlClient.fromConfig(ctx.config);
  const out: ScheduleView[] = [];
  for (const id of ids) out.push(await client.call<ScheduleView>('DELETE', `/v1/schedules/${encodeURIComponent(id)}`));
  if (ctx.json) { ctx.printJson(out); return; }
  for (const s of out) ctx.print(`removed ${s.id}`);
}
