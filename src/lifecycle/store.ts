// What the lifecycle keeps across restarts, in the control plane's SQLite file: which agents it
// suspended (and until when, for a spent budget), which ttl warnings it sent, which destroys it
// started (finished at the next start if it was killed half-way), and its events.
import type Database from 'better-sqlite3';

export interface AgentRow {
  name: string;
  /** 'paused' | 'suspended' when the lifecycle did it; null otherwise. */
  state: string | null;
  since: string | null;
  /** The container id a ttl warning was sent for (a re-created agent gets its own). */
  warned_id: string | null;
  destroying_since: string | null;
  /** A spent budget holds it suspended until this time (ISO), for this reason. */
  hold_until: string | null;
  hold_reason: string | null;
}
export interface LifecycleEvent { seq: number; agent: string; type: string; data: string; ts: string }

const SCHEMA = `
CREATE TABLE IF NOT EXISTS lifecycle_agents (
  name TEXT PRIMARY KEY, state TEXT, since TEXT, warned_id TEXT, destroying_since TEXT, hold_until TEXT, hold_reason TEXT
);
CREATE TABLE IF NOT EXISTS lifecycle_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lifecycle_events_agent ON lifecycle_events(agent, seq);
`;

export class LifecycleStore {
  constructor(private readonly db: Database.Database) { db.exec(SCHEMA); }

  agent(name: string): AgentRow | undefined {
    return this.db.prepare('SELECT * FROM lifecycle_agents WHERE name = ?').get(name) as AgentRow | undefined;
  }

  agents(): AgentRow[] { return this.db.prepare('SELECT * FROM lifecycle_agents ORDER BY name').all() as AgentRow[]; }

  set(name: string, fields: Partial<Omit<AgentRow, 'name'>>): void {
    this.db.prepare('INSERT INTO lifecycle_agents(name) VALUES (?) ON CONFLICT(name) DO NOTHING').run(name);
    for (const [k, v] of Object.entries(fields)) {
      // the keys are AgentRow's own, never input
      this.db.prepare(`UPDATE lifecycle_agents SET ${k} = ? WHERE name = ?`).run(v ?? null, name);
    }
  }

  forget(name: string): void { this.db.prepare('DELETE FROM lifecycle_agents WHERE name = ?').run(name); }

  destroying(): AgentRow[] { return this.db.prepare('SELECT * FROM lifecycle_agents WHERE destroying_since IS NOT NULL').all() as AgentRow[]; }

  record(agent: string, type: string, data: object): LifecycleEvent {
    const ts = new Date().toISOString();
    const r = this.db.prepare('INSERT INTO lifecycle_events(agent, type, data, ts) VALUES (?, ?, ?, ?)').run(agent, type, JSON.stringify(data), ts);
    return { seq: Number(r.lastInsertRowid), agent, type, data: JSON.stringify(data), ts };
  }

  /** The agent's newest event of this type. */
  last(agent: string, type: string): LifecycleEvent | undefined {
    return this.db.prepare('SELECT * FROM lifecycle_events WHERE agent = ? AND type = ? ORDER BY seq DESC LIMIT 1').get(agent, type) as LifecycleEvent | undefined;
  }

  events(opts: { agent?: string; after?: number; limit?: number } = {}): LifecycleEvent[] {
    const limit = Math.min(opts.limit ?? 500, 5000);
    return (opts.agent
      ? this.db.prepare('SELECT * FROM lifecycle_events WHERE agent = ? AND seq > ? ORDER BY seq LIMIT ?').all(opts.agent, opts.after ?? 0, limit)
      : this.db.prepare('SELECT * FROM lifecycle_events WHERE seq > ? ORDER BY seq LIMIT ?').all(opts.after ?? 0, limit)) as LifecycleEvent[];
  }
}
