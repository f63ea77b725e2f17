// The tables of groups' memory, on the control plane's own SQLite database: turns, summaries and
// fresh marks. Made here (IF NOT EXISTS), not in store.ts's schema: memory is one module's business.
// Each row references its group with ON DELETE CASCADE, so deleting a group forgets it too
// (a group made again under the same name never inherits an earlier one's conversation).
import type Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS memory_turns (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
  message_id TEXT NOT NULL UNIQUE, session_id TEXT, user_text TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_turns_group ON memory_turns(group_name, seq);
CREATE TABLE IF NOT EXISTS memory_summaries (
  group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
  upto_seq INTEGER NOT NULL, turns INTEGER NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (group_name, upto_seq)
);
CREATE TABLE IF NOT EXISTS memory_marks (
  group_name TEXT PRIMARY KEY REFERENCES groups(name) ON DELETE CASCADE,
  fresh_after INTEGER NOT NULL, at TEXT NOT NULL
);
`;

export interface TurnRow { seq: number; group_name: string; message_id: string; session_id: string | null; user_text: string; answer: string; at: string }
export interface SummaryRow { group_name: string; upto_seq: number; turns: number; text: string; at: string }

const now = () => new Date().toISOString();

export class MemoryStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Stores a turn once: a message answered again (a retry) keeps its first answer. */
  addTurn(t: Omit<TurnRow, 'seq' | 'at'>): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO memory_turns (group_name, message_id, session_id, user_text, answer, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.group_name, t.message_id, t.session_id, t.user_text, t.answer, now()).changes > 0;
  }

  /** The group's turns after `seq`, oldest first. */
  turnsAfter(group: string, seq: number): TurnRow[] {
    return this.db.prepare('SELECT * FROM memory_turns WHERE group_name = ? AND seq > ? ORDER BY seq').all(group, seq) as TurnRow[];
  }

  /** Stored only while the last turn it covers still is: a forget() during the summary call wins. */
  addSummary(s: Omit<SummaryRow, 'at'>): boolean {
    return this.db.prepare(`INSERT OR REPLACE INTO memory_summaries (group_name, upto_seq, turns, text, at)
      SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM memory_turns WHERE group_name = ? AND seq = ?)`)
      .run(s.group_name, s.upto_seq, s.turns, s.text, now(), s.group_name, s.upto_seq).changes > 0;
  }

  /** The newest summary covering turns after `seq` (one made before a fresh mark covers none of them). */
  latestSummary(group: string, after: number): SummaryRow | undefined {
    return this.db.prepare('SELECT * FROM memory_summaries WHERE group_name = ? AND upto_seq > ? ORDER BY upto_seq DESC LIMIT 1').get(group, after) as SummaryRow | undefined;
  }

  summaries(group: string): SummaryRow[] {
    return this.db.prepare('SELECT * FROM memory_summaries WHERE group_name = ? ORDER BY upto_seq').all(group) as SummaryRow[];
  }

  /** Where the group's current conversation starts: turns up to this seq belong to earlier ones (0: all count). */
  freshAfter(group: string): number {
    return (this.db.prepare('SELECT fresh_after FROM memory_marks WHERE group_name = ?').get(group) as { fresh_after: number } | undefined)?.fresh_after ?? 0;
  }

  /** Marks every turn stored so far as belonging to an earlier conversation; returns the mark. */
  markFresh(group: string): number {
    // the table's own sequence, not the group's last turn: a turn stored later is always after the mark
    const last = (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'memory_turns'").get() as { seq: number } | undefined)?.seq ?? 0;
    this.db.prepare('INSERT INTO memory_marks (group_name, fresh_after, at) VALUES (?, ?, ?) ON CONFLICT(group_name) DO UPDATE SET fresh_after = excluded.fresh_after, at = excluded.at')
      .run(group, last, now());
    return last;
  }

  /** Deletes the group's turns, summaries and mark; says how many of each went. */
  forget(group: string): { turns: number; summaries: number } {
    return this.db.transaction(() => {
      const turns = this.db.prepare('DELETE FROM memory_turns WHERE group_name = ?').run(group).changes;
      const summaries = this.db.prepare('DELETE FROM memory_summaries WHERE group_name = ?').run(group).changes;
      this.db.prepare('DELETE FROM memory_marks WHERE group_name = ?').run(group);
      return { turns, summaries };
    })();
  }
}
