// The session: messages run strictly one at a time in arrival order, on one conversation
// history kept in memory. `close` is queued like a message (everything that arrived before it
// is answered); stop() (SIGTERM) cancels the message in flight and drops the queue.
import type { Attachments } from './attachments.js';
import { Interrupted, messageOf, RunnerError } from './errors.js';
import type { Emit, EmitMany } from './frames.js';
import { runTurns } from './loop.js';
import type { HistoryTurn, Inbound, InboundFile } from './protocol.js';
import type { ModelClient, ToolSpec, Turn, Usage } from './providers/types.js';
import { MessageSpans } from './spans.js';
import { RUNNER_ATTR } from './trace-context.js';
import type { ToolBox } from './tools/toolbox.js';

export interface SessionOptions {
  readonly client: ModelClient;
  readonly tools: ToolBox;
  readonly emit: Emit;
  /** Frames that must arrive together in one write (a message's spans with its end); default: one emit each. */
  readonly emitMany?: EmitMany;
  readonly system?: string;
  /** The group's earlier conversation (StartDoc.history), put before the first message. */
  readonly history?: readonly HistoryTurn[];
  readonly maxTurns: number;
  /** Applied to every error text that leaves the runner. */
  readonly redact: (s: string) => string;
  readonly log: (s: string) => void;
  /** A message's files into the workspace's inbox, its outbox back as `file` frames (src/agent/attachments.ts). */
  readonly attachments?: Attachments;
}

export class AgentSession {
  private readonly history: Turn[] = [];
  private readonly queue: Inbound[] = [];
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private closeQueued = false;
  private stopReason: string | undefined;

  constructor(private readonly o: SessionOptions) {
    this.history.push(...seedHistory(o.history ?? []));
  }

  /** Queues a message, or the close. Anything after a close is ignored. */
  push(m: Inbound): void {
    if (this.closeQueued) {
      if (m.type === 'message') this.o.log(`ignored message ${m.id}: it arrived after the session was closed`);
      return;
    }
    if (m.type === 'close') this.closeQueued = true;
    this.queue.push(m);
    this.wake?.();
  }

  /** Cancels the message in flight (it ends with stopReason "error") and closes right after it. */
  stop(why: string): void {
    if (this.stopReason) return;
    this.stopReason = why;
    const dropped = this.queue.filter((m) => m.type === 'message').map((m) => (m as { id: string }).id);
    if (dropped.length) this.o.log(`${why}: not starting queued messages ${dropped.join(', ')}`);
    this.queue.length = 0;
    this.closeQueued = false;
    this.push({ type: 'close' });
    this.abort.abort();
  }

  /** Processes messages until close; tools are fixed for the session from here on. */
  async run(specs: readonly ToolSpec[]): Promise<void> {
    for (;;) {
      const next = this.queue.shift() ?? (await this.next());
      if (next.type === 'close') break;
      await this.handle(next, specs);
    }
    this.o.emit({ type: 'closed' });
  }

  private next(): Promise<Inbound> {
    return new Promise((resolve) => {
      this.wake = () => {
        const m = this.queue.shift();
        if (!m) return;
        this.wake = undefined;
        resolve(m);
      };
    });
  }

  private async handle(m: { id: string; text: string; traceparent?: string; files?: readonly InboundFile[] }, specs: readonly ToolSpec[]): Promise<void> {
    const { emit } = this.o;
    emit({ type: 'start', messageId: m.id });
    const spans = new MessageSpans(m.id, m.traceparent);
    const turn = spans.start('turn');
    // the files are saved before the model runs; it reads where they are, then the words
    const attached = m.files?.length && this.o.attachments ? this.o.attachments.receive(m.files) : [];
    this.addUserText(attached.length ? [attached.join('\n'), m.text].filter(Boolean).join('\n\n') : m.text);
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let stopReason: 'end_turn' | 'max_turns' | 'error';
    try {
      stopReason = await runTurns(this.history, m.id, usage, {
        client: this.o.client, tools: this.o.tools, specs, emit, maxTurns: this.o.maxTurns, signal: this.abort.signal,
        ...(this.o.system ? { system: this.o.system } : {}), trace: { spans, turn },
      });
    } catch (e) {
      const err = e instanceof RunnerError ? e : new RunnerError('internal', `unexpected failure: ${messageOf(e)}`);
      const text = err instanceof Interrupted && this.stopReason ? `interrupted: ${this.stopReason}` : err.message;
      emit({ type: 'error', messageId: m.id, code: err.code, message: this.o.redact(text) });
      if (err.code === 'internal' && !(err instanceof Interrupted)) this.o.log(`message ${m.id}: ${(e as Error).stack ?? messageOf(e)}`);
      stopReason = 'error';
    }
    this.o.attachments?.send(m.id);
    turn.end({ [RUNNER_ATTR.stopReason]: stopReason, [RUNNER_ATTR.inputTokens]: usage.inputTokens, [RUNNER_ATTR.outputTokens]: usage.outputTokens }, stopReason === 'error');
    // the spans just before `end` (the host exports them only while the message is open), in one write
    const last = [...spans.take(), { type: 'end', messageId: m.id, stopReason, usage } as const];
    if (this.o.emitMany) this.o.emitMany(last); else for (const e of last) emit(e);
  }

  /** A user turn right after another (the last message failed, or stopped at max_turns) is merged into it. */
  private addUserText(text: string): void {
    const last = this.history[this.history.length - 1];
    if (last?.role === 'user') this.history[this.history.length - 1] = { role: 'user', parts: [...last.parts, { type: 'text', text }] };
    else this.history.push({ role: 'user', parts: [{ type: 'text', text }] });
  }
}

/**
 * The earlier conversation as turns every provider accepts: it starts with the user, roles
 * alternate (a turn after one of the same role joins it: a summary then the first user words),
 * and empty texts are left out. The first message then joins a trailing user turn the same way.
 */
export function seedHistory(history: readonly HistoryTurn[]): Turn[] {
  const turns: Turn[] = [];
  for (const h of history) {
    if (!h.text.trim() || (turns.length === 0 && h.role === 'assistant')) continue;
    const last = turns[turns.length - 1];
    if (last?.role === h.role) turns[turns.length - 1] = { role: h.role, parts: [...last.parts, { type: 'text', text: h.text }] };
    else turns.push({ role: h.role, parts: [{ type: 'text', text: h.text }] });
  }
  return turns;
}
