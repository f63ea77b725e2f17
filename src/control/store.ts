// The control plane's durable state in SQLite (WAL): groups, sessions, messages, events.
// A message row is committed before the API acknowledges it, so a crash after "202" loses nothing.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type MessageStatus = 'queued' | 'delivered' | 'running' | 'done' | 'failed';
export type SessionStatus = 'starting' | 'active' | 'closing' | 'ended';

export interface GroupRow {
  name: string; model: string; system: string | null; created_at: string;
  /** JSON: model names the group's tokens may use (a tenant's plan), null: the ControlPlane file decides. */
  models: string | null;
  /** JSON budget ({period, tokens?, requests?}) set through the API (a tenant's plan); null: the file's. */
  budget: string | null;
}
export interface TurnRow { tenant: string; seq: number; prompt: string; shape: string; at: string }
export interface SessionRow {
  id: string; group_name: string; container_name: string | null; status: SessionStatus;
  followups: string; started_at: string; ended_at: string | null; end_reason: string | null;
}
export interface MessageRow {
  id: string; group_name: string; session_id: string | null; text: string; status: MessageStatus;
  attempts: number; error: string | null; created_at: string; updated_at: string;
}
export interface TokenRow { hash: string; group_name: string; session_id: string | null; created_at: string; revoked_at: string | null; revoke_reason: string | null }
export interface UsageRow { group_name: string; period_start: string; requests: number; input_tokens: number; output_tokens: number }
export interface ApiTokenRow {
  id: string; hash: string; scope: string; name: string; created_at: string; last_used_at: string | null; revoked_at: string | null;
  /** JSON: a sandbox:OWNER token's limits (src/sandbox/limits.ts); null for other scopes. */
  limits: string | null;
}
/** Who owns which sandbox (src/sandbox): the only record of it; container labels are never trusted for it. */
export interface SandboxRow {
  name: string;
  /** null while it is being created (the row holds the name and counts against the owner's limit meanwhile). */
  container_id: string | null;
  /** The sandbox:OWNER scope's OWNER; null for one an admin token made. */
  owner: string | null;
  created_at: string;
  /** The warm pool it was claimed from, if any. */
  claimed_from: string | null;
}
export interface EventRow { seq: number; session_id: string | null; message_id: string | null; type: string; data: string; ts: string }

const SCHEMA = `
CREATE TABLE IF NOT EXISTS groups (
  name TEXT PRIMARY KEY, model TEXT NOT NULL, system TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, group_name TEXT NOT NULL REFERENCES groups(name), container_name TEXT,
  status TEXT NOT NULL, followups TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, end_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_group ON sessions(group_name, started_at);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, group_name TEXT NOT NULL REFERENCES groups(name), session_id TEXT,
  text TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_status ON messages(status, created_at);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, message_id TEXT, type TEXT NOT NULL,
  data TEXT NOT NULL, ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id, seq);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id, seq);
CREATE TABLE IF NOT EXISTS gateway_tokens (
  hash TEXT PRIMARY KEY, group_name TEXT NOT NULL, session_id TEXT, created_at TEXT NOT NULL,
  revoked_at TEXT, revoke_reason TEXT
);
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, name TEXT NOT NULL,
  created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sandboxes (
  name TEXT PRIMARY KEY, container_id TEXT, owner TEXT, created_at TEXT NOT NULL, claimed_from TEXT
);
CREATE INDEX IF NOT EXISTS sandboxes_owner ON sandboxes(owner);
CREATE TABLE IF NOT EXISTS tenant_turns (
  tenant TEXT NOT NULL, seq INTEGER NOT NULL, prompt TEXT NOT NULL, shape TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE TABLE IF NOT EXISTS usage (
  group_name TEXT NOT NULL, period_start TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (group_name, period_start)
);
`;

const now = () => new Date().toISOString();

