// When a schedule runs: the pure part of src/control/schedules.ts. croner reads the cron
// expression in the schedule's time zone (DST gaps and repeats are its business); these functions
// only take times and answer times, so the tests give them any clock they like.
import { createHash } from 'node:crypto';
import { Cron } from 'croner';

/** Five fields (minute hour day month weekday) or six with seconds first, as cronProblem accepts. */
function cron(expr: string, tz: string): Cron {
  return new Cron(expr, { timezone: tz, paused: true, mode: '5-or-6-parts' });
}

/** The first time strictly after `after` the expression matches in `tz`; null when it never does again. */
export function nextRun(expr: string, tz: string, after: Date): Date | null {
  return cron(expr, tz).nextRun(after);
}

/**
 * Past this many missed slots counting stops: a per-second schedule down for a week would
 * otherwise walk 600,000 dates at start. The count is then "at least".
 */
export const MISSED_COUNT_LIMIT = 100;

export interface MissedDecision {
  /** Slots in (since, now] that did not run (at most MISSED_COUNT_LIMIT). */
  readonly missed: number;
  /** The count stopped at MISSED_COUNT_LIMIT. */
  readonly atLeast: boolean;
  /** `once` and at least one slot missed: run one now. */
  readonly runNow: boolean;
  /** Missed slots that will never run: all of them for `skip`, all but the one run now for `once`. */
  readonly skipped: number;
}

/**
 * What to do at start about slots that came due while the daemon was down. `since` is when the
 * schedule was last settled: its last run, the last such decision, or its creation.
 */
export function missedRuns(expr: string, tz: string, since: Date, now: Date, policy: 'skip' | 'once'): MissedDecision {
  const c = cron(expr, tz);
  let missed = 0;
  for (let t = c.nextRun(since); t && t.getTime() <= now.getTime() && missed < MISSED_COUNT_LIMIT; t = c.nextRun(t)) missed++;
  const runNow = policy === 'once' && missed > 0;
  return { missed, atLeast: missed >= MISSED_COUNT_LIMIT, runNow, skipped: runNow ? missed - 1 : missed };
}

/** A file schedule's key across restarts: its name, else a hash of what it does (editing it makes a new one). */
export function fileKey(s: { name?: string | undefined; group: string; cron: string; tz: string; prompt: string }): string {
  if (s.name) return `name:${s.name}`;
  return `hash:${createHash('sha256').update([s.group, s.cron, s.tz, s.prompt].join('\0')).digest('hex').slice(0, 16)}`;
}
