// Files that travel with messages, on the runner's side: a message's files are written to
// WORKSPACE/inbox/ (the model is told where), and after each message whatever the agent left in
// WORKSPACE/outbox/ goes back to the host as `file` frames, then moves to outbox/sent/. The
// runner does this, never the host: the host does not follow a path an agent can write.
// Names are reduced to a safe basename on both sides (the same function), so a name can never
// point elsewhere; the inbox, its files and outbox entries are opened without following symlinks.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_LIMITS, numbered, safeFileName } from './file-names.js';
import type { InboundFile, RunnerEvent } from './protocol.js';

const isDirNotLink = (p: string): boolean => { try { const s = lstatSync(p); return s.isDirectory() && !s.isSymbolicLink(); } catch { return false; } };

/** A folder of the workspace, made when missing; refused when it is (or was swapped for) a symlink or not a folder. */
function ownDir(path: string): void {
  try { mkdirSync(path, { mode: 0o755 }); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
  if (!isDirNotLink(path)) throw new Error(`${path} is not a folder (a symlink or a file is in its place)`);
}

/** Where an open descriptor really is (Linux); undefined elsewhere. */
function whereIs(fd: number): string | undefined {
  try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return undefined; }
}

export interface Saved { readonly given: string; readonly name?: string; readonly size: number; readonly error?: string }

/**
 * Writes each file to ROOT/inbox/NAME as a new file (O_CREAT|O_EXCL|O_NOFOLLOW: an existing name,
 * or a symlink planted there, is never written through; the next number is taken instead). A file
 * that cannot be written is reported in its entry, the others still are.
 */
export function saveInbound(root: string, files: readonly InboundFile[]): Saved[] {
  const inbox = join(root, 'inbox');
  let dirError: string | undefined;
  try { ownDir(inbox); } catch (e) { dirError = (e as Error).message; }
  return files.map((f) => {
    const bytes = Buffer.from(f.data, 'base64');
    if (dirError) return { given: f.name, size: bytes.length, error: dirError };
    const base = safeFileName(f.name);
    for (let n = 1; n <= 1000; n++) {
      const name = numbered(base, n);
      const path = join(inbox, name);
      let fd: number;
      try { fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ELOOP') continue;
        return { given: f.name, size: bytes.length, error: `cannot create ${path}: ${code ?? (e as Error).message}` };
      }
      try {
        // the inbox may have been swapped for a symlink between the check and the open: then nothing is written
        const real = whereIs(fd);
        if (real !== undefined && real !== path) {
          return { given: f.name, size: bytes.length, error: `${inbox} changed into a link while the file was saved; it was not written` };
        }
        for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
        return { given: f.name, name, size: bytes.length };
      } catch (e) {
        return { given: f.name, size: bytes.length, error: `cannot write ${path}: ${(e as Error).message}` };
      } finally { closeSync(fd); }
    }
    return { given: f.name, size: bytes.length, error: `too many files named like ${base} in ${inbox}` };
  });
}

/** The lines the model reads before the message's text, one per file; `inbox` as the model knows it (WORKSPACE/inbox). */
export function attachedLines(saved: readonly Saved[], inbox: string): string[] {
  return saved.map((s) => (s.name ? `[file attached: ${join(inbox, s.name)} (${s.size} bytes)]` : `[file not saved: ${safeFileName(s.given)} (${s.size} bytes): ${s.error}]`));
}

/** What the session calls around each message (src/agent/session.ts). */
export interface Attachments {
  /** Saves a message's files; the lines to put before its text. */
  receive(files: readonly InboundFile[]): string[];
  /** Sends the outbox as `file` frames (before the message's end). */
  send(messageId: string): void;
}

/** `root` is the workspace's real path, `shown` the path the model knows it by. Never throws: a failure is logged or told to the model. */
export function workspaceAttachments(root: string, shown: string, emit: (e: RunnerEvent) => void, log: (s: string) => void): Attachments {
  return {
    receive: (files) => {
      const saved = saveInbound(root, files);
      for (const s of saved) if (s.error) log(`inbox: ${s.error}`);
      return attachedLines(saved, join(shown, 'inbox'));
    },
    send: (messageId) => {
      try { sendOutbox(root, messageId, emit, log); } catch (e) { log(`outbox: ${(e as Error).message}`); }
    },
  };
}

/** Reads a regular file without following a symlink and without blocking on a FIFO; undefined (with a reason) otherwise. */
function readRegular(path: string, max: number): { bytes?: Buffer; skip?: string } {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch (e) {
    return { skip: `cannot open it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { skip: 'not a regular file' };
    if (st.size > max) return { skip: `${st.size} bytes, more than the ${max}-byte limit` };
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { bytes: buf.subarray(0, off) };
  } finally { closeSync(fd); }
}

/**
 * The agent's outbox after a message: each regular file (never a symlink, folder or device; at
 * most maxFileBytes; at most maxFiles per message, the rest wait for the next one) becomes a
 * `file` frame, then moves to outbox/sent/. What is skipped stays and is logged.
 */
export function sendOutbox(root: string, messageId: string, emit: (e: RunnerEvent) => void, log: (s: string) => void): number {
  const outbox = join(root, 'outbox');
  try {
    const st = lstatSync(outbox);
    if (!st.isDirectory()) { log(`outbox: ${outbox} is not a folder (a symlink or a file); nothing is sent`); return 0; }
  } catch { return 0; }
  let names: string[];
  try { names = readdirSync(outbox).filter((n) => n !== 'sent').sort(); } catch (e) { log(`outbox: cannot read ${outbox}: ${(e as Error).message}`); return 0; }
  let sent = 0;
  for (const name of names) {
    if (sent >= FILE_LIMITS.maxFiles) { log(`outbox: more than ${FILE_LIMITS.maxFiles} files; the rest go with the next message`); break; }
    const path = join(outbox, name);
    let st;
    try { st = lstatSync(path); } catch { continue; }
    if (!st.isFile()) { log(`outbox: ${name} skipped: ${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}`); continue; }
    const r = readRegular(path, FILE_LIMITS.maxFileBytes);
    if (!r.bytes) { log(`outbox: ${name} skipped: ${r.skip}`); continue; }
    emit({ type: 'file', messageId, name: safeFileName(name), size: r.bytes.length, data: r.bytes.toString('base64') });
    sent++;
    moveToSent(outbox, name, log);
  }
  return sent;
}

/** A sent file leaves the outbox (deleted when it cannot be moved: it must not be sent twice). */
function moveToSent(outbox: string, name: string, log: (s: string) => void): void {
  const from = join(outbox, name);
  try {
    const sentDir = join(outbox, 'sent');
    ownDir(sentDir);
    for (let n = 1; n <= 1000; n++) {
      const to = join(sentDir, numbered(name, n));
      try { lstatSync(to); continue; } catch { /* free */ }
      renameSync(from, to);
      return;
    }
    throw new Error('no free name in sent/');
  } catch (e) {
    log(`outbox: could not move ${name} to sent/ (${(e as Error).message}); it is deleted instead`);
    try { unlinkSync(from); } catch { /* gone already */ }
  }
}
