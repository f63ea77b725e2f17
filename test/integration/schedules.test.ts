// Scheduled prompts on a real `clawpod serve` with real Podman and the scripted model server: a
// schedule made with the CLI fires, its run is an ordinary message answered in the group's
// container; bad input is refused with the fix; and slots missed while serve was down are run
// once or skipped at the next start, as each schedule says (schedules made through the API outlive
// the restart). Six-field (seconds) expressions keep it fast: nothing in the product is bent for
// the test.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { clawpod, podman } from '../helpers/cli.js';
import { lastUserText, modelServer, planeYaml, startPlane, waitFor, type MessageView, type Plane } from '../helpers/control.js';

let model: ModelServer;
const planes: Plane[] = [];
const G = `sch${process.pid.toString(36)}`; // group prefix, unique per run
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ScheduleView { id: string; name: string | null; group: string; cron: string; tz: string; missed: string; source: string; lastRunAt: string | null; nextRunAt: string | null }
interface Msg extends MessageView { text: string }

const sessionContainers = () => podman(['ps', '-a', '--filter', 'label=dev.clawpod.role=session', '--format', '{{.Names}}']).stdout
  .split('\n').filter((n) => n.startsWith(`clawpod-grp-${G}`));

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  model = await modelServer();
}, 300_000);

