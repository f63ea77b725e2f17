// Memory across sessions without containers: which turns fit the budget, what is summarized, the
// history the runner gets and how it seeds its conversation, and the Memory class on a real SQLite
// store (turns stored at `done`, summaries reused, fresh marks, forget, a failing summary).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStartDoc } from '../../src/agent/start-doc.js';
import { seedHistory } from '../../src/agent/session.js';
import { Memory } from '../../src/control/memory.js';
import {
  estimateTokens, finalAnswer, historyOf, planHistory, summaryRequest, SUMMARY_PREFIX, SUMMARY_SYSTEM, type StoredTurn,
} from '../../src/control/memory-select.js';
import { Store } from '../../src/control/store.js';
import { redactor } from '../../src/secrets/redact.js';

/** A turn of about `tokens` estimated tokens (half each side). */
const turn = (seq: number, tokens = 10): StoredTurn => ({ seq, user: `u${seq}`.padEnd(tokens * 2, '.'), assistant: `a${seq}`.padEnd(tokens * 2, '.') });
const seqs = (ts: readonly StoredTurn[]) => ts.map((t) => t.seq);

describe('planHistory: the newest turns whole within the budget, the rest summarized', () => {
  it('hands everything over when it fits, and summarizes nothing', () => {
    const p = planHistory([turn(1), turn(2), turn(3)], undefined, 100);
    expect(seqs(p.keep)).toEqual([1, 2, 3]);
    expect(p.overflow).toEqual([]);
  });

  it('past the budget: a quarter is set aside for the summary, the newest fill the rest, the oldest overflow', () => {
    // 30 turns of 10 tokens, budget 200: 150 left for turns → the newest 15
    const turns = Array.from({ length: 30 }, (_, i) => turn(i + 1));
    const p = planHistory(turns, undefined, 200);
    expect(p.summaryTokens).toBe(50);
    expect(seqs(p.keep)).toEqual(seqs(turns.slice(15)));
    expect(seqs(p.overflow)).toEqual(seqs(turns.slice(0, 15)));
  });

  it('a summary covers its turns: only newer ones count, and it takes its room beside them', () => {
    // turns of 40 tokens; the summary takes 60 of the 200, so 3 newer turns fit beside it
    const turns = Array.from({ length: 5 }, (_, i) => turn(i + 1, 40));
    const summary = { uptoSeq: 2, text: 'x'.repeat(200) };
    const p = planHistory(turns, summary, 200);
    expect(seqs(p.keep)).toEqual([3, 4, 5]);
    expect(p.overflow).toEqual([]);
    expect(p.summary).toBe(summary);
    // one more does not fit: 150 are left beside a new summary, the oldest newer turn is folded into it
    const q = planHistory([...turns, turn(6, 40)], summary, 200);
    expect(seqs(q.overflow)).toEqual([3]);
    expect(seqs(q.keep)).toEqual([4, 5, 6]);
  });

  it('never leaves a gap: a newest turn larger than the budget goes to the summary with everything older', () => {
    const p = planHistory([turn(1), turn(2, 500)], undefined, 100);
    expect(p.keep).toEqual([]);
    expect(seqs(p.overflow)).toEqual([1, 2]);
  });

  it('estimates 4 characters a token', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });
});

