// Memory across sessions: each group's answered messages are kept as turns (user words, final
// answer), and a new session of the group gets them as the runner's `history`, the newest whole
// within spec.memory.budgetTokens and the older ones folded into a summary made by the group's own
// model (src/control/memory-select.ts decides, memory-summarize.ts calls the model).
//
// A turn is stored when its message is `done` (the daemon's event bus), not computed from events
// when a session starts: the events stay what they are (a log that `group delete` alone removes),
// forgetting is deleting rows here, and a session start reads one small table.
import { messageOf } from '../errors.js';
import type { HistoryTurn } from '../agent/protocol.js';
import type { MemorySpec } from '../channels/schema.js';
import { redactor } from '../secrets/redact.js';
import { estimateTokens, finalAnswer, historyOf, planHistory, summaryRequest, type StoredSummary, type StoredTurn } from './memory-select.js';
import { MemoryStore, type SummaryRow, type TurnRow } from './memory-store.js';
import type { Summarizer } from './memory-summarize.js';
import type { EventRow, Store } from './store.js';

export interface MemoryDeps {
  readonly store: Store;
  readonly spec: MemorySpec;
  /** Makes a summary with the group's model; without one, turns past the budget are dropped. */
  readonly summarize?: Summarizer;
  /** Records an event of the session that is starting (the daemon's, redacted and streamed). */
  readonly record: (sessionId: string, messageId: string, type: string, data: Record<string, unknown>) => void;
  readonly say?: (line: string) => void;
}

/** What `GET /v1/groups/NAME/history` answers and `clawpod group history --json` prints. */
export interface MemoryExport {
  readonly group: string;
  readonly enabled: boolean;
  readonly budgetTokens: number;
  /** Turns up to this seq belong to conversations before the last `/new` (0: none). */
  readonly freshAfter: number;
  readonly turns: { seq: number; messageId: string; sessionId: string | null; at: string; user: string; assistant: string }[];
  readonly summaries: { uptoSeq: number; turns: number; at: string; text: string }[];
}

const asTurn = (r: TurnRow): StoredTurn => ({ seq: r.seq, user: r.user_text, assistant: r.answer });
const asSummary = (r: SummaryRow | undefined): StoredSummary | undefined => (r ? { uptoSeq: r.upto_seq, text: r.text } : undefined);
const tokensOf = (h: readonly HistoryTurn[]): number => h.reduce((n, t) => n + estimateTokens(t.text), 0);

export class Memory {
  private readonly db: MemoryStore;

  constructor(private readonly d: MemoryDeps) {
    this.db = new MemoryStore(d.store.db);
  }

  get enabled(): boolean { return this.d.spec.enabled; }

  /** The daemon's every stored event: a `done` stores its message's turn. Never throws (it runs inside the daemon's transaction). */
  onEvent(row: EventRow): void {
    if (row.type !== 'done' || !row.message_id || !this.enabled) return;
    try { this.remember(row.message_id); } catch (e) {
      this.d.say?.(`memory: could not store the turn of message ${row.message_id}: ${messageOf(e)}`);
    }
  }

  /** Stores the turn of an answered message (its words and final answer, redacted); false when there is none or it is stored already. */
  remember(messageId: string): boolean {
    const m = this.d.store.message(messageId);
    if (!m || m.status !== 'done') return false;
    const events = this.d.store.eventsForMessage(messageId).filter((e) => e.type === 'text' || e.type === 'tool_call' || e.type === 'tool_result' || e.type === 'delivered')
      .map((e) => ({ type: e.type, ...(e.type === 'text' ? { delta: (JSON.parse(e.data) as { delta?: string }).delta ?? '' } : {}) }));
    return this.db.addTurn({
      group_name: m.group_name, message_id: m.id, session_id: m.session_id,
      user_text: redactor.redact(m.text), answer: redactor.redact(finalAnswer(events)),
    });
  }

  /** Every stored turn and summary of the group, marks included (a fresh mark hides nothing here). */
  history(group: string): MemoryExport {
    return {
      group, enabled: this.enabled, budgetTokens: this.d.spec.budgetTokens, freshAfter: this.db.freshAfter(group),
      turns: this.db.turnsAfter(group, 0).map((t) => ({ seq: t.seq, messageId: t.message_id, sessionId: t.session_id, at: t.at, user: t.user_text, assistant: t.answer })),
      summaries: this.db.summaries(group).map((s) => ({ uptoSeq: s.upto_seq, turns: s.turns, at: s.at, text: s.text })),
    };
  }

  /** Deletes the group's stored turns and summaries (its events and messages stay: `group delete` removes those). */
  forget(group: string): { turns: number; summaries: number } {
    return this.db.forget(group);
  }

  /** The group's next session starts with no earlier conversation; what is stored stays in history(). */
  fresh(group: string): void {
    this.db.markFresh(group);
  }

  /**
   * The `history` of a session of `group` that starts with message `messageId`. Summarizes when
   * the turns exceed the budget; a summary that fails costs the oldest turns, never the session:
   * this promise always resolves.
   */
  async forSession(group: string, sessionId: string, messageId: string): Promise<HistoryTurn[]> {
    if (!this.enabled) return [];
    try {
      const after = this.db.freshAfter(group);
      const turns = this.db.turnsAfter(group, after).map(asTurn);
      const plan = planHistory(turns, asSummary(this.db.latestSummary(group, after)), this.d.spec.budgetTokens);
      let summary = plan.summary;
      if (plan.overflow.length) summary = await this.compact(group, sessionId, messageId, plan);
      const history = historyOf(summary, plan.keep);
      if (history.length) this.d.record(sessionId, messageId, 'memory', { turns: plan.keep.length, summary: summary !== undefined, tokens: tokensOf(history) });
      return history;
    } catch (e) {
      this.d.say?.(`memory: group ${group}'s session starts without its earlier conversation: ${messageOf(e)}`);
      return [];
    }
  }

  /** A new summary of the old one and the overflow, stored; on failure the old one (the overflow is dropped this time, tried again next time). */
  private async compact(group: string, sessionId: string, messageId: string, plan: ReturnType<typeof planHistory>): Promise<StoredSummary | undefined> {
    const uptoSeq = plan.overflow[plan.overflow.length - 1]!.seq;
    try {
      if (!this.d.summarize) throw new Error('no model to summarize with');
      const text = redactor.redact(await this.d.summarize(group, summaryRequest(plan.summary, plan.overflow, plan.summaryTokens)));
      const covered = (plan.summary ? this.db.summaries(group).find((s) => s.upto_seq === plan.summary!.uptoSeq)?.turns ?? 0 : 0) + plan.overflow.length;
      // the group's memory was forgotten while the model summarized it: nothing of it comes back
      if (!this.db.addSummary({ group_name: group, upto_seq: uptoSeq, turns: covered, text })) return undefined;
      this.d.record(sessionId, messageId, 'memory_compacted', { turns: plan.overflow.length, uptoSeq, tokens: estimateTokens(text) });
      return { uptoSeq, text };
    } catch (e) {
      this.d.record(sessionId, messageId, 'memory_compaction_failed', { message: messageOf(e), dropped: plan.overflow.length });
      return plan.summary;
    }
  }
}
