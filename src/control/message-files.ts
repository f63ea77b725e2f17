// Files that travel with messages, as the control plane keeps them: in the store's SQLite (the
// host never reads or writes a group's workspace: the runner does, src/agent/attachments.ts).
// A message's incoming files are stored in the same transaction as the message and handed to
// the runner with it; the files the agent sends back arrive as `file` frames and are stored here,
// their bytes never in the events table (the event holds name, size, sha256 and the file's id).
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { FILE_LIMITS, safeFileName, uniqueNames } from '../agent/file-names.js';
import type { InboundFile } from '../agent/protocol.js';
import { ClawpodError } from '../errors.js';
import { CHANNEL_DEFAULTS } from '../spec/defaults.js';

export { safeFileName, uniqueNames };

/** A file as the channels hand it over and take it back. */
export interface ChatFile { readonly name: string; readonly bytes: Buffer }

export interface FileRow {
  id: string; message_id: string; direction: 'in' | 'out'; name: string; size: number; sha256: string; created_at: string;
}

export const MESSAGE_FILE_LIMITS = Object.freeze({ maxFiles: FILE_LIMITS.maxFiles, maxFileBytes: CHANNEL_DEFAULTS.maxFileBytes });

const SCHEMA = `
CREATE TABLE IF NOT EXISTS message_files (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, direction TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, bytes BLOB NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS message_files_message ON message_files(message_id, direction, seq);
`;

const COLS = 'id, message_id, direction, name, size, sha256, created_at';

/**
 * The files of one message checked and named for storage: at most maxFiles, each at most
 * maxFileBytes (a TOO_LARGE error naming the first one over, its size and the limit), each name
 * a safe basename, repeated ones numbered (-2, -3 …). Pure: nothing is stored when it throws.
 */
export function checkFiles(files: readonly ChatFile[]): ChatFile[] {
  const { maxFiles, maxFileBytes } = MESSAGE_FILE_LIMITS;
  if (files.length > maxFiles) {
    throw new ClawpodError('TOO_LARGE', `the message has ${files.length} files, more than the limit of ${maxFiles}`, { hint: `send at most ${maxFiles} files with one message` });
  }
  for (const f of files) {
    if (!Buffer.isBuffer(f.bytes)) throw new ClawpodError('USAGE', `file ${JSON.stringify(f.name)} has no bytes`, { hint: 'each file is { name, bytes: Buffer }' });
    if (f.bytes.length > maxFileBytes) {
      throw new ClawpodError('TOO_LARGE', `file ${JSON.stringify(safeFileName(f.name))} is ${f.bytes.length} bytes, more than the ${maxFileBytes}-byte limit`, {
        hint: 'send a smaller file, or put it somewhere the agent can fetch it',
      });
    }
  }
  const names = uniqueNames(files.map((f) => f.name));
  return files.map((f, i) => ({ name: names[i]!, bytes: f.bytes }));
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fileId = (): string => `f_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;

export class MessageFiles {
  constructor(private readonly db: Database.Database) { db.exec(SCHEMA); }

  /** Stores a message's incoming files (already checked): call it in the message's transaction. */
  addInbound(messageId: string, files: readonly ChatFile[]): FileRow[] {
    return files.map((f, seq) => this.insert(messageId, 'in', seq, f));
  }

  /** A file the agent sent for a message; undefined when the message has its maxFiles already. */
  addOutbound(messageId: string, f: ChatFile): FileRow | undefined {
    const n = (this.db.prepare("SELECT COUNT(*) AS n FROM message_files WHERE message_id = ? AND direction = 'out'").get(messageId) as { n: number }).n;
    if (n >= MESSAGE_FILE_LIMITS.maxFiles) return undefined;
    return this.insert(messageId, 'out', n, f);
  }

  private insert(messageId: string, direction: FileRow['direction'], seq: number, f: ChatFile): FileRow {
    const row: FileRow = { id: fileId(), message_id: messageId, direction, name: f.name, size: f.bytes.length, sha256: sha256(f.bytes), created_at: new Date().toISOString() };
    this.db.prepare('INSERT INTO message_files (id, message_id, direction, seq, name, size, sha256, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.id, messageId, direction, seq, row.name, row.size, row.sha256, f.bytes, row.created_at);
    return row;
  }

  /** A message's files, one direction, in order (without their bytes). */
  list(messageId: string, direction: FileRow['direction']): FileRow[] {
    return this.db.prepare(`SELECT ${COLS} FROM message_files WHERE message_id = ? AND direction = ? ORDER BY seq`).all(messageId, direction) as FileRow[];
  }

  /** A message's incoming files as the runner takes them (base64); undefined when it has none. */
  forRunner(messageId: string): InboundFile[] | undefined {
    const rows = this.db.prepare("SELECT name, bytes FROM message_files WHERE message_id = ? AND direction = 'in' ORDER BY seq").all(messageId) as { name: string; bytes: Buffer }[];
    return rows.length ? rows.map((r) => ({ name: r.name, data: r.bytes.toString('base64') })) : undefined;
  }

  /** One file with its bytes. */
  get(id: string): (FileRow & { bytes: Buffer }) | undefined {
    return this.db.prepare(`SELECT ${COLS}, bytes FROM message_files WHERE id = ?`).get(id) as (FileRow & { bytes: Buffer }) | undefined;
  }

  /** Files whose message is gone (its group was deleted). */
  prune(): number {
    return this.db.prepare('DELETE FROM message_files WHERE message_id NOT IN (SELECT id FROM messages)').run().changes;
  }
}
