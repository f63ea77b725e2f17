// Scheduled prompts (docs/schedules.md): a cron expression in a time zone sends a prompt to a
// group. A run is an ordinary message (daemon.submit: stored first, queued, counted against
// maxConcurrent); `onRun` hands its id to whoever posts answers to the group's chat channel.
// One unref'd timer waits for the earliest next run. Slots that came due while the daemon was
// down are settled at start by each schedule's `missed` policy: skip them, or run once.
import { ScheduleSchema, cronProblem, type ScheduleSpec } from '../channels/schema.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { redactor } from '../secrets/redact.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import { newId, type Daemon } from './daemon.js';
import { ScheduleStore, type MissedPolicy, type ScheduleRow } from './schedule-store.js';
import { fileKey, missedRuns, nextRun } from './schedule-time.js';
import type { Store } from './store.js';

export type { ScheduleRow } from './schedule-store.js';

/** Called right after a run's message is queued (the router posts its answer to the group's channel). */
export type OnScheduledRun = (messageId: string, group: string, schedule: ScheduleRow) => void | Promise<void>;

export interface ScheduleInput {
  readonly group: string;
  readonly cron: string;
  /** IANA time zone; default UTC. */
  readonly tz?: string | undefined;
  readonly prompt: string;
  readonly missed?: MissedPolicy | undefined;
  readonly name?: string | undefined;
}

export interface SchedulerOptions {
  /** The control plane's store: the schedules table lives in its SQLite file; groups are read from it. */
  readonly store: Pick<Store, 'db' | 'group' | 'groups' | 'addEvent'>;
  /** Runs are queued with submit; their events go out on bus like the daemon's own. */
  readonly daemon: Pick<Daemon, 'submit' | 'bus'>;
  /** spec.schedules of the ControlPlane file, seeded at start. */
  readonly specs?: readonly ScheduleSpec[];
  readonly say?: (line: string) => void;
  /** The clock (tests give another); the timer waits by it too. */
  readonly now?: () => Date;
  readonly onRun?: OnScheduledRun;
}

/** The timer wakes at least this often, so a clock that jumps (a suspended host) is noticed. */
const MAX_WAIT_MS = 60 * 60_000;

const CRON_HINT = 'five fields (minute hour day month weekday), e.g. --cron "0 9 * * 1-5" for 09:00 on weekdays; or six with seconds first, e.g. "*/30 * * * * *"';
const TZ_HINT = 'an IANA name such as Europe/Berlin or America/New_York (`timedatectl list-timezones` lists them); leave --tz out for UTC';

export class Scheduler {
  private readonly rows: ScheduleStore;
  private readonly now: () => Date;
  private readonly say: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Set by the wiring (or the constructor): told of every run's message. */
  onRun: OnScheduledRun | undefined;

  constructor(private readonly o: SchedulerOptions) {
    this.rows = new ScheduleStore(o.store.db);
    this.now = o.now ?? (() => new Date());
    this.say = o.say ?? (() => undefined);
    this.onRun = o.onRun;
  }