describe('what the runner gets', () => {
  it('historyOf: the summary as the first user turn, then each turn\'s two sides; an empty answer left out', () => {
    expect(historyOf({ uptoSeq: 3, text: 'they like tea' }, [{ seq: 4, user: 'hi', assistant: '' }, { seq: 5, user: 'and?', assistant: 'yes' }])).toEqual([
      { role: 'user', text: `${SUMMARY_PREFIX}they like tea` },
      { role: 'user', text: 'hi' },
      { role: 'user', text: 'and?' },
      { role: 'assistant', text: 'yes' },
    ]);
  });

  it('seedHistory: starts with the user, alternates (same roles joined), drops empty text', () => {
    const turns = seedHistory([
      { role: 'assistant', text: 'orphan' }, { role: 'user', text: 'summary' }, { role: 'user', text: 'q1' },
      { role: 'assistant', text: '' }, { role: 'assistant', text: 'a1' }, { role: 'user', text: ' ' },
    ]);
    expect(turns).toEqual([
      { role: 'user', parts: [{ type: 'text', text: 'summary' }, { type: 'text', text: 'q1' }] },
      { role: 'assistant', parts: [{ type: 'text', text: 'a1' }] },
    ]);
  });

  it('the StartDoc\'s history is checked with the rest: a bad entry is named by its index', () => {
    const base = { type: 'start', protocol: 1, sessionId: 's', nonce: 'n', message: { id: 'm', text: 'hi' }, model: { provider: 'openai', model: 'x' }, workspace: '/w', input: { mode: 'stdin' } };
    expect(parseStartDoc(JSON.stringify({ ...base, history: [{ role: 'user', text: 'a' }] })).history).toEqual([{ role: 'user', text: 'a' }]);
    expect(() => parseStartDoc(JSON.stringify({ ...base, history: [{ role: 'user', text: 'a' }, { role: 'system', text: 'b' }] }))).toThrow(/history\[1\]: found .*"system"/);
    expect(() => parseStartDoc(JSON.stringify({ ...base, history: 'x' }))).toThrow(/history: found "x"/);
  });

  it('finalAnswer: the text after the last tool call, or all of it when that is empty', () => {
    expect(finalAnswer([{ type: 'text', delta: 'let me look' }, { type: 'tool_call' }, { type: 'tool_result' }, { type: 'text', delta: 'it is ' }, { type: 'text', delta: '42' }])).toBe('it is 42');
    expect(finalAnswer([{ type: 'text', delta: 'only this' }, { type: 'tool_call' }, { type: 'tool_result' }])).toBe('only this');
    // a retried message: the cut-off first attempt is not part of its answer
    expect(finalAnswer([{ type: 'delivered' }, { type: 'text', delta: 'The answer is fo' }, { type: 'delivered' }, { type: 'text', delta: 'The answer is 42.' }])).toBe('The answer is 42.');
  });

  it('summaryRequest: the previous summary and the overflow, newest kept when too long', () => {
    const r = summaryRequest({ uptoSeq: 1, text: 'earlier: a cat named Rex' }, [turn(2), turn(3)], 100);
    expect(r.system).toBe(SUMMARY_SYSTEM);
    expect(r.maxTokens).toBe(100);
    expect(r.text).toContain('earlier: a cat named Rex');
    expect(r.text.indexOf('User: u2')).toBeLessThan(r.text.indexOf('User: u3'));
    const long = summaryRequest(undefined, Array.from({ length: 100 }, (_, i) => ({ seq: i, user: `q${i} ${'x'.repeat(5000)}`, assistant: 'y'.repeat(5000) })), 100);
    expect(long.text.length).toBeLessThan(210_000);
    expect(long.text).toContain('User: q99');
    expect(long.text).not.toContain('User: q0 ');
  });
});

