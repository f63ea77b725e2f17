// The schedules table, kept in the control plane's SQLite file next to the store's own tables
// (created here, IF NOT EXISTS, so src/control/store.ts stays the messages' and sessions' module).
import type Database from 'better-sqlite3';

export type MissedPolicy = 'skip' | 'once';

export interface ScheduleRow {
  id: string;
  name: string | null;
  group_name: string;
  cron: string;
  tz: string;
  prompt: string;
  missed: MissedPolicy;
  /** file: from spec.schedules (seeded at every start, removed with the entry); api: `clawpod schedule add`. */
  source: 'file' | 'api';
  /** A file schedule's key across restarts (src/control/schedule-time.ts fileKey); null for api ones. */
  file_key: string | null;
  created_at: string;
  last_run_at: string | null;
  next_run_at: string | null;
  /** Slots up to this time are accounted for (run or skipped); later ones not run at start were missed. */
  settled_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schedules (
  id TEXT PRIMARY KEY, name TEXT, group_name TEXT NOT NULL, cron TEXT NOT NULL, tz TEXT NOT NULL,
  prompt TEXT NOT NULL, missed TEXT NOT NULL, source TEXT NOT NULL, file_key TEXT UNIQUE,
  created_at TEXT NOT NULL, last_run_at TEXT, next_run_at TEXT, settled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_next ON schedules(next_run_at);
`;

export class ScheduleStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  all(): ScheduleRow[] { return this.db.prepare('SELECT * FROM schedules ORDER BY created_at, rowid').all() as ScheduleRow[]; }
  get(id: string): ScheduleRow | undefined { return this.db.prepare('SELECT * FROM schedules WHERE id = ?').get(id) as ScheduleRow | undefined; }
  byName(name: string): ScheduleRow | undefined { return this.db.prepare('SELECT * FROM schedules WHERE name = ?').get(name) as ScheduleRow | undefined; }
  byFileKey(key: string): ScheduleRow | undefined { return this.db.prepare('SELECT * FROM schedules WHERE file_key = ?').get(key) as ScheduleRow | undefined; }

  insert(r: ScheduleRow): ScheduleRow {
    this.db.prepare(`INSERT INTO schedules (id, name, group_name, cron, tz, prompt, missed, source, file_key, created_at, last_run_at, next_run_at, settled_at)
      VALUES (@id, @name, @group_name, @cron, @tz, @prompt, @missed, @source, @file_key, @created_at, @last_run_at, @next_run_at, @settled_at)`).run(r);
    return this.get(r.id)!;
  }

  set(id: string, fields: Partial<Omit<ScheduleRow, 'id' | 'source' | 'created_at'>>): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE schedules SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
  }

  delete(id: string): boolean { return this.db.prepare('DELETE FROM schedules WHERE id = ?').run(id).changes > 0; }

  transaction<T>(fn: () => T): T { return this.db.transaction(fn)(); }
}