  /** Seeds the file's schedules, settles the slots missed while down, and arms the timer. */
  start(): void {
    this.seed();
    this.settleMissed();
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  list(): ScheduleRow[] { return this.rows.all(); }
  get(id: string): ScheduleRow | undefined { return this.rows.get(id); }

  /** A schedule made through the API (kept across restarts); bad input is refused before anything is stored. */
  add(input: ScheduleInput): ScheduleRow {
    const tz = input.tz ?? 'UTC';
    const problem = cronProblem(input.cron, tz);
    if (problem) throw new ClawpodError('USAGE', `${problem.field}: ${problem.message}`, { hint: problem.field === 'tz' ? TZ_HINT : CRON_HINT });
    const parsed = ScheduleSchema.safeParse({ ...input, tz });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'schedule';
      throw new ClawpodError('USAGE', `${field}: ${issue.message}`, { hint: field === 'missed' ? 'use skip or once' : field === 'prompt' ? 'give the prompt text to send' : 'see docs/schedules.md' });
    }
    const s = parsed.data;
    if (!this.o.store.group(s.group)) {
      const known = this.o.store.groups().map((g) => g.name);
      throw new ClawpodError('NOT_FOUND', `no group named ${s.group}`, {
        hint: known.length ? `known groups: ${known.join(', ')}` : 'add one with `clawpod group add NAME --model MODEL` or under spec.groups of the ControlPlane file',
      });
    }
    const bytes = Buffer.byteLength(s.prompt);
    if (bytes > CONTROL_DEFAULTS.maxMessageBytes) {
      throw new ClawpodError('TOO_LARGE', `the prompt is ${bytes} bytes, more than the ${CONTROL_DEFAULTS.maxMessageBytes}-byte limit of a message`, { hint: 'put large content in the group\'s workspace and refer to the file' });
    }
    if (s.name && this.rows.byName(s.name)) {
      throw new ClawpodError('NAME_TAKEN', `a schedule named ${s.name} exists (${this.rows.byName(s.name)!.id})`, { hint: 'choose another --name, or remove that one with `clawpod schedule rm ID`' });
    }
    const now = this.now();
    const next = nextRun(s.cron, s.tz, now);
    if (!next) throw new ClawpodError('USAGE', `cron: "${s.cron}" never matches a date after ${now.toISOString()} in ${s.tz}`, { hint: CRON_HINT });
    const row = this.rows.insert({
      id: newId('sch'), name: s.name ?? null, group_name: s.group, cron: s.cron, tz: s.tz, prompt: s.prompt, missed: s.missed,
      source: 'api', file_key: null, created_at: now.toISOString(), last_run_at: null, next_run_at: next.toISOString(), settled_at: now.toISOString(),
    });
    this.arm();
    return row;
  }