describe('Memory on a real store', () => {
  let dir: string;
  let store: Store;
  let events: { type: string; data: Record<string, unknown> }[];
  let asks: string[];
  let answer: () => Promise<string>;

  const memory = (budgetTokens = 4000) => new Memory({
    store, spec: { enabled: true, budgetTokens },
    record: (_s, _m, type, data) => events.push({ type, data }),
    summarize: async (_g, ask) => { asks.push(ask.text); return answer(); },
  });

  /** A message of group g answered `answer`, as the daemon leaves it: events, then done. */
  function answered(m: Memory, g: string, id: string, text: string, reply: string): void {
    store.insertMessage({ id, group_name: g, text });
    store.addEvent({ session_id: 's1', message_id: id, type: 'text', data: { delta: reply } });
    store.setMessage(id, { status: 'done', session_id: 's1' });
    m.onEvent(store.addEvent({ session_id: 's1', message_id: id, type: 'done', data: {} }));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clawpod-memory-'));
    store = new Store(join(dir, 'state.db'));
    store.upsertGroup('g', 'm', null);
    store.upsertGroup('h', 'm', null);
    events = [];
    asks = [];
    answer = () => Promise.resolve('the user is Ada; her cat is Rex');
  });
  afterEach(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('stores a turn at done (once, redacted), hands it to the next session, and keeps groups apart', async () => {
    const m = memory();
    redactor.add('test key', 'sk-memory-secret-123456');
    answered(m, 'g', 'm1', 'my key is sk-memory-secret-123456', 'noted');
    m.onEvent(store.addEvent({ session_id: 's1', message_id: 'm1', type: 'done', data: {} }));
    const h = m.history('g');
    expect(h.turns).toHaveLength(1);
    expect(h.turns[0]!.user).not.toContain('sk-memory-secret-123456');
    expect(await m.forSession('g', 's2', 'm2')).toEqual([{ role: 'user', text: h.turns[0]!.user }, { role: 'assistant', text: 'noted' }]);
    expect(events).toEqual([{ type: 'memory', data: { turns: 1, summary: false, tokens: expect.any(Number) } }]);
    expect(await m.forSession('h', 's3', 'm3')).toEqual([]);
  });

  it('past the budget: summarizes once, stores the summary and reuses it; the next overflow folds it in', async () => {
    const m = memory(200);
    for (let i = 1; i <= 8; i++) answered(m, 'g', `m${i}`, `question ${i} ${'q'.repeat(200)}`, `answer ${i} ${'a'.repeat(200)}`);
    const first = await m.forSession('g', 's2', 'x');
    expect(asks).toHaveLength(1);
    expect(first[0]).toEqual({ role: 'user', text: `${SUMMARY_PREFIX}the user is Ada; her cat is Rex` });
    expect(first.at(-1)!.text).toMatch(/^answer 8/);
    expect(events.map((e) => e.type)).toEqual(['memory_compacted', 'memory']);
    expect(m.history('g').summaries).toMatchObject([{ turns: expect.any(Number), text: 'the user is Ada; her cat is Rex' }]);
    // the same turns again: the stored summary is used, the model is not asked
    expect(await m.forSession('g', 's3', 'y')).toEqual(first);
    expect(asks).toHaveLength(1);
    for (let i = 9; i <= 12; i++) answered(m, 'g', `m${i}`, `question ${i} ${'q'.repeat(200)}`, `answer ${i} ${'a'.repeat(200)}`);
    answer = () => Promise.resolve('Ada, Rex, and more');
    const second = await m.forSession('g', 's4', 'z');
    expect(asks).toHaveLength(2);
    expect(asks[1]).toContain('the user is Ada; her cat is Rex');
    expect(second[0]!.text).toBe(`${SUMMARY_PREFIX}Ada, Rex, and more`);
    expect(m.history('g').summaries).toHaveLength(2);
  });

  it('forget during a summary call wins: the summary of forgotten turns is not stored or handed over', async () => {
    const m = memory(200);
    for (let i = 1; i <= 8; i++) answered(m, 'g', `m${i}`, `secret fact ${i} ${'q'.repeat(200)}`, `answer ${i} ${'a'.repeat(200)}`);
    let release: (v: string) => void = () => undefined;
    answer = () => new Promise<string>((r) => { release = r; });
    const pending = m.forSession('g', 's2', 'x');
    await new Promise((r) => setTimeout(r, 10));
    m.forget('g');
    release('SUMMARY OF secret facts');
    const h = await pending;
    expect(JSON.stringify(h)).not.toContain('SUMMARY OF secret facts');
    expect(m.history('g').summaries).toEqual([]);
    expect(JSON.stringify(await m.forSession('g', 's3', 'y'))).not.toContain('secret fact');
  });

  it('a failing summary drops the oldest turns, records why, and never fails the start', async () => {
    const m = memory(200);
    for (let i = 1; i <= 8; i++) answered(m, 'g', `m${i}`, `question ${i} ${'q'.repeat(200)}`, `answer ${i} ${'a'.repeat(200)}`);
    answer = () => Promise.reject(new Error('budget exhausted'));
    const h = await m.forSession('g', 's2', 'x');
    expect(h.length).toBeGreaterThan(0);
    expect(h[0]!.text).not.toContain(SUMMARY_PREFIX);
    expect(h.reduce((n, t) => n + estimateTokens(t.text), 0)).toBeLessThanOrEqual(200);
    expect(events[0]).toEqual({ type: 'memory_compaction_failed', data: { message: 'budget exhausted', dropped: expect.any(Number) } });
    expect(m.history('g').summaries).toEqual([]);
  });

  it('fresh: the next session starts empty, history still shows the turns; forget deletes them; deleting the group forgets', async () => {
    const m = memory();
    answered(m, 'g', 'm1', 'remember 7', 'ok');
    m.fresh('g');
    expect(await m.forSession('g', 's2', 'x')).toEqual([]);
    expect(m.history('g')).toMatchObject({ freshAfter: 1, turns: [{ seq: 1, user: 'remember 7' }] });
    answered(m, 'g', 'm2', 'remember 8', 'ok');
    expect((await m.forSession('g', 's3', 'y')).map((t) => t.text)).toEqual(['remember 8', 'ok']);
    expect(m.forget('g')).toEqual({ turns: 2, summaries: 0 });
    expect(await m.forSession('g', 's4', 'z')).toEqual([]);
    answered(m, 'g', 'm3', 'again', 'ok');
    store.deleteGroup('g');
    store.upsertGroup('g', 'm', null);
    expect(m.history('g').turns).toEqual([]);
  });

  it('turned off: nothing is stored or handed over', async () => {
    const m = new Memory({ store, spec: { enabled: false, budgetTokens: 4000 }, record: () => undefined });
    answered(m, 'g', 'm1', 'hello', 'hi');
    expect(m.history('g').turns).toEqual([]);
    expect(await m.forSession('g', 's', 'x')).toEqual([]);
  });
});
