// Chats in, answers out. Every adapter hands its messages here; the router finds the chat's group
// (an unbound chat gets a polite answer), answers chat commands, limits floods, stores the message
// (that is the acknowledgement the adapter waits for), and streams the group's answer back into
// the chat. Answers still to be posted are rows in SQLite, so a restarted daemon finishes them.
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { CHANNEL_DEFAULTS } from '../spec/defaults.js';
import { validatedDurationMs } from '../spec/quantity.js';
import type { Daemon } from '../control/daemon.js';
import type { EventRow, Store } from '../control/store.js';
import { HELP_TEXT, UNBOUND_TEXT, parseCommand, type Command } from './commands.js';
import { ChatRateLimit } from './rate.js';
import { ReplyWriter } from './reply.js';
import type { ChannelSpec } from './schema.js';
import type { ChannelStore, ReplyRow } from './store.js';
import type { ChannelAdapter, ChannelSink, Inbound, SentRef } from './types.js';

/** What `/new` needs from the group's memory (src/control/memory.ts). */
export interface FreshStart { fresh(group: string): void }

export interface ChannelState { readonly state: 'starting' | 'up' | 'down'; readonly error?: { code: string; message: string; hint?: string }; readonly since: string }

export interface RouterOptions {
  readonly daemon: Daemon;
  readonly store: Store;
  readonly channels: ChannelStore;
  readonly adapters: readonly { adapter: ChannelAdapter; spec: ChannelSpec }[];
  readonly memory?: FreshStart;
  readonly say: (line: string) => void;
}

const WAKING_TEXT = '⏳ starting up…';

export class ChannelRouter {
  private readonly byName = new Map<string, { adapter: ChannelAdapter; spec: ChannelSpec; limit: ChatRateLimit; unbound: ChatRateLimit }>();
  private readonly states = new Map<string, ChannelState>();
  /** Answers being written, by message id (one per chat the message is posted to). */
  private readonly writers = new Map<string, { row: ReplyRow; writer: ReplyWriter; typing?: NodeJS.Timeout }[]>();
  private readonly onEvent = (e: EventRow) => { if (e.message_id && this.writers.has(e.message_id)) this.apply(e); };

  constructor(private readonly o: RouterOptions) {
    for (const a of o.adapters) {
      // a stranger's chat is answered (and recorded) once a window: anyone can write to a bot
      this.byName.set(a.spec.name, { ...a, limit: new ChatRateLimit(a.spec.rateLimit.messages, validatedDurationMs(a.spec.rateLimit.per)), unbound: new ChatRateLimit(1, validatedDurationMs(a.spec.rateLimit.per)) });
      this.states.set(a.spec.name, { state: 'starting', since: new Date().toISOString() });
    }
    // from the start: a scheduled run announced before start() must not miss its events
    o.daemon.bus.on('event', this.onEvent);
  }

  adapter(name: string): ChannelAdapter | undefined { return this.byName.get(name)?.adapter; }
  status(): { name: string; kind: string; mode?: string | undefined; state: ChannelState }[] {
    return [...this.byName.values()].map(({ spec }) => ({ name: spec.name, kind: spec.kind, mode: spec.mode, state: this.states.get(spec.name)! }));
  }

  /** Starts every adapter (one that cannot start is marked down; the others go on), then finishes the
   *  answers a previous run left unposted. */
  async start(): Promise<void> {
    for (const row of this.o.channels.pendingReplies()) this.follow(row);
    await Promise.all([...this.byName.values()].map(async ({ adapter }) => {
      try {
        await adapter.start(this.sink(adapter));
        this.setState(adapter.name, 'up');
      } catch (e) {
        this.setState(adapter.name, 'down', isClawpodError(e) ? e : new ClawpodError('CHANNEL_UNAVAILABLE', messageOf(e)));
      }
    }));
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.daemon.bus.off('event', this.onEvent);
    for (const list of this.writers.values()) for (const w of list) clearInterval(w.typing);
    await Promise.all([...this.byName.values()].map(({ adapter }) => adapter.stop().catch(() => undefined)));
  }