  /** Removes an API schedule; a file's comes back at the next start, so it is refused with the fix. */
  remove(id: string): ScheduleRow {
    const row = this.rows.get(id);
    if (!row) {
      const ids = this.rows.all().map((r) => r.id);
      throw new ClawpodError('NOT_FOUND', `no schedule ${id}`, { hint: ids.length ? `\`clawpod schedule ls\` lists them (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : 'there are no schedules' });
    }
    if (row.source === 'file') {
      throw new ClawpodError('USAGE', `schedule ${id}${row.name ? ` (${row.name})` : ''} comes from spec.schedules of the ControlPlane file`, { hint: 'remove it from the file and restart clawpod serve' });
    }
    this.rows.delete(id);
    this.arm();
    return row;
  }

  /** Runs every schedule that is due by the clock, then waits for the next. The timer calls it; so may tests. */
  tick(): void {
    if (!this.running) return;
    const now = this.now();
    try {
      for (const r of this.rows.all()) {
        if (r.next_run_at && Date.parse(r.next_run_at) <= now.getTime()) this.run(r, now, false);
      }
    } catch (e) {
      this.say(`schedules: ${redactor.redact(messageOf(e))}`);
    }
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    const next = Math.min(...this.rows.all().flatMap((r) => (r.next_run_at ? [Date.parse(r.next_run_at)] : [])));
    if (!Number.isFinite(next)) return;
    const wait = Math.min(Math.max(0, next - this.now().getTime()), MAX_WAIT_MS);
    // a schedule must not keep the process alive: serve's server does
    this.timer = setTimeout(() => this.tick(), wait).unref();
  }

  /** One run: the prompt is queued as the group's message; a group that is gone is an event, not a crash. */
  private run(r: ScheduleRow, now: Date, missed: boolean): void {
    const at = now.toISOString();
    const next = nextRun(r.cron, r.tz, now)?.toISOString() ?? null;
    let messageId: string;
    try {
      messageId = this.o.daemon.submit(r.group_name, r.prompt).id;
    } catch (e) {
      this.rows.set(r.id, { settled_at: at, next_run_at: next });
      const code = isClawpodError(e) ? e.code : 'INTERNAL';
      this.record(null, 'schedule_failed', { schedule: r.id, name: r.name, group: r.group_name, code, message: messageOf(e) });
      this.say(`schedule ${r.id}: could not queue its run for group ${r.group_name}: ${redactor.redact(messageOf(e))}`);
      return;
    }
    this.rows.set(r.id, { last_run_at: at, settled_at: at, next_run_at: next });
    this.record(messageId, 'schedule_run', { schedule: r.id, name: r.name, group: r.group_name, message: messageId, ...(missed ? { missed: true } : {}) });
    const hook = this.onRun;
    if (!hook) return;
    const fail = (e: unknown) => this.say(`schedule ${r.id}: onRun: ${redactor.redact(messageOf(e))}`);
    try { void Promise.resolve(hook(messageId, r.group_name, this.rows.get(r.id)!)).catch(fail); } catch (e) { fail(e); }
  }

  /** spec.schedules into the table: new ones added, changed ones updated, ones gone from the file removed. */
  private seed(): void {
    const now = this.now();
    const at = now.toISOString();
    const keys = new Set<string>();
    this.rows.transaction(() => {
      for (const s of this.o.specs ?? []) {
        const key = fileKey(s);
        if (keys.has(key)) this.say(`spec.schedules: ${s.name ? `two schedules are named ${s.name}` : 'two schedules are the same'}; the last one is kept`);
        keys.add(key);
        const next = nextRun(s.cron, s.tz, now)?.toISOString() ?? null;
        const row = this.rows.byFileKey(key);
        const fields = { name: s.name ?? null, group_name: s.group, cron: s.cron, tz: s.tz, prompt: s.prompt, missed: s.missed };
        if (!row) {
          this.rows.insert({ id: newId('sch'), ...fields, source: 'file', file_key: key, created_at: at, last_run_at: null, next_run_at: next, settled_at: at });
        } else if (row.cron !== s.cron || row.tz !== s.tz) {
          // new times: slots of the old expression are not this one's to catch up on
          this.rows.set(row.id, { ...fields, next_run_at: next, settled_at: at });
        } else {
          this.rows.set(row.id, fields);
        }
      }
      for (const r of this.rows.all()) {
        if (r.source === 'file' && !keys.has(r.file_key ?? '')) {
          this.rows.delete(r.id);
          this.say(`schedule ${r.id}${r.name ? ` (${r.name})` : ''} removed: it is no longer under spec.schedules`);
        }
      }
    });
  }

  /** Slots that came due while the daemon was down: `once` runs one now, `skip` none; both are recorded. */
  private settleMissed(): void {
    const now = this.now();
    for (const r of this.rows.all()) {
      const d = missedRuns(r.cron, r.tz, new Date(r.settled_at), now, r.missed);
      if (d.missed > 0) {
        this.record(null, 'schedule_missed', { schedule: r.id, name: r.name, group: r.group_name, policy: r.missed, missed: d.missed, ...(d.atLeast ? { atLeast: true } : {}), skipped: d.skipped, ranOnce: d.runNow });
        this.say(`schedule ${r.id}${r.name ? ` (${r.name})` : ''}: ${d.atLeast ? 'at least ' : ''}${d.missed} run${d.missed === 1 ? '' : 's'} missed while clawpod serve was down; ${d.runNow ? 'running it once now' : 'skipped (missed: skip)'}`);
      }
      if (d.runNow) this.run(r, now, true);
      else this.rows.set(r.id, { settled_at: now.toISOString(), next_run_at: nextRun(r.cron, r.tz, now)?.toISOString() ?? null });
    }
  }

  /** Redacted like the daemon's events, and streamed on its bus. */
  private record(messageId: string | null, type: string, data: unknown): void {
    const row = this.o.store.addEvent({ session_id: null, message_id: messageId, type, data: redactor.redactDeep(data) });
    this.o.daemon.bus.emit('event', row);
  }
}
