// One answer on its way into one chat: the agent's text as it grows, edited into the chat message
// at most once per interval (platforms rate-limit edits), split into more messages past the
// platform's limit, and where the platform cannot edit, sent once when it is complete.
import { CHANNEL_DEFAULTS } from '../spec/defaults.js';
import { messageOf } from '../errors.js';
import { splitText } from './split.js';
import type { ChannelAdapter, SentRef } from './types.js';

export interface ReplyTarget { readonly chat: string; readonly thread?: string | undefined }

export class ReplyWriter {
  private text = '';
  private placeholder: string | undefined;
  /** What each of `refs` shows now ('' after a restart: unknown, so it is edited). */
  private shown: string[];
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private chain: Promise<void> = Promise.resolve();
  private finished = false;

  constructor(
    private readonly adapter: ChannelAdapter,
    private readonly to: ReplyTarget,
    private refs: SentRef[],
    private readonly persist: (refs: readonly SentRef[]) => void,
    private readonly say: (line: string) => void,
    private readonly intervalMs: number = CHANNEL_DEFAULTS.editIntervalMs,
  ) {
    this.shown = refs.map(() => '');
  }

  get done(): boolean { return this.finished; }

  /** Shown until the answer's first words: "starting up…" while a suspended agent wakes. */
  hold(text: string): void { this.placeholder = text; this.kick(); }

  /** A new attempt at the message (a retry after a crash) starts its text again. */
  restart(): void { this.text = ''; }

  append(delta: string): void { this.text += delta; if (this.adapter.caps.canEdit) this.kick(); }

  /** The last word: everything is posted, then the writer is done. A `note` (why it failed) goes
   *  after what the agent had said so far, which stays. False when the platform did not take it
   *  (then `retry()` later: only what the chat does not show yet is sent). */
  finish(note?: string): Promise<boolean> {
    if (note !== undefined) this.text = this.text.trim() ? `${this.text}\n\n${note}` : note;
    if (this.text.trim() === '') this.text = '(no answer)';
    clearTimeout(this.timer);
    this.finished = true;
    return this.enqueue();
  }

  retry(): Promise<boolean> { return this.enqueue(); }

  private kick(): void {
    if (this.finished || this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => { this.timer = undefined; void this.enqueue(); }, wait);
    this.timer.unref();
  }

  private enqueue(): Promise<boolean> {
    const run = this.chain.then(() => this.flush());
    // the chat is told nothing more for now; the next flush (or finish, or retry) sends what it lacks
    this.chain = run.catch((e: unknown) => { this.say(`channel ${this.adapter.name}: could not post to chat ${this.to.chat}: ${messageOf(e)}`); });
    return run.then(() => true, () => false);
  }

  private async flush(): Promise<void> {
    this.lastFlush = Date.now();
    const body = this.text || this.placeholder;
    // a platform without edits gets the answer once, complete
    if (body === undefined || (!this.adapter.caps.canEdit && !this.finished)) return;
    const chunks = splitText(body, this.adapter.caps.maxText);
    for (const [i, chunk] of chunks.entries()) {
      const ref = this.refs[i];
      if (ref) {
        if (this.shown[i] === chunk) continue;
        await this.adapter.edit(ref, chunk);
        this.shown[i] = chunk;
      } else {
        const sent = await this.adapter.send(this.to.chat, chunk, this.to.thread ? { thread: this.to.thread } : {});
        this.refs = [...this.refs, sent];
        this.shown[i] = chunk;
        this.persist(this.refs);
      }
    }
    // an answer that shrank (a retry said less) leaves no stale text in its extra messages
    for (let i = chunks.length; i < this.refs.length; i++) {
      if (this.shown[i] === '…') continue;
      await this.adapter.edit(this.refs[i]!, '…');
      this.shown[i] = '…';
    }
  }
}
