// Scheduled prompts: next runs in a time zone (DST included), the missed-run decision, and the
// Scheduler on a real SQLite store and daemon with a clock the test moves. The daemon is stopped
// before use: it still stores what is submitted, and starts no container (there is no engine here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cronProblem } from '../../src/channels/schema.js';
import { loadConfig } from '../../src/config.js';
import { buildApi } from '../../src/control/api.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { Daemon } from '../../src/control/daemon.js';
import { fileKey, MISSED_COUNT_LIMIT, missedRuns, nextRun } from '../../src/control/schedule-time.js';
import { Scheduler, type ScheduleRow } from '../../src/control/schedules.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { Store } from '../../src/control/store.js';
import { isClawpodError } from '../../src/errors.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';

const at = (iso: string) => new Date(iso);

describe('nextRun', () => {
  it('reads the expression in the schedule\'s time zone, across a DST change', () => {
    // 09:00 on weekdays in Berlin: CET (UTC+1) on Friday 27 March 2026, CEST (UTC+2) from Sunday the 29th
    expect(nextRun('0 9 * * 1-5', 'Europe/Berlin', at('2026-03-27T07:00:00Z'))?.toISOString()).toBe('2026-03-27T08:00:00.000Z');
    expect(nextRun('0 9 * * 1-5', 'Europe/Berlin', at('2026-03-27T08:00:00Z'))?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
    expect(nextRun('0 9 * * 1-5', 'America/New_York', at('2026-01-05T00:00:00Z'))?.toISOString()).toBe('2026-01-05T14:00:00.000Z');
    expect(nextRun('0 9 * * 1-5', 'UTC', at('2026-01-05T00:00:00Z'))?.toISOString()).toBe('2026-01-05T09:00:00.000Z');
  });

  it('runs a time that falls in the spring-forward gap once, after the gap; a repeated autumn time once', () => {
    // 02:30 does not exist in Berlin on 29 March 2026: it runs at 03:00 CEST (01:00 UTC)
    expect(nextRun('30 2 * * *', 'Europe/Berlin', at('2026-03-28T02:00:00Z'))?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // 02:30 happens twice on 25 October 2026: once
    const first = nextRun('30 2 * * *', 'Europe/Berlin', at('2026-10-24T02:00:00Z'))!;
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(nextRun('30 2 * * *', 'Europe/Berlin', first)?.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });

  it('is strictly after the given time; six fields count seconds', () => {
    expect(nextRun('* * * * *', 'UTC', at('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(nextRun('*/5 * * * * *', 'UTC', at('2026-01-01T00:00:05Z'))?.toISOString()).toBe('2026-01-01T00:00:10.000Z');
    expect(nextRun('0 0 30 2 *', 'UTC', at('2026-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('cronProblem', () => {
  it('accepts five or six fields and names the field, the value and what is expected otherwise', () => {
    expect(cronProblem('0 9 * * 1-5', 'Europe/Berlin')).toBeUndefined();
    expect(cronProblem('30 0 9 * * 1-5', 'UTC')).toBeUndefined();
    expect(cronProblem('* * * * * * *', 'UTC')).toMatchObject({ field: 'cron', message: expect.stringContaining('"* * * * * * *" is not a cron expression') });
    expect(cronProblem('61 * * * *', 'UTC')).toMatchObject({ field: 'cron', message: expect.stringContaining('minute') });
    expect(cronProblem('0 9 * * *', 'Mars/Olympus')).toMatchObject({ field: 'tz', message: expect.stringContaining('"Mars/Olympus" is not a time zone') });
  });
});

describe('missedRuns: slots that came due while the daemon was down', () => {
  it('none missed: nothing to do', () => {
    expect(missedRuns('0 9 * * *', 'UTC', at('2026-01-05T09:00:00Z'), at('2026-01-05T20:00:00Z'), 'once')).toEqual({ missed: 0, atLeast: false, runNow: false, skipped: 0 });
  });

  it('once: one run now however many were missed, the rest skipped', () => {
    // 09:00 on the 5th, 6th and 7th passed between a run on the 4th and a start on the 7th at 10:00
    expect(missedRuns('0 9 * * *', 'UTC', at('2026-01-04T09:00:00Z'), at('2026-01-07T10:00:00Z'), 'once')).toEqual({ missed: 3, atLeast: false, runNow: true, skipped: 2 });
  });

  it('skip: none run, all counted as skipped', () => {
    expect(missedRuns('0 9 * * *', 'UTC', at('2026-01-04T09:00:00Z'), at('2026-01-07T10:00:00Z'), 'skip')).toEqual({ missed: 3, atLeast: false, runNow: false, skipped: 3 });
  });

  it('the slot at the settled time itself is not missed again; one exactly at now is', () => {
    expect(missedRuns('0 9 * * *', 'UTC', at('2026-01-05T09:00:00Z'), at('2026-01-06T09:00:00Z'), 'skip').missed).toBe(1);
  });

  it('in the time zone: weekdays in Berlin over a weekend and a DST change', () => {
    // from Friday 27 March 10:00 CET to Tuesday 31 March 08:00 UTC (10:00 CEST): Monday 09:00 and Tuesday 09:00
    expect(missedRuns('0 9 * * 1-5', 'Europe/Berlin', at('2026-03-27T09:00:00Z'), at('2026-03-31T08:00:00Z'), 'skip').missed).toBe(2);
  });

  it('stops counting at a limit (a per-second schedule down for a day)', () => {
    const d = missedRuns('* * * * * *', 'UTC', at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 'once');
    expect(d).toEqual({ missed: MISSED_COUNT_LIMIT, atLeast: true, runNow: true, skipped: MISSED_COUNT_LIMIT - 1 });
  });
});

describe('fileKey', () => {
  it('is the name when there is one, else a stable hash of what the schedule does', () => {
    const s = { group: 'g', cron: '0 9 * * *', tz: 'UTC', prompt: 'p' };
    expect(fileKey({ ...s, name: 'daily' })).toBe('name:daily');
    expect(fileKey(s)).toBe(fileKey({ ...s }));
    expect(fileKey(s)).toMatch(/^hash:[0-9a-f]{16}$/);
    expect(fileKey({ ...s, prompt: 'q' })).not.toBe(fileKey(s));
  });
});

describe('Scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-schedules-'));
  const schedulers: Scheduler[] = [];
  const stores: Store[] = [];
  afterEach(() => { for (const s of schedulers.splice(0)) s.stop(); for (const s of stores.splice(0)) s.close(); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  /** A control plane's store and a stopped daemon; `specs` are spec.schedules as the file gives them. */
  async function plane(db: string, specs: unknown[] = []) {
    const cp = ControlPlaneSchema.parse({
      apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
      spec: { models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'ops', model: 'm' }, { name: 'dev', model: 'm' }], schedules: specs },
    });
    const store = new Store(db);
    stores.push(store);
    for (const g of cp.spec.groups) store.upsertGroup(g.name, g.model, null);
    const daemon = new Daemon({
      config: loadConfig({ HOME: dir, PATH: process.env.PATH ?? '' }), cp, cpDir: dir, rt: new PodmanDriver('unix:///nonexistent/podman.sock', '/nonexistent/podman.sock'),
      agent: defaultSessionAgent(), store, gatewayDir: join(dir, 'gw'), say: () => undefined,
    });
    await daemon.stop();
    const events: { type: string; message_id: string | null; data: Record<string, unknown> }[] = [];
    daemon.bus.on('event', (e: { type: string; message_id: string | null; data: string }) => events.push({ type: e.type, message_id: e.message_id, data: JSON.parse(e.data) as Record<string, unknown> }));
    return { cp, store, daemon, events };
  }
  function scheduler(p: Awaited<ReturnType<typeof plane>>, clock: { t: Date }, runs: [string, string, ScheduleRow][] = []) {
    const s = new Scheduler({ store: p.store, daemon: p.daemon, specs: p.cp.spec.schedules, now: () => clock.t, onRun: (id, g, row) => { runs.push([id, g, row]); } });
    schedulers.push(s);
    return s;
  }
  const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return isClawpodError(e) ? `${e.code}: ${e.message} | ${e.hint ?? ''}` : String(e); } return 'no error'; };

  it('runs a due schedule as a queued message of its group, records it and calls onRun; not before it is due', async () => {
    const p = await plane(join(dir, `s${n++}.db`));
    const clock = { t: at('2026-01-05T07:59:00Z') };
    const runs: [string, string, ScheduleRow][] = [];
    const s = scheduler(p, clock, runs);
    s.start();
    const row = s.add({ group: 'ops', cron: '0 9 * * 1-5', tz: 'Europe/Berlin', prompt: 'morning report', name: 'morning' });
    expect(row).toMatchObject({ source: 'api', missed: 'skip', next_run_at: '2026-01-05T08:00:00.000Z' });
    // 09:00 in Berlin is 08:00 UTC in January
    clock.t = at('2026-01-05T08:00:00Z');
    s.add({ group: 'dev', cron: '0 10 * * *', prompt: 'ten o\'clock' });
    s.tick();
    const msgs = p.store.messages('ops');
    expect(msgs.map((m) => [m.text, m.status])).toEqual([['morning report', 'queued']]);
    expect(p.store.messages('dev')).toEqual([]);
    expect(runs).toEqual([[msgs[0]!.id, 'ops', expect.objectContaining({ id: row.id, last_run_at: '2026-01-05T08:00:00.000Z', next_run_at: '2026-01-06T08:00:00.000Z' })]]);
    expect(p.events.filter((e) => e.type.startsWith('schedule_'))).toEqual([{ type: 'schedule_run', message_id: msgs[0]!.id, data: { schedule: row.id, name: 'morning', group: 'ops', message: msgs[0]!.id } }]);
    // the daemon's own event says it is queued like any message
    expect(p.events.find((e) => e.type === 'queued')?.message_id).toBe(msgs[0]!.id);
    s.tick();
    expect(p.store.messages('ops')).toHaveLength(1);
    clock.t = at('2026-01-05T10:00:00Z');
    s.tick();
    expect(p.store.messages('dev').map((m) => m.text)).toEqual(['ten o\'clock']);
  });

  it('refuses bad input before storing anything: cron, tz, group, missed, name, rm', async () => {
    const p = await plane(join(dir, `s${n++}.db`));
    const s = scheduler(p, { t: at('2026-01-05T08:00:00Z') });
    s.start();
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 9 * *', prompt: 'x' }))).toMatch(/^USAGE: cron: "0 9 \* \*" is not a cron expression.*\| five fields/);
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 25 * * *', prompt: 'x' }))).toMatch(/^USAGE: cron: "0 25 \* \* \*" is not a cron expression \(.*hour/);
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 9 * * *', tz: 'Europe/Berln', prompt: 'x' }))).toMatch(/^USAGE: tz: "Europe\/Berln" is not a time zone.*\| an IANA name/);
    expect(codeOf(() => s.add({ group: 'nope', cron: '0 9 * * *', prompt: 'x' }))).toBe('NOT_FOUND: no group named nope | known groups: dev, ops');
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 9 * * *', prompt: 'x', missed: 'twice' as 'once' }))).toMatch(/^USAGE: missed: .*\| use skip or once/);
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 9 * * *', prompt: '' }))).toMatch(/^USAGE: prompt: /);
    expect(codeOf(() => s.add({ group: 'ops', cron: '0 0 30 2 *', prompt: 'x' }))).toMatch(/^USAGE: cron: "0 0 30 2 \*" never matches/);
    expect(s.list()).toEqual([]);
    s.add({ group: 'ops', cron: '0 9 * * *', prompt: 'x', name: 'daily' });
    expect(codeOf(() => s.add({ group: 'dev', cron: '0 9 * * *', prompt: 'y', name: 'daily' }))).toMatch(/^NAME_TAKEN: a schedule named daily exists/);
    expect(codeOf(() => s.remove('sch_nope'))).toMatch(/^NOT_FOUND: no schedule sch_nope/);
    expect(s.list()).toHaveLength(1);
  });

  it('seeds the file\'s schedules by name or hash, keeps API ones, drops ones gone from the file, refuses rm of a file one', async () => {
    const db = join(dir, `s${n++}.db`);
    const clock = { t: at('2026-01-05T08:00:00Z') };
    const p1 = await plane(db, [{ name: 'daily', group: 'ops', cron: '0 9 * * *', prompt: 'a' }, { group: 'dev', cron: '0 12 * * *', prompt: 'b' }]);
    const s1 = scheduler(p1, clock);
    s1.start();
    const api = s1.add({ group: 'ops', cron: '0 18 * * *', prompt: 'c' });
    const first = s1.list();
    expect(first.map((r) => [r.name, r.source, r.file_key?.slice(0, 5) ?? null])).toEqual([['daily', 'file', 'name:'], [null, 'file', 'hash:'], [null, 'api', null]]);
    expect(codeOf(() => s1.remove(first[0]!.id))).toMatch(/^USAGE: .* comes from spec.schedules .*\| remove it from the file/);
    s1.stop(); p1.store.close(); stores.splice(0);

    // the next start: "daily" changed its prompt (same row, same id), the unnamed one is gone
    const p2 = await plane(db, [{ name: 'daily', group: 'ops', cron: '0 9 * * *', prompt: 'a2' }]);
    const s2 = scheduler(p2, clock);
    s2.start();
    const second = s2.list();
    expect(second.map((r) => [r.id, r.prompt, r.source])).toEqual([[first[0]!.id, 'a2', 'file'], [api.id, 'c', 'api']]);
    expect(s2.remove(api.id).id).toBe(api.id);
    expect(s2.list().map((r) => r.id)).toEqual([first[0]!.id]);
  });

  it('a restart after missed slots: once runs one now, skip runs none; both record schedule_missed', async () => {
    const db = join(dir, `s${n++}.db`);
    const clock = { t: at('2026-01-05T08:00:00Z') };
    const specs = [{ name: 'once', group: 'ops', cron: '0 9 * * *', prompt: 'catch up', missed: 'once' }, { name: 'skip', group: 'dev', cron: '0 9 * * *', prompt: 'only on time', missed: 'skip' }];
    const p1 = await plane(db, specs);
    scheduler(p1, clock).start();
    schedulers.splice(0).forEach((s) => s.stop()); p1.store.close(); stores.splice(0);

    // down from Monday 08:00 to Thursday 10:00: four 09:00 slots passed (Monday to Thursday)
    clock.t = at('2026-01-08T10:00:00Z');
    const runs: [string, string, ScheduleRow][] = [];
    const p2 = await plane(db, specs);
    const s2 = scheduler(p2, clock, runs);
    s2.start();
    expect(p2.store.messages('ops').map((m) => m.text)).toEqual(['catch up']);
    expect(p2.store.messages('dev')).toEqual([]);
    expect(runs.map(([, g]) => g)).toEqual(['ops']);
    const missed = p2.events.filter((e) => e.type === 'schedule_missed').map((e) => e.data);
    expect(missed).toEqual([
      expect.objectContaining({ name: 'once', policy: 'once', missed: 4, skipped: 3, ranOnce: true }),
      expect.objectContaining({ name: 'skip', policy: 'skip', missed: 4, skipped: 4, ranOnce: false }),
    ]);
    expect(p2.events.find((e) => e.type === 'schedule_run')?.data).toMatchObject({ name: 'once', missed: true });
    expect(s2.list().map((r) => r.next_run_at)).toEqual(['2026-01-09T09:00:00.000Z', '2026-01-09T09:00:00.000Z']);
    s2.stop(); p2.store.close(); stores.splice(0);

    // and a start right after: nothing is missed twice
    clock.t = at('2026-01-08T10:05:00Z');
    const p3 = await plane(db, specs);
    scheduler(p3, clock).start();
    expect(p3.store.messages('ops')).toHaveLength(1);
    expect(p3.events.filter((e) => e.type.startsWith('schedule_'))).toEqual([]);
  });

  it('the HTTP API: POST, GET, DELETE for an admin; bad input is a 400 naming the field, an unknown group a 404 listing the known ones', async () => {
    const p = await plane(join(dir, `s${n++}.db`), [{ name: 'filed', group: 'dev', cron: '0 12 * * *', prompt: 'noon' }]);
    const s = scheduler(p, { t: at('2026-01-05T08:00:00Z') });
    s.start();
    const ADMIN = 'admin-token-0123456789abcdef';
    const app = buildApi(p.daemon, p.store, ADMIN, { schedules: s });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string; hint?: string } } };
    };
    const made = await call('POST', '/v1/schedules', { group: 'ops', cron: '0 9 * * 1-5', tz: 'Europe/Berlin', prompt: 'report', missed: 'once', name: 'morning' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: 'morning', group: 'ops', tz: 'Europe/Berlin', missed: 'once', source: 'api', lastRunAt: null, nextRunAt: '2026-01-06T08:00:00.000Z' });
    const listed = await call('GET', '/v1/schedules');
    expect((listed.body as unknown as { name: string; source: string }[]).map((x) => [x.name, x.source])).toEqual([['filed', 'file'], ['morning', 'api']]);

    const bad = await call('POST', '/v1/schedules', { group: 'ops', cron: '0 9 * * MONDAY', prompt: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/^cron: "0 9 \* \* MONDAY" is not a cron expression/), hint: expect.stringContaining('0 9 * * 1-5') });
    const badTz = await call('POST', '/v1/schedules', { group: 'ops', cron: '0 9 * * *', tz: 'Berlin', prompt: 'x' });
    expect(badTz.body.error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('tz: "Berlin" is not a time zone') });
    const noGroup = await call('POST', '/v1/schedules', { group: 'qa', cron: '0 9 * * *', prompt: 'x' });
    expect(noGroup.status).toBe(404);
    expect(noGroup.body.error).toMatchObject({ code: 'NOT_FOUND', hint: 'known groups: dev, ops' });
    const noBody = await call('POST', '/v1/schedules', { group: 'ops', prompt: 'x' });
    expect(noBody.status).toBe(400);
    expect(noBody.body.error?.message).toContain('body.cron');
    expect(s.list()).toHaveLength(2);

    expect((await call('DELETE', '/v1/schedules/sch_none')).status).toBe(404);
    expect((await call('DELETE', `/v1/schedules/${s.list()[0]!.id}`)).status).toBe(400);
    const gone = await call('DELETE', `/v1/schedules/${String(made.body.id)}`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ id: made.body.id, name: 'morning' });
    expect(s.list().map((r) => r.name)).toEqual(['filed']);
  });

  it('a deleted group takes its schedules with it: nothing runs for a later group of the same name', async () => {
    const p = await plane(join(dir, `s${n++}.db`));
    const clock = { t: at('2026-01-05T08:00:00Z') };
    const s = scheduler(p, clock);
    s.start();
    const row = s.add({ group: 'dev', cron: '0 9 * * *', prompt: 'x' });
    p.store.deleteGroup('dev');
    expect(s.get(row.id)).toBeUndefined();
    p.store.upsertGroup('dev', 'm', null);
    clock.t = at('2026-01-05T09:00:00Z');
    s.tick();
    expect(p.events.filter((e) => e.type.startsWith('schedule_'))).toEqual([]);
  });

  it('a run for a group that is gone is a schedule_failed event, and the schedule moves on', async () => {
    const p = await plane(join(dir, `s${n++}.db`));
    const clock = { t: at('2026-01-05T08:00:00Z') };
    const s = scheduler(p, clock);
    s.start();
    const row = s.add({ group: 'dev', cron: '0 9 * * *', prompt: 'x' });
    // gone behind the store's back (deleteGroup would take the schedule too)
    p.store.db.prepare('DELETE FROM groups WHERE name = ?').run('dev');
    clock.t = at('2026-01-05T09:00:00Z');
    s.tick();
    expect(p.events.find((e) => e.type === 'schedule_failed')?.data).toMatchObject({ schedule: row.id, group: 'dev', code: 'NOT_FOUND' });
    expect(s.get(row.id)).toMatchObject({ last_run_at: null, next_run_at: '2026-01-06T09:00:00.000Z' });
  });
});