export class Store {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a killed process (the WAL is in the OS's hands at commit);
    // only a power loss can take the last commits. bench/README.md has the per-message cost.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // columns added after the first release: a store made by an older clawpod gets them here
    const cols = new Set((this.db.prepare('PRAGMA table_info(groups)').all() as { name: string }[]).map((c) => c.name));
    if (!cols.has('models')) this.db.exec('ALTER TABLE groups ADD COLUMN models TEXT');
    if (!cols.has('budget')) this.db.exec('ALTER TABLE groups ADD COLUMN budget TEXT');
    const tokenCols = new Set((this.db.prepare('PRAGMA table_info(api_tokens)').all() as { name: string }[]).map((c) => c.name));
    if (!tokenCols.has('limits')) this.db.exec('ALTER TABLE api_tokens ADD COLUMN limits TEXT');
  }

  close(): void { this.db.close(); }

  // groups
  upsertGroup(name: string, model: string, system: string | null, policy: { models?: readonly string[]; budget?: object } = {}): void {
    this.db.prepare(`INSERT INTO groups (name, model, system, created_at, models, budget) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET model = excluded.model, system = excluded.system,
        models = COALESCE(excluded.models, groups.models), budget = COALESCE(excluded.budget, groups.budget)`)
      .run(name, model, system, now(), policy.models ? JSON.stringify(policy.models) : null, policy.budget ? JSON.stringify(policy.budget) : null);
  }

