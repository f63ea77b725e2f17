import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/channels/commands.js';
import { ReplyWriter } from '../../src/channels/reply.js';
import { ChatRateLimit } from '../../src/channels/rate.js';
import { splitText } from '../../src/channels/split.js';
import { signWebhook, webhookProblem } from '../../src/channels/webhook.js';
import { ControlPlaneSchema, loadControlPlane } from '../../src/control/config.js';

describe('splitText', () => {
  it('keeps short text whole and splits long text at paragraph, line or space breaks within the limit', () => {
    expect(splitText('hello', 10)).toEqual(['hello']);
    expect(splitText('', 10)).toEqual(['']);
    const para = `${'a'.repeat(30)}\n\n${'b'.repeat(30)}`;
    expect(splitText(para, 40)).toEqual(['a'.repeat(30), 'b'.repeat(30)]);
    const words = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    for (const chunk of splitText(words, 20)) expect(chunk.length).toBeLessThanOrEqual(20);
    expect(splitText(words, 20).join(' ').replace(/\s+/g, ' ')).toBe(words);
  });
  it('cuts a word longer than the limit hard, never inside a surrogate pair', () => {
    expect(splitText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    const emoji = 'a'.repeat(9) + '😀' + 'b';
    const parts = splitText(emoji, 10);
    expect(parts.join('')).toBe(emoji);
    for (const p of parts) expect(p).not.toMatch(/[\ud800-\udbff]$/);
  });
});

describe('ChatRateLimit', () => {
  it('allows the limit per window per chat, tells once per window, and frees up as the window moves', () => {
    let t = 0;
    const rl = new ChatRateLimit(2, 1000, () => t);
    expect([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')]).toEqual(['ok', 'ok', 'refuse-and-tell', 'refuse']);
    expect(rl.take('b')).toBe('ok');
    expect(rl.retryInS('a')).toBe(1);
    t = 1001;
    expect(rl.take('a')).toBe('ok');
  });
});

describe('parseCommand', () => {
  it('knows the chat commands and an argument; another bot\'s command and other text are messages', () => {
    expect(parseCommand('/new')).toEqual({ kind: 'new' });
    expect(parseCommand(' /status ')).toEqual({ kind: 'status' });
    // addressed to another bot in the same chat (the Telegram adapter strips ours)
    expect(parseCommand('/new@SomeOtherBot')).toBeUndefined();
    expect(parseCommand('/model gpt')).toEqual({ kind: 'model', name: 'gpt' });
    expect(parseCommand('/model')).toEqual({ kind: 'model', name: undefined });
    expect(parseCommand('/start')).toEqual({ kind: 'help' });
    expect(parseCommand('/unknown thing')).toBeUndefined();
    expect(parseCommand('please /stop')).toBeUndefined();
  });
});

describe('webhook signatures', () => {
  const now = 1_800_000_000;
  it('accepts its own signature and refuses another secret, another body, a stale or missing timestamp', () => {
    const sig = signWebhook('k', String(now), '{"a":1}');
    expect(webhookProblem('k', String(now), sig, '{"a":1}', now)).toBeUndefined();
    expect(webhookProblem('other', String(now), sig, '{"a":1}', now)).toMatch(/does not match/);
    expect(webhookProblem('k', String(now), sig, '{"a":2}', now)).toMatch(/does not match/);
    expect(webhookProblem('k', String(now - 301), signWebhook('k', String(now - 301), 'x'), 'x', now)).toMatch(/300 s/);
    expect(webhookProblem('k', null, sig, 'x', now)).toMatch(/Timestamp is missing/);
    expect(webhookProblem('k', String(now), null, 'x', now)).toMatch(/Signature is missing/);
  });
});

describe('spec.channels and bindings', () => {
  const base = { apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane' };
  const models = { m: { provider: 'openai', model: 'x' } };
  const issues = (spec: object) => {
    const r = ControlPlaneSchema.safeParse({ ...base, spec: { models, groups: [{ name: 'g', model: 'm' }], ...spec } });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('names what a channel lacks, a mode that does not fit, and bindings to unknown channels or groups', () => {
    expect(issues({ channels: [{ name: 'tg', kind: 'telegram' }] })[0]).toMatch(/^spec\.channels\.0\.token: expected token \(the bot token from @BotFather\)/);
    expect(issues({ channels: [{ name: 's', kind: 'slack', token: { secretRef: { name: 'T' } }, mode: 'socket' }] })[0]).toMatch(/appToken/);
    expect(issues({ channels: [{ name: 'w', kind: 'webhook', signingSecret: { secretRef: { name: 'S' } }, mode: 'polling' }] })[0]).toMatch(/expected no mode/);
    expect(issues({ channels: [{ name: 'w', kind: 'webhook', signingSecret: { secretRef: { name: 'S' } } }], bindings: [{ channel: 'x', chat: '1', group: 'g' }, { channel: 'w', chat: '1', group: 'nope' }] }))
      .toEqual(['spec.bindings.0.channel: expected one of the names under spec.channels (w)', 'spec.bindings.1.group: expected one of the groups under spec.groups (g)']);
    expect(issues({ schedules: [{ group: 'g', cron: 'every day', prompt: 'p' }] })[0]).toMatch(/^spec\.schedules\.0\.cron: "every day" is not a cron expression/);
    expect(issues({ schedules: [{ group: 'g', cron: '0 9 * * *', tz: 'Mars/Olympus', prompt: 'p' }] })[0]).toMatch(/tz: "Mars\/Olympus" is not a time zone/);
  });
});

describe('ReplyWriter', () => {
  function fakeAdapter(caps: { maxText: number; canEdit: boolean }) {
    const msgs: { id: string; history: string[] }[] = [];
    const adapter = {
      name: 'fake', kind: 'webhook' as const, caps,
      start: async () => undefined, stop: async () => undefined, typing: async () => undefined, sendFile: async () => undefined,
      send: async (chat: string, text: string) => { msgs.push({ id: String(msgs.length + 1), history: [text] }); return { chat, id: String(msgs.length) }; },
      edit: async (ref: { id: string }, text: string) => { msgs[Number(ref.id) - 1]!.history.push(text); },
    };
    return { adapter, msgs };
  }

  it('streams into one message by throttled edits, splits past the limit, keeps what was said before a failure', async () => {
    const { adapter, msgs } = fakeAdapter({ maxText: 20, canEdit: true });
    const persisted: unknown[] = [];
    const w = new ReplyWriter(adapter, { chat: 'c' }, [], (r) => persisted.push(r), () => undefined, 50);
    w.hold('starting…');
    await new Promise((r) => setTimeout(r, 70));
    w.append('hello ');
    w.append('world');
    await new Promise((r) => setTimeout(r, 70));
    w.append(' and a lot more words here');
    await w.finish('⚠️ stopped');
    expect(msgs[0]!.history[0]).toBe('starting…');
    expect(msgs[0]!.history).toContain('hello world');
    expect(msgs.map((m) => m.history.at(-1)).join(' ').replace(/\s+/g, ' ')).toBe('hello world and a lot more words here ⚠️ stopped');
    for (const m of msgs) for (const t of m.history) expect(t.length).toBeLessThanOrEqual(20);
    expect(persisted.length).toBe(msgs.length);
    expect(w.done).toBe(true);
  });

  it('a platform without edits gets the answer once, complete; a retry starts the text again', async () => {
    const { adapter, msgs } = fakeAdapter({ maxText: 1000, canEdit: false });
    const w = new ReplyWriter(adapter, { chat: 'c' }, [], () => undefined, () => undefined, 10);
    w.append('first attempt, cut off');
    w.restart();
    w.append('the whole answer');
    await new Promise((r) => setTimeout(r, 30));
    expect(msgs).toHaveLength(0);
    await w.finish();
    expect(msgs.map((m) => m.history)).toEqual([['the whole answer']]);
  });
});

describe('examples/channels.yaml', () => {
  it('is a valid ControlPlane file', () => {
    const { config } = loadControlPlane(new URL('../../examples/channels.yaml', import.meta.url).pathname);
    expect(config.spec.channels.map((c) => c.name)).toEqual(['tg', 'work']);
    expect(config.spec.bindings).toHaveLength(2);
    expect(config.spec.schedules[0]?.tz).toBe('Europe/Berlin');
  });
});

describe('ReplyWriter when the platform fails', () => {
  it('finish reports the failure; retry sends only what the chat lacks', async () => {
    let fail = true;
    const sent: string[] = [];
    const adapter = {
      name: 'flaky', kind: 'webhook' as const, caps: { maxText: 100, canEdit: true },
      start: async () => undefined, stop: async () => undefined, typing: async () => undefined, sendFile: async () => undefined,
      send: async (chat: string, text: string) => { if (fail) throw new Error('network down'); sent.push(text); return { chat, id: String(sent.length) }; },
      edit: async () => undefined,
    };
    const w = new ReplyWriter(adapter, { chat: 'c' }, [], () => undefined, () => undefined, 10);
    w.append('the answer');
    expect(await w.finish()).toBe(false);
    expect(sent).toEqual([]);
    fail = false;
    expect(await w.retry()).toBe(true);
    expect(await w.retry()).toBe(true);
    expect(sent).toEqual(['the answer']);
  });
});