  /** A scheduled run's answer goes to every chat bound to its group. */
  announce(messageId: string, group: string): void {
    for (const b of this.o.channels.bindings(group)) {
      if (!this.byName.has(b.channel)) continue;
      this.o.channels.addReply({ message_id: messageId, channel: b.channel, chat: b.chat });
    }
    for (const row of this.o.channels.repliesFor(messageId)) this.follow(row);
  }

  private sink(adapter: ChannelAdapter): ChannelSink {
    return {
      receive: (m) => this.receive(adapter, m),
      status: (state, error) => this.setState(adapter.name, state, error),
    };
  }

  private setState(name: string, state: 'up' | 'down', error?: ClawpodError): void {
    const before = this.states.get(name)?.state;
    this.states.set(name, { state, since: new Date().toISOString(), ...(error ? { error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } } : {}) });
    if (before === state) return;
    this.o.daemon.note(`channel_${state}`, { channel: name, ...(error ? { code: error.code, message: error.message } : {}) });
    this.o.say(state === 'up' ? `channel ${name}: up` : `channel ${name}: down: ${error?.message ?? 'unknown reason'}${error?.hint ? ` (${error.hint})` : ''}`);
  }

  private async receive(adapter: ChannelAdapter, m: Inbound): Promise<void> {
    const { channels } = this.o;
    if (channels.taken(adapter.name, m.key)) return;
    const entry = this.byName.get(adapter.name)!;
    const binding = channels.binding(adapter.name, m.chat);
    // what is refused here leaves no row: a flood of strangers or of one chat must not grow the store
    if (!binding) {
      if (entry.unbound.take(m.chat) !== 'ok') return;
      this.o.daemon.note('channel_unbound', { channel: adapter.name, chat: m.chat, ...(m.user ? { user: m.user } : {}) });
      void this.tell(adapter, m, UNBOUND_TEXT);
      return;
    }
    const group = binding.group_name;
    // commands count too: a burst of /new would end the group's session again and again
    const verdict = entry.limit.take(m.chat);
    const cmd = verdict === 'ok' ? parseCommand(m.text) : undefined;
    if (cmd) {
      channels.take(adapter.name, m.key, null);
      void this.tell(adapter, m, this.command(cmd, group));
      return;
    }
    if (verdict !== 'ok') {
      if (verdict === 'refuse-and-tell') {
        this.o.daemon.note('channel_rate_limited', { channel: adapter.name, chat: m.chat, group });
        void this.tell(adapter, m, `Slow down a little: this chat may send ${entry.spec.rateLimit.messages} messages per ${entry.spec.rateLimit.per}. Try again in ${entry.limit.retryInS(m.chat)} s; the messages in between were not passed on.`);
      }
      return;
    }
    let files: { name: string; bytes: Buffer }[];
    try { files = await this.fetchFiles(m); } catch (e) {
      channels.take(adapter.name, m.key, null);
      void this.tell(adapter, m, `Sorry, I could not take that file: ${messageOf(e)}`);
      return;
    }
    // the platform may have delivered it again while the files downloaded
    if (channels.taken(adapter.name, m.key)) return;
    let row: ReplyRow | undefined;
    try {
      this.o.store.transaction(() => {
        const msg = this.o.daemon.submit(group, m.text, { files });
        channels.take(adapter.name, m.key, msg.id);
        channels.addReply({ message_id: msg.id, channel: adapter.name, chat: m.chat, thread: m.thread });
        row = channels.repliesFor(msg.id).find((r) => r.channel === adapter.name && r.chat === m.chat);
      });
    } catch (e) {
      // a message the daemon refuses (empty, too large) is answered in the chat, and not taken again
      channels.take(adapter.name, m.key, null);
      // the message only, never the hint: a hint may list what a chat member has no business knowing (other groups)
      void this.tell(adapter, m, `Sorry, I could not take that message: ${messageOf(e)}`);
      return;
    }
    if (row) this.follow(row);
  }

  /** The files sent with a message, each checked against the limit before it is downloaded. */
  private async fetchFiles(m: Inbound): Promise<{ name: string; bytes: Buffer }[]> {
    const out: { name: string; bytes: Buffer }[] = [];
    for (const f of m.files ?? []) {
      const max = CHANNEL_DEFAULTS.maxFileBytes;
      const big = (n: number) => new ClawpodError('TOO_LARGE', `${f.name} is ${n} bytes, more than the ${max}-byte limit`, { hint: 'send a smaller file, or a link to it' });
      if (f.size !== undefined && f.size > max) throw big(f.size);
      const bytes = await f.fetch();
      if (bytes.length > max) throw big(bytes.length);
      out.push({ name: f.name, bytes });
    }
    return out;
  }

  /** A file the agent put in its outbox, sent after the text so far. */
  private sendFile(w: { row: ReplyRow }, fileId: string): void {
    const adapter = this.byName.get(w.row.channel)!.adapter;
    const f = this.o.daemon.file(fileId);
    if (!f) return;
    adapter.sendFile(w.row.chat, f.name, f.bytes, w.row.thread ? { thread: w.row.thread } : {}).catch((e: unknown) => {
      this.o.say(`channel ${adapter.name}: could not send file ${f.name} to chat ${w.row.chat}: ${messageOf(e)}`);
    });
  }

  /** A short answer to the chat itself; a failure is logged (the chat cannot be told). Not awaited by
   *  receive(): the platform waits for receive() (Slack resends after 3 s), and the key is already taken. */
  private async tell(adapter: ChannelAdapter, m: Pick<Inbound, 'chat' | 'thread'>, text: string): Promise<void> {
    try { await adapter.send(m.chat, text, m.thread ? { thread: m.thread } : {}); } catch (e) {
      this.o.say(`channel ${adapter.name}: could not answer chat ${m.chat}: ${messageOf(e)}`);
    }
  }

  private command(cmd: Command, group: string): string {
    const { daemon } = this.o;
    switch (cmd.kind) {
      case 'help': return HELP_TEXT;
      case 'new': {
        this.o.memory?.fresh(group);
        const closed = daemon.endSession(group, 'a fresh conversation was asked for from the chat');
        return closed ? 'Fresh conversation: the agent starts over with your next message.' : 'Fresh conversation: your next message starts it.';
      }
      case 'stop': {
        const n = daemon.cancel(group, 'stopped from the chat');
        return n ? `Stopped (${n} message${n === 1 ? '' : 's'}).` : 'Nothing to stop.';
      }
      case 'status': {
        const s = daemon.sessionOf(group);
        const queued = this.o.store.queued().filter((q) => q.group_name === group).length;
        const model = this.o.store.group(group)?.model ?? '?';
        return `Group ${group}, model ${model}: ${s ? `agent ${s.phase}` : 'no agent running'}, ${queued} message${queued === 1 ? '' : 's'} waiting.`;
      }
      case 'model': {
        const allowed = daemon.groups.policy.allowedModels(group).map((x) => x.name);
        if (!cmd.name) return `Model: ${this.o.store.group(group)?.model ?? '?'}. Allowed: ${allowed.join(', ')}.`;
        if (!allowed.includes(cmd.name)) return `${cmd.name} is not a model this group may use. Allowed: ${allowed.join(', ')}.`;
        const g = this.o.store.group(group)!;
        try {
          daemon.groups.add(group, cmd.name, g.system, g.models ? { models: JSON.parse(g.models) as string[] } : {});
        } catch (e) { return `Could not switch: ${messageOf(e)}`; }
        return `Switched to ${cmd.name}; the next answer uses it.`;
      }
    }
  }

  /** Writes the answer of a stored reply row: what was recorded so far, then live. */
  private follow(row: ReplyRow): void {
    const entry = this.byName.get(row.channel);
    if (!entry) return; // a channel removed from the file: its answers stay unposted, the message itself is answered
    const list = this.writers.get(row.message_id) ?? [];
    if (list.some((w) => w.row.channel === row.channel && w.row.chat === row.chat)) return;
    const writer = new ReplyWriter(entry.adapter, { chat: row.chat, thread: row.thread ?? undefined }, JSON.parse(row.refs) as SentRef[],
      (refs) => this.o.channels.setReply(row, { refs }), this.o.say);
    list.push({ row, writer });
    this.writers.set(row.message_id, list);
    for (const e of this.o.store.eventsForMessage(row.message_id)) this.apply(e, row);
    const msg = this.o.store.message(row.message_id);
    // a message that ended before this run (its events are all replayed above) still gets its answer
    if (msg && (msg.status === 'done' || msg.status === 'failed') && !writer.done) void this.end(row.message_id, msg.status === 'done' ? undefined : msg.error ?? 'failed');
  }

  private apply(e: EventRow, only?: ReplyRow): void {
    const list = (this.writers.get(e.message_id!) ?? []).filter((w) => !only || (w.row.channel === only.channel && w.row.chat === only.chat));
    const data = JSON.parse(e.data) as Record<string, unknown>;
    for (const w of list) {
      switch (e.type) {
        case 'waking': w.writer.hold(WAKING_TEXT); break;
        case 'delivered': w.writer.restart(); break;
        case 'start': this.typing(w); break;
        case 'text': w.writer.append(String(data.delta ?? '')); break;
        case 'tool_call': this.typing(w); break;
        // only live: a file replayed after a restart may have been sent before it
        case 'file': if (!only) this.sendFile(w, String(data.fileId)); break;
        default: break;
      }
    }
    if (e.type === 'done') void this.end(e.message_id!, undefined, only);
    if (e.type === 'failed') void this.end(e.message_id!, String(data.reason ?? 'failed'), only);
  }

  /** An answer the platform did not take stays pending (a restart finishes it) and is tried again
   *  after 5, 10, 20, 40 s meanwhile. */
  private retryLater(w: { row: ReplyRow; writer: ReplyWriter }, state: 'posted' | 'failed', attempt: number): void {
    if (attempt > 4 || this.stopped) return;
    setTimeout(() => {
      void w.writer.retry().then((ok) => { if (ok) this.o.channels.setReply(w.row, { state }); else this.retryLater(w, state, attempt + 1); });
    }, 5000 * 2 ** (attempt - 1)).unref();
  }

  private typing(w: { row: ReplyRow; typing?: NodeJS.Timeout; writer: ReplyWriter }): void {
    if (w.typing || w.writer.done) return;
    const adapter = this.byName.get(w.row.channel)!.adapter;
    const send = () => { adapter.typing(w.row.chat).catch(() => undefined); };
    send();
    w.typing = setInterval(send, CHANNEL_DEFAULTS.typingIntervalMs);
    w.typing.unref();
  }

  private async end(messageId: string, failure: string | undefined, only?: ReplyRow): Promise<void> {
    const all = this.writers.get(messageId) ?? [];
    const list = all.filter((w) => !only || (w.row.channel === only.channel && w.row.chat === only.chat));
    await Promise.all(list.map(async (w) => {
      if (w.writer.done) return;
      clearInterval(w.typing);
      const state = failure === undefined ? 'posted' : 'failed';
      if (await w.writer.finish(failure === undefined ? undefined : `⚠️ Sorry, no answer: ${failure}`)) this.o.channels.setReply(w.row, { state });
      else this.retryLater(w, state, 1);
    }));
    const left = all.filter((w) => !w.writer.done);
    if (left.length) this.writers.set(messageId, left); else this.writers.delete(messageId);
  }
}
