// What the channels keep in the control plane's SQLite: which chat reaches which group, which
// platform updates were already taken (so a redelivered one is not a second message), and the
// answers still to be posted (so a daemon restart finishes them instead of losing them).
import type Database from 'better-sqlite3';
import type { SentRef } from './types.js';

export interface BindingRow { channel: string; chat: string; group_name: string; source: 'file' | 'api'; created_at: string }
export interface ReplyRow {
  message_id: string; channel: string; chat: string; thread: string | null;
  /** JSON SentRef[]: the platform messages the answer is in so far (edited as it grows). */
  refs: string;
  state: 'pending' | 'posted' | 'failed';
  created_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS channel_bindings (
  channel TEXT NOT NULL, chat TEXT NOT NULL, group_name TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (channel, chat)
);
CREATE TABLE IF NOT EXISTS channel_inbox (
  channel TEXT NOT NULL, key TEXT NOT NULL, message_id TEXT, at TEXT NOT NULL, PRIMARY KEY (channel, key)
);
CREATE TABLE IF NOT EXISTS channel_replies (
  message_id TEXT NOT NULL, channel TEXT NOT NULL, chat TEXT NOT NULL, thread TEXT, refs TEXT NOT NULL DEFAULT '[]',
  state TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (message_id, channel, chat)
);
CREATE INDEX IF NOT EXISTS channel_replies_state ON channel_replies(state);
`;

const now = () => new Date().toISOString();

export class ChannelStore {
  constructor(private readonly db: Database.Database) { db.exec(SCHEMA); }

  bind(channel: string, chat: string, group: string, source: BindingRow['source']): void {
    this.db.prepare(`INSERT INTO channel_bindings (channel, chat, group_name, source, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(channel, chat) DO UPDATE SET group_name = excluded.group_name, source = excluded.source`).run(channel, chat, group, source, now());
  }
  unbind(channel: string, chat: string): boolean { return this.db.prepare('DELETE FROM channel_bindings WHERE channel = ? AND chat = ?').run(channel, chat).changes > 0; }
  binding(channel: string, chat: string): BindingRow | undefined {
    return this.db.prepare('SELECT * FROM channel_bindings WHERE channel = ? AND chat = ?').get(channel, chat) as BindingRow | undefined;
  }
  bindings(group?: string): BindingRow[] {
    return (group === undefined
      ? this.db.prepare('SELECT * FROM channel_bindings ORDER BY channel, chat').all()
      : this.db.prepare('SELECT * FROM channel_bindings WHERE group_name = ? ORDER BY channel, chat').all(group)) as BindingRow[];
  }
  /** Bindings the ControlPlane file made that it no longer lists go; ones made through the API stay. */
  seedFromFile(bindings: readonly { channel: string; chat: string; group: string }[]): void {
    this.db.transaction(() => {
      const keep = new Set(bindings.map((b) => `${b.channel}\n${b.chat}`));
      for (const b of this.bindings()) if (b.source === 'file' && !keep.has(`${b.channel}\n${b.chat}`)) this.unbind(b.channel, b.chat);
      for (const b of bindings) this.bind(b.channel, b.chat, b.group, 'file');
    })();
  }

  /** True the first time (channel, key) is seen; the row is written in the caller's transaction. */
  take(channel: string, key: string, messageId: string | null): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO channel_inbox (channel, key, message_id, at) VALUES (?, ?, ?, ?)').run(channel, key, messageId, now()).changes > 0;
  }
  taken(channel: string, key: string): boolean {
    return this.db.prepare('SELECT 1 FROM channel_inbox WHERE channel = ? AND key = ?').get(channel, key) !== undefined;
  }

  /** The channels' own recent events (daemon.note: channel_up, _down, _unbound, _rate_limited, _rejected), newest first. */
  events(channel: string, limit = 20): { type: string; data: Record<string, unknown>; ts: string }[] {
    const rows = this.db.prepare("SELECT type, data, ts FROM events WHERE message_id IS NULL AND session_id IS NULL AND type LIKE 'channel\\_%' ESCAPE '\\' AND json_extract(data, '$.channel') = ? ORDER BY seq DESC LIMIT ?").all(channel, limit) as { type: string; data: string; ts: string }[];
    return rows.map((r) => ({ type: r.type, data: JSON.parse(r.data) as Record<string, unknown>, ts: r.ts }));
  }

  addReply(r: { message_id: string; channel: string; chat: string; thread?: string | undefined }): void {
    this.db.prepare("INSERT OR IGNORE INTO channel_replies (message_id, channel, chat, thread, refs, state, created_at) VALUES (?, ?, ?, ?, '[]', 'pending', ?)")
      .run(r.message_id, r.channel, r.chat, r.thread ?? null, now());
  }
  pendingReplies(): ReplyRow[] { return this.db.prepare("SELECT * FROM channel_replies WHERE state = 'pending' ORDER BY created_at").all() as ReplyRow[]; }
  repliesFor(messageId: string): ReplyRow[] { return this.db.prepare('SELECT * FROM channel_replies WHERE message_id = ?').all(messageId) as ReplyRow[]; }
  setReply(r: Pick<ReplyRow, 'message_id' | 'channel' | 'chat'>, fields: { refs?: readonly SentRef[]; state?: ReplyRow['state'] }): void {
    if (fields.refs) this.db.prepare('UPDATE channel_replies SET refs = ? WHERE message_id = ? AND channel = ? AND chat = ?').run(JSON.stringify(fields.refs), r.message_id, r.channel, r.chat);
    if (fields.state) this.db.prepare('UPDATE channel_replies SET state = ? WHERE message_id = ? AND channel = ? AND chat = ?').run(fields.state, r.message_id, r.channel, r.chat);
  }
}
