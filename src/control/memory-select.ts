// A group's memory as pure functions: what a finished message leaves as a turn, which turns a new
// session gets whole within the token budget, which older ones are summarized, and the request
// that summarizes them. No store, no clock, no model: src/control/memory.ts does the I/O.
import type { HistoryTurn } from '../agent/protocol.js';

/** One answered message: the user's words and the assistant's final answer. */
export interface StoredTurn { readonly seq: number; readonly user: string; readonly assistant: string }
/** A summary of every turn after the group's fresh mark up to `uptoSeq`. */
export interface StoredSummary { readonly uptoSeq: number; readonly text: string }

/** Tokens are estimated, not counted: the group's model may be any provider's, and 4 characters a token is their rough common rate. */
export const CHARS_PER_TOKEN = 4;
export const estimateTokens = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN);
export const turnTokens = (t: StoredTurn): number => estimateTokens(t.user) + estimateTokens(t.assistant);

export const SUMMARY_PREFIX = 'Summary of the earlier conversation: ';
/** The system prompt of a summary request (a scripted model server in the tests tells these requests by it). */
export const SUMMARY_SYSTEM = 'You compact a chat between a user and an AI agent into a summary the agent reads at the start of its next session.';
/** Per turn text in a summary request, and the whole request: a month of turns must not exceed the model's context. */
const SUMMARY_TURN_CHARS = 4000;
const SUMMARY_INPUT_CHARS = 200_000;

export interface Plan {
  /** The newest turns, handed over whole, oldest first. */
  readonly keep: readonly StoredTurn[];
  /** Turns older than `keep` and newer than the summary: a new summary must cover them (empty: none is made). */
  readonly overflow: readonly StoredTurn[];
  /** The summary in use now (before a new one is made), if any. */
  readonly summary: StoredSummary | undefined;
  /** The tokens a new summary may take (its request's max tokens). */
  readonly summaryTokens: number;
}

/** The newest turns whose tokens add up to at most `budget`, oldest first; stops at the first that does not fit (never a gap). */
function newestWithin(turns: readonly StoredTurn[], budget: number): StoredTurn[] {
  let used = 0;
  let i = turns.length;
  while (i > 0 && used + turnTokens(turns[i - 1]!) <= budget) used += turnTokens(turns[--i]!);
  return turns.slice(i);
}

/**
 * What a new session gets. `turns` are the group's since its fresh mark, oldest first; `summary`
 * the newest one made since then. When every turn newer than the summary fits in the budget
 * beside it, nothing is summarized. Otherwise a quarter of the budget is set aside for a new
 * summary (of the old one and the overflow) and the newest turns fill the rest.
 */
export function planHistory(turns: readonly StoredTurn[], summary: StoredSummary | undefined, budgetTokens: number): Plan {
  const pending = summary ? turns.filter((t) => t.seq > summary.uptoSeq) : [...turns];
  const summaryTokens = Math.max(50, Math.floor(budgetTokens / 4));
  const beside = budgetTokens - (summary ? estimateTokens(SUMMARY_PREFIX + summary.text) : 0);
  const all = newestWithin(pending, beside);
  if (all.length === pending.length) return { keep: all, overflow: [], summary, summaryTokens };
  const keep = newestWithin(pending, budgetTokens - summaryTokens);
  return { keep, overflow: pending.slice(0, pending.length - keep.length), summary, summaryTokens };
}

/** The runner's `history`: the summary as the first user turn, then each turn's two sides (an empty answer is left out). */
export function historyOf(summary: StoredSummary | undefined, keep: readonly StoredTurn[]): HistoryTurn[] {
  return [
    ...(summary ? [{ role: 'user' as const, text: SUMMARY_PREFIX + summary.text }] : []),
    ...keep.flatMap((t) => [{ role: 'user' as const, text: t.user }, ...(t.assistant ? [{ role: 'assistant' as const, text: t.assistant }] : [])]),
  ];
}

const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)} […]` : s);

/** The one-turn request that folds the previous summary and the overflow into a new summary of about `maxTokens`. */
export function summaryRequest(previous: StoredSummary | undefined, overflow: readonly StoredTurn[], maxTokens: number): { system: string; text: string; maxTokens: number } {
  const lines: string[] = [];
  let size = previous ? previous.text.length : 0;
  // newest first while they fit: if a month of turns is too much, the oldest are the ones left out
  for (let i = overflow.length - 1; i >= 0; i--) {
    const t = overflow[i]!;
    const entry = `User: ${clip(t.user, SUMMARY_TURN_CHARS)}\nAssistant: ${clip(t.assistant, SUMMARY_TURN_CHARS)}`;
    if (size + entry.length > SUMMARY_INPUT_CHARS && lines.length > 0) break;
    lines.unshift(entry);
    size += entry.length;
  }
  const words = Math.max(30, Math.floor((maxTokens * CHARS_PER_TOKEN) / 6));
  const text = [
    `Summarize the conversation below in at most ${words} words. Keep facts, names, numbers, decisions, open tasks and the user's preferences; leave out pleasantries. Answer with the summary only.`,
    ...(previous ? ['', '[Summary of what came before]', previous.text] : []),
    '', '[Conversation]', lines.join('\n\n'),
  ].join('\n');
  return { system: SUMMARY_SYSTEM, text, maxTokens };
}

/**
 * A message's final answer from its stored events: the text after its last tool call or result
 * (what the model said once it was done with tools); all of its text when that part is empty.
 */
export function finalAnswer(events: readonly { readonly type: string; readonly delta?: string }[]): string {
  let all = '';
  let last = '';
  for (const e of events) {
    // a retried message (after a crash) starts its answer again: the cut-off attempt is not part of it
    if (e.type === 'delivered') { all = ''; last = ''; }
    else if (e.type === 'tool_call' || e.type === 'tool_result') last = '';
    else if (e.type === 'text' && typeof e.delta === 'string') { all += e.delta; last += e.delta; }
  }
  return (last.trim() ? last : all).trim();
}
