// Follow-ups as files (input.mode "dir"): the host writes `.tmp-*` and renames it to `*.json`
// (or `_close`) in the watched folder. inotify (fs.watch) makes delivery event-driven; pollMs
// replaces it where no event crosses into the container (gVisor, a shared Kubernetes volume).
// Files are taken in name order and deleted once read.
import { readdirSync, readFileSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from './errors.js';
import type { Inbound } from './protocol.js';
import { BadInput, parseInbound } from './start-doc.js';

export interface InboxSink {
  deliver(m: Inbound): void;
  /** A file that could not be used; it is reported once and never retried. */
  problem(message: string): void;
}

export class DirInbox {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private rescan = false;
  private closed = false;
  /** Names already handled: a file we could not delete must not be delivered twice. */
  private readonly seen = new Set<string>();

  constructor(private readonly dir: string, private readonly pollMs: number | undefined, private readonly sink: InboxSink) {}

  start(): void {
    if (this.pollMs) this.timer = setInterval(() => this.scan(), this.pollMs);
    else {
      try {
        // any event means "look again": names in events can be coalesced or missing
        this.watcher = watch(this.dir, () => this.scan());
        this.watcher.on('error', (e) => this.sink.problem(`watching input.path ${this.dir} failed (${e.message}); follow-ups by file stop, stdin EOF still closes`));
      } catch (e) {
        this.sink.problem(`cannot watch input.path ${this.dir}: ${messageOf(e)}; follow-ups by file will not arrive (does the folder exist and is it mounted?)`);
        return;
      }
    }
    // files written before the watcher existed raise no event
    this.scan();
  }

  stop(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.timer);
  }

  /** Synchronous on purpose: one pass at a time keeps name order across overlapping events. */
  scan(): void {
    if (this.scanning) { this.rescan = true; return; }
    this.scanning = true;
    try {
      do { this.rescan = false; this.scanOnce(); } while (this.rescan && !this.closed);
    } finally {
      this.scanning = false;
    }
  }

  private scanOnce(): void {
    let names: string[];
    try { names = readdirSync(this.dir); } catch (e) {
      this.problemOnce(`readdir:${this.dir}`, `cannot read input.path ${this.dir}: ${messageOf(e)}`);
      return;
    }
    // plain code-point order, never locale order: the host numbers its files
    const wanted = names.filter((n) => !n.startsWith('.tmp-') && (n === '_close' || n.endsWith('.json')) && !this.seen.has(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of wanted) {
      if (this.closed) return;
      this.seen.add(name);
      const path = join(this.dir, name);
      let text: string;
      try { text = name === '_close' ? '' : readFileSync(path, 'utf8'); } catch (e) {
        this.sink.problem(`cannot read ${path}: ${messageOf(e)}; the file is skipped`);
        continue;
      }
      try { unlinkSync(path); } catch (e) {
        this.sink.problem(`cannot delete ${path} after reading it (${messageOf(e)}); make input.path writable by the runner's user`);
      }
      if (name === '_close') { this.closed = true; this.sink.deliver({ type: 'close' }); return; }
      try { this.sink.deliver(parseInbound(text, `follow-up file ${path}`)); } catch (e) {
        this.sink.problem(e instanceof BadInput ? e.message : messageOf(e));
      }
    }
    // a deleted name may be reused by the host later; only names still present need remembering
    for (const n of this.seen) if (!names.includes(n)) this.seen.delete(n);
  }

  private problemOnce(key: string, message: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.sink.problem(message);
  }
}