afterAll(async () => {
  await Promise.all(planes.map((p) => p.stop()));
  for (const n of sessionContainers()) podman(['rm', '-f', n]);
  for (const v of podman(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((v) => v.startsWith(`clawpod-clawpod-grp-${G}`))) podman(['volume', 'rm', '-f', v]);
  await model?.close();
});

/** The message's events until it is done or failed, and its answer. */
async function follow(p: Plane, id: string) {
  const events: { type: string; data: Record<string, unknown> }[] = [];
  for await (const e of p.client.events(id)) events.push(e);
  return { events, message: await p.client.call<Msg>('GET', `/v1/messages/${id}`), text: events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('') };
}

describe('clawpod schedule', () => {
  it('a schedule added with the CLI fires; its run is queued like a message and answered in the group\'s container; bad input is refused', async () => {
    const g = `${G}a`;
    const p = await startPlane(planeYaml(model, { groups: [g], extra: `  schedules:\n    - {name: new-year, group: ${g}, cron: "0 0 1 1 *", tz: Europe/Berlin, prompt: happy new year}` }));
    planes.push(p);
    const cli = (args: string[]) => clawpod(['schedule', ...args], { env: p.env });
    const listed = async () => JSON.parse((await clawpod(['--json', 'schedule', 'ls'], { env: p.env })).stdout) as ScheduleView[];

    const unknown = await cli(['add', 'nope', '--cron', '* * * * *', 'hi']);
    expect(unknown.code, unknown.stderr).toBe(6);
    expect(unknown.stderr).toContain('no group named nope');
    expect(unknown.stderr).toContain(`known groups: ${g}`);
    const badCron = await cli(['add', g, '--cron', '0 9 * *', 'hi']);
    expect(badCron.code, badCron.stderr).toBe(2);
    expect(badCron.stderr).toContain('cron: "0 9 * *" is not a cron expression');
    expect(badCron.stderr).toContain('e.g. --cron "0 9 * * 1-5"');
    const badTz = await cli(['add', g, '--cron', '0 9 * * *', '--tz', 'Europe/Berln', 'hi']);
    expect(badTz.code, badTz.stderr).toBe(2);
    expect(badTz.stderr).toContain('tz: "Europe/Berln" is not a time zone');
    const badMissed = await cli(['add', g, '--cron', '0 9 * * *', '--missed', 'twice', 'hi']);
    expect(badMissed.code, badMissed.stderr).toBe(2);
    expect((await cli(['rm', 'sch_nope'])).code).toBe(6);
    // the file's schedule, and nothing the refused ones would have made
    const before = await listed();
    expect(before.map((s) => [s.name, s.source, s.tz])).toEqual([['new-year', 'file', 'Europe/Berlin']]);
    expect(before[0]!.nextRunAt).toMatch(/-12-31T23:00:00.000Z$/);
    const fileRm = await cli(['rm', before[0]!.id]);
    expect(fileRm.code).toBe(2);
    expect(fileRm.stderr).toContain('remove it from the file and restart clawpod serve');

    // every 2 seconds, read in Berlin: the next one is at most 2 s away
    const added = await cli(['add', g, '--cron', '*/2 * * * * *', '--tz', 'Europe/Berlin', '--name', 'tick', 'scheduled', 'hello']);
    expect(added.code, added.stderr).toBe(0);
    // seconds are shown only when not :00 (a run on the minute reads "02:14")
    const id = /^(sch_\w+) next run \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? Europe\/Berlin \(/.exec(added.stdout)?.[1];
    expect(id, added.stdout).toBeDefined();
    const ls = await cli(['ls']);
    expect(ls.stdout).toMatch(new RegExp(`${id}\\s+tick\\s+${g}\\s+\\*/2 \\* \\* \\* \\* \\*\\s+Europe/Berlin`));

    const first = await waitFor('the first scheduled run', async () => (await p.client.call<Msg[]>('GET', `/v1/groups/${g}/messages`)).find((m) => m.text === 'scheduled hello'), 10_000);
    const removed = await cli(['rm', id!]);
    expect(removed.stdout.trim()).toBe(`removed ${id}`);
    const run = await follow(p, first.id);
    expect(run.message.status, JSON.stringify(run.events.slice(-3))).toBe('done');
    expect(run.text).toBe('echo: scheduled hello');
    expect(run.events.map((e) => e.type)).toEqual(expect.arrayContaining(['queued', 'schedule_run', 'delivered', 'start', 'text', 'end', 'done']));
    expect(run.events.find((e) => e.type === 'schedule_run')!.data).toMatchObject({ schedule: id, name: 'tick', group: g, message: first.id });
    // answered in the group's own container, through the gateway, by the model
    expect(run.message.session_id).toMatch(/^s_/);
    expect(sessionContainers()).toContain(`clawpod-grp-${g}`);
    expect(model.requests.some((r) => lastUserText(r) === 'scheduled hello')).toBe(true);

    // removed: no run after the ones already queued
    const count = async () => (await p.client.call<Msg[]>('GET', `/v1/groups/${g}/messages`)).filter((m) => m.text === 'scheduled hello').length;
    const n = await count();
    await sleep(2500);
    expect(await count()).toBe(n);
    expect((await listed()).map((s) => s.name)).toEqual(['new-year']);
  }, 90_000);

  it('a slot missed while serve was down: once runs it once at the next start, skip does not', async () => {
    const yaml = planeYaml(model, { groups: [`${G}b`, `${G}c`] });
    const p1 = await startPlane(yaml);
    planes.push(p1);
    // a moment a few seconds ahead, as "S M H * * *" in UTC: it comes due while serve is down
    const due = new Date(Math.ceil((Date.now() + 5000) / 1000) * 1000);
    const cron = `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} * * *`;
    await p1.client.call('POST', '/v1/schedules', { name: 'catch-up', group: `${G}b`, cron, missed: 'once', prompt: 'missed once' });
    await p1.client.call('POST', '/v1/schedules', { name: 'on-time', group: `${G}c`, cron, missed: 'skip', prompt: 'missed skip' });
    const seeded = await p1.client.call<ScheduleView[]>('GET', '/v1/schedules');
    expect(seeded.map((s) => [s.name, s.nextRunAt])).toEqual([['catch-up', due.toISOString()], ['on-time', due.toISOString()]]);
    await p1.stop();
    expect(Date.now(), 'the first serve must be down before the slot').toBeLessThan(due.getTime());
    await sleep(due.getTime() - Date.now() + 1000);

    const p2 = await startPlane(yaml, { dataDir: p1.dataDir, env: p1.env });
    planes.push(p2);
    expect(p2.output()).toContain('(catch-up): 1 run missed while clawpod serve was down; running it once now');
    expect(p2.output()).toContain('(on-time): 1 run missed while clawpod serve was down; skipped (missed: skip)');
    const msgs = await p2.client.call<Msg[]>('GET', `/v1/groups/${G}b/messages`);
    expect(msgs.map((m) => m.text)).toEqual(['missed once']);
    expect(await p2.client.call<Msg[]>('GET', `/v1/groups/${G}c/messages`)).toEqual([]);
    const run = await follow(p2, msgs[0]!.id);
    expect(run.message.status, JSON.stringify(run.events.slice(-3))).toBe('done');
    expect(run.text).toBe('echo: missed once');
    expect(run.events.find((e) => e.type === 'schedule_run')!.data).toMatchObject({ name: 'catch-up', missed: true });

    const after = await p2.client.call<ScheduleView[]>('GET', '/v1/schedules');
    const tomorrow = new Date(due.getTime() + 86_400_000).toISOString();
    expect(after.map((s) => [s.name, s.nextRunAt, s.lastRunAt !== null])).toEqual([['catch-up', tomorrow, true], ['on-time', tomorrow, false]]);
    // the decisions are events: how many slots were missed and skipped, per schedule
    const db = new Database(join(p2.dataDir, 'control', 'state.db'), { readonly: true });
    try {
      const missed = (db.prepare("SELECT data FROM events WHERE type = 'schedule_missed' ORDER BY seq").all() as { data: string }[]).map((r) => JSON.parse(r.data) as Record<string, unknown>);
      expect(missed).toEqual([
        expect.objectContaining({ name: 'catch-up', policy: 'once', missed: 1, skipped: 0, ranOnce: true }),
        expect.objectContaining({ name: 'on-time', policy: 'skip', missed: 1, skipped: 1, ranOnce: false }),
      ]);
    } finally { db.close(); }
  }, 90_000);
});