  /** Removes a group with no session and no queued message: its tokens are revoked first, its history goes. */
  deleteGroup(name: string): void {
    this.db.transaction(() => {
      this.revokeTokens({ group: name }, 'its group was deleted');
      this.db.prepare('DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE group_name = ?) OR message_id IN (SELECT id FROM messages WHERE group_name = ?)').run(name, name);
      this.db.prepare('DELETE FROM messages WHERE group_name = ?').run(name);
      this.db.prepare('DELETE FROM sessions WHERE group_name = ?').run(name);
      this.db.prepare('DELETE FROM gateway_tokens WHERE group_name = ?').run(name);
      this.db.prepare('DELETE FROM usage WHERE group_name = ?').run(name);
      // what other modules keep of the group (their tables exist once they ran): a chat bound to it or a
      // schedule of it must not reach a later group of the same name
      for (const table of ['channel_bindings', 'schedules']) {
        if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) this.db.prepare(`DELETE FROM ${table} WHERE group_name = ?`).run(name);
      }
      this.db.prepare('DELETE FROM groups WHERE name = ?').run(name);
    })();
  }

  // a tenant's recorded chat turns (prompt and the answer's shape), replayed by a canary upgrade
  addTurn(tenant: string, prompt: string, shape: object, keep: number): void {
    this.db.transaction(() => {
      const last = (this.db.prepare('SELECT MAX(seq) AS s FROM tenant_turns WHERE tenant = ?').get(tenant) as { s: number | null }).s ?? 0;
      this.db.prepare('INSERT INTO tenant_turns (tenant, seq, prompt, shape, at) VALUES (?, ?, ?, ?, ?)').run(tenant, last + 1, prompt, JSON.stringify(shape), now());
      this.db.prepare('DELETE FROM tenant_turns WHERE tenant = ? AND seq <= ?').run(tenant, last + 1 - keep);
    })();
  }
  turns(tenant: string, limit: number): TurnRow[] {
    return (this.db.prepare('SELECT * FROM tenant_turns WHERE tenant = ? ORDER BY seq DESC LIMIT ?').all(tenant, limit) as TurnRow[]).reverse();
  }
  forgetTurns(tenant: string): void { this.db.prepare('DELETE FROM tenant_turns WHERE tenant = ?').run(tenant); }
  group(name: string): GroupRow | undefined { return this.db.prepare('SELECT * FROM groups WHERE name = ?').get(name) as GroupRow | undefined; }
  groups(): GroupRow[] { return this.db.prepare('SELECT * FROM groups ORDER BY name').all() as GroupRow[]; }

  // sessions
  insertSession(s: Pick<SessionRow, 'id' | 'group_name' | 'followups'>): void {
    this.db.prepare('INSERT INTO sessions (id, group_name, status, followups, started_at) VALUES (?, ?, ?, ?, ?)').run(s.id, s.group_name, 'starting', s.followups, now());
  }
  setSession(id: string, fields: Partial<Pick<SessionRow, 'status' | 'container_name' | 'end_reason' | 'ended_at'>>): void {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE sessions SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
  }
  endSession(id: string, reason: string): void { this.setSession(id, { status: 'ended', end_reason: reason, ended_at: now() }); }
  session(id: string): SessionRow | undefined { return this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined; }
  sessions(group?: string): SessionRow[] {
    return (group
      ? this.db.prepare('SELECT * FROM sessions WHERE group_name = ? ORDER BY started_at DESC').all(group)
      : this.db.prepare('SELECT * FROM sessions ORDER BY started_at DESC').all()) as SessionRow[];
  }
  openSessions(): SessionRow[] { return this.db.prepare("SELECT * FROM sessions WHERE status != 'ended'").all() as SessionRow[]; }

  // messages
  insertMessage(m: Pick<MessageRow, 'id' | 'group_name' | 'text'>): MessageRow {
    const t = now();
    this.db.prepare('INSERT INTO messages (id, group_name, text, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(m.id, m.group_name, m.text, 'queued', t, t);
    return this.message(m.id)!;
  }
  message(id: string): MessageRow | undefined { return this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined; }
  setMessage(id: string, fields: Partial<Pick<MessageRow, 'status' | 'session_id' | 'error' | 'attempts'>>): void {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    this.db.prepare(`UPDATE messages SET ${[...keys.map((k) => `${k} = @${k}`), 'updated_at = @updated_at'].join(', ')} WHERE id = @id`)
      .run({ ...fields, id, updated_at: now() });
  }
  /** Queued messages, oldest first: the per-group FIFOs are slices of this. */
  queued(): MessageRow[] { return this.db.prepare("SELECT * FROM messages WHERE status = 'queued' ORDER BY created_at, rowid").all() as MessageRow[]; }
  /** Messages handed to a runner that had not finished when the daemon stopped. */
  inFlight(): MessageRow[] { return this.db.prepare("SELECT * FROM messages WHERE status IN ('delivered', 'running') ORDER BY created_at, rowid").all() as MessageRow[]; }
  messages(group: string, limit = 50): MessageRow[] {
    return this.db.prepare('SELECT * FROM messages WHERE group_name = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(group, limit) as MessageRow[];
  }

  // events
  addEvent(e: { session_id: string | null; message_id: string | null; type: string; data: unknown }): EventRow {
    const ts = now();
    const data = JSON.stringify(e.data ?? {});
    const r = this.db.prepare('INSERT INTO events (session_id, message_id, type, data, ts) VALUES (?, ?, ?, ?, ?)').run(e.session_id, e.message_id, e.type, data, ts);
    return { seq: Number(r.lastInsertRowid), session_id: e.session_id, message_id: e.message_id, type: e.type, data, ts };
  }
  eventsForMessage(id: string, after = 0): EventRow[] { return this.db.prepare('SELECT * FROM events WHERE message_id = ? AND seq > ? ORDER BY seq').all(id, after) as EventRow[]; }
  eventsForSession(id: string, after = 0): EventRow[] { return this.db.prepare('SELECT * FROM events WHERE session_id = ? AND seq > ? ORDER BY seq').all(id, after) as EventRow[]; }

  // gateway tokens: only their sha256 is stored
  addToken(hash: string, group: string, sessionId: string | null): void {
    this.db.prepare('INSERT INTO gateway_tokens (hash, group_name, session_id, created_at) VALUES (?, ?, ?, ?)').run(hash, group, sessionId, now());
  }
  token(hash: string): TokenRow | undefined { return this.db.prepare('SELECT * FROM gateway_tokens WHERE hash = ?').get(hash) as TokenRow | undefined; }
  revokeTokens(where: { group?: string; session?: string; hash?: string }, reason: string): number {
    const [col, val] = where.hash ? ['hash', where.hash] : where.session ? ['session_id', where.session] : ['group_name', where.group];
    return this.db.prepare(`UPDATE gateway_tokens SET revoked_at = ?, revoke_reason = ? WHERE ${col} = ? AND revoked_at IS NULL`).run(now(), reason, val).changes;
  }

  // API tokens (src/control/auth.ts): only their sha256 is stored
  addApiToken(t: Pick<ApiTokenRow, 'id' | 'hash' | 'scope' | 'name'> & { limits?: object }): ApiTokenRow {
    this.db.prepare('INSERT INTO api_tokens (id, hash, scope, name, created_at, limits) VALUES (?, ?, ?, ?, ?, ?)').run(t.id, t.hash, t.scope, t.name, now(), t.limits ? JSON.stringify(t.limits) : null);
    return this.apiToken(t.id)!;
  }
  apiToken(id: string): ApiTokenRow | undefined { return this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as ApiTokenRow | undefined; }
  apiTokenByHash(hash: string): ApiTokenRow | undefined { return this.db.prepare('SELECT * FROM api_tokens WHERE hash = ?').get(hash) as ApiTokenRow | undefined; }
  apiTokens(): ApiTokenRow[] { return this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all() as ApiTokenRow[]; }
  apiTokenUsed(id: string): void { this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now(), id); }
  revokeApiToken(id: string): boolean { return this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now(), id).changes > 0; }

  // sandboxes (src/sandbox): a row is written before the container exists, so the owner's count holds it
  addSandbox(r: Pick<SandboxRow, 'name' | 'owner'>): SandboxRow {
    this.db.prepare('INSERT INTO sandboxes (name, owner, created_at) VALUES (?, ?, ?)').run(r.name, r.owner, now());
    return this.sandbox(r.name)!;
  }
  setSandbox(name: string, fields: Pick<SandboxRow, 'container_id' | 'claimed_from'>): void {
    this.db.prepare('UPDATE sandboxes SET container_id = ?, claimed_from = ? WHERE name = ?').run(fields.container_id, fields.claimed_from, name);
  }
  sandbox(name: string): SandboxRow | undefined { return this.db.prepare('SELECT * FROM sandboxes WHERE name = ?').get(name) as SandboxRow | undefined; }
  /** undefined: every sandbox (an admin's view); a string: that owner's. */
  sandboxes(owner?: string): SandboxRow[] {
    return (owner === undefined
      ? this.db.prepare('SELECT * FROM sandboxes ORDER BY created_at, name').all()
      : this.db.prepare('SELECT * FROM sandboxes WHERE owner = ? ORDER BY created_at, name').all(owner)) as SandboxRow[];
  }
  deleteSandbox(name: string): void { this.db.prepare('DELETE FROM sandboxes WHERE name = ?').run(name); }

  // usage per group and budget period
  usage(group: string, periodStart: string): UsageRow {
    return (this.db.prepare('SELECT * FROM usage WHERE group_name = ? AND period_start = ?').get(group, periodStart) as UsageRow | undefined)
      ?? { group_name: group, period_start: periodStart, requests: 0, input_tokens: 0, output_tokens: 0 };
  }
  addUsage(group: string, periodStart: string, u: { requests: number; input: number; output: number }): void {
    this.db.prepare(`INSERT INTO usage (group_name, period_start, requests, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(group_name, period_start) DO UPDATE SET requests = requests + excluded.requests,
      input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens`).run(group, periodStart, u.requests, u.input, u.output);
  }

  transaction<T>(fn: () => T): T { return this.db.transaction(fn)(); }
}
