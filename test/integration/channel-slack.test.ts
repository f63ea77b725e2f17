// The Slack adapter against a scripted Slack (test/helpers/slack-server.ts): Events API hook with
// signatures, Socket Mode with acks after the router stored the message, files both ways, the Web
// API's 429 Retry-After, a revoked token. No containers; the router is a recording fake sink.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlack } from '../../src/channels/slack.js';
import type { ChannelAdapter, ChannelSink, Inbound } from '../../src/channels/types.js';
import { ClawpodError } from '../../src/errors.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

const SECRET = 'signing-secret-8f3a1c9d2e7b4a60';

interface FakeSink extends ChannelSink {
  readonly received: Inbound[];
  readonly statuses: { state: 'up' | 'down'; error?: ClawpodError }[];
  /** When each receive resolved (the router's store committed). */
  readonly stored: number[];
}

function fakeSink(delayMs = 0): FakeSink {
  const received: Inbound[] = [];
  const statuses: FakeSink['statuses'] = [];
  const stored: number[] = [];
  return {
    received, statuses, stored,
    async receive(m) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      received.push(m);
      stored.push(Date.now());
    },
    status(state, error) { statuses.push({ state, ...(error ? { error } : {}) }); },
  };
}

/** Mounts an adapter's handle() like `clawpod serve` does at /v1/channels/NAME/hook. */
async function mount(a: ChannelAdapter): Promise<{ hook: string; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((res) => { const s = serve({ fetch: (req: Request) => a.handle!(req), hostname: '127.0.0.1', port: 0 }, () => res(s)); });
  const port = (server.address() as AddressInfo).port;
  return { hook: `http://127.0.0.1:${port}/v1/channels/${a.name}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const lines: string[] = [];
const rejected: string[] = [];
let slack: SlackServer;
const stops: (() => Promise<void>)[] = [];

function adapter(o: { mode?: 'events' | 'socket'; token?: string; appToken?: string } = {}): ChannelAdapter {
  const a = createSlack({
    name: 'team', mode: o.mode ?? 'events', apiRoot: slack.apiRoot,
    token: o.token ?? slack.botToken, signingSecret: SECRET, appToken: o.appToken ?? slack.appToken,
    say: (l) => lines.push(l),
  });
  stops.push(() => a.stop());
  return a;
}

/** For a describe's beforeAll: stopped by its afterAll, not after each test. */
function longAdapter(): ChannelAdapter {
  return createSlack({ name: 'team', apiRoot: slack.apiRoot, token: slack.botToken, signingSecret: SECRET, say: (l) => lines.push(l), onRejected: (why) => rejected.push(why) });
}

/** Nothing the adapter said or threw names a credential. */
function expectNoSecret(text: string): void {
  for (const s of [SECRET, slack.botToken, slack.appToken]) expect(text).not.toContain(s);
}

beforeAll(async () => { slack = await startSlackServer(); });
afterAll(async () => { await slack.close(); expectNoSecret(lines.join('\n')); });
afterEach(async () => { for (const s of stops.splice(0)) await s(); });

describe('Slack: Events API', () => {
  let a: ChannelAdapter;
  let sink: FakeSink;
  let hook: string;
  let closeHook: () => Promise<void>;
  beforeAll(async () => {
    a = longAdapter();
    sink = fakeSink();
    await a.start(sink);
    const m = await mount(a);
    hook = m.hook;
    closeHook = m.close;
  });
  afterAll(async () => { await closeHook(); await a.stop(); });

  it('starts after auth.test, reports up, and answers url_verification with the challenge', async () => {
    expect(slack.calls.some((c) => c.method === 'auth.test' && c.status === 200)).toBe(true);
    expect(sink.statuses.at(-1)).toEqual({ state: 'up' });
    expect(a.caps).toEqual({ maxText: 40_000, canEdit: true });
    const r = await slack.postEvent(hook, { type: 'url_verification', token: 'x', challenge: 'c-123' }, { signingSecret: SECRET });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ challenge: 'c-123' });
  });

  it('hands a signed message to the sink before answering 200, the mention stripped, in its thread', async () => {
    const before = sink.received.length;
    const r = await slack.postEvent(hook, { type: 'message', channel: 'C0001', channel_type: 'channel', user: 'U0ALICE', text: `<@${slack.botUserId}> what is up? see <https://example.com/a?b=1&amp;c=2|the doc> &amp; 1 &lt; 2, <@U0BOB>`, ts: '1700000000.000100', thread_ts: '1699999999.000001' }, { signingSecret: SECRET });
    expect(r.status).toBe(200);
    expect(sink.received.slice(before)).toEqual([{ key: 'C0001/1700000000.000100', chat: 'C0001', user: 'U0ALICE', text: 'what is up? see the doc (https://example.com/a?b=1&c=2) & 1 < 2, <@U0BOB>', thread: '1699999999.000001' }]);
  });

  it('a retry and the app_mention twin of a message carry the same key (the router stores it once)', async () => {
    const before = sink.received.length;
    const ev = { channel: 'C0001', user: 'U0ALICE', text: `<@${slack.botUserId}> hi`, ts: '1700000001.000100' };
    expect((await slack.postEvent(hook, { type: 'message', ...ev }, { signingSecret: SECRET, eventId: 'Ev1' })).status).toBe(200);
    expect((await slack.postEvent(hook, { type: 'message', ...ev }, { signingSecret: SECRET, eventId: 'Ev1', retryNum: 1 })).status).toBe(200);
    expect((await slack.postEvent(hook, { type: 'app_mention', ...ev }, { signingSecret: SECRET, eventId: 'Ev2' })).status).toBe(200);
    const got = sink.received.slice(before);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((m) => m.key))).toEqual(new Set(['C0001/1700000001.000100']));
    expect(got.every((m) => m.text === 'hi' && m.thread === undefined)).toBe(true);
  });

  it('ignores its own messages, other bots, edits and deletions', async () => {
    const before = sink.received.length;
    const evs = [
      { type: 'message', channel: 'C0001', user: slack.botUserId, text: 'my answer', ts: '1700000002.000001' },
      { type: 'message', channel: 'C0001', bot_id: slack.botId, user: slack.botUserId, text: 'my answer', ts: '1700000002.000002' },
      { type: 'message', subtype: 'bot_message', channel: 'C0001', bot_id: 'B0OTHER', text: 'other bot', ts: '1700000002.000003' },
      { type: 'message', subtype: 'message_changed', channel: 'C0001', message: { user: 'U0ALICE', text: 'edited' }, ts: '1700000002.000004' },
      { type: 'message', subtype: 'message_deleted', channel: 'C0001', deleted_ts: '1700000000.000100', ts: '1700000002.000005' },
    ];
    for (const ev of evs) expect((await slack.postEvent(hook, ev, { signingSecret: SECRET })).status).toBe(200);
    expect(sink.received.length).toBe(before);
  });

  it('refuses a forged signature and a stale timestamp with 401, receiving nothing, naming no secret', async () => {
    const before = sink.received.length;
    const ev = { type: 'message', channel: 'C0001', user: 'U0MALLORY', text: 'run: rm -rf /', ts: '1700000003.000001' };
    expect((await slack.postEvent(hook, ev, { signingSecret: SECRET, forge: true })).status).toBe(401);
    expect((await slack.postEvent(hook, ev, { signingSecret: SECRET, stale: true })).status).toBe(401);
    const unsigned = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(slack.callback(ev)) });
    expect(unsigned.status).toBe(401);
    const huge = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 << 20) });
    expect(huge.status).toBe(413);
    expect(sink.received.length).toBe(before);
    expect(lines.some((l) => l.startsWith('slack team: refused a request to its hook'))).toBe(true);
    expect(rejected).toEqual([expect.stringContaining('signature mismatch'), expect.stringContaining('5 minutes'), expect.stringContaining('no X-Slack-Signature')]);
    expectNoSecret(rejected.join('\n'));
    expectNoSecret(lines.join('\n'));
  });

  it('a shared file arrives with its name, size and bytes (fetched with the bot token)', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const file = slack.addFile('data.bin', bytes);
    const before = sink.received.length;
    const r = await slack.postEvent(hook, { type: 'message', subtype: 'file_share', channel: 'C0001', user: 'U0ALICE', text: 'look', ts: '1700000004.000001', files: [file] }, { signingSecret: SECRET });
    expect(r.status).toBe(200);
    const m = sink.received[before]!;
    expect(m.text).toBe('look');
    expect(m.files?.map((f) => [f.name, f.size])).toEqual([['data.bin', bytes.length]]);
    expect((await m.files![0]!.fetch()).equals(bytes)).toBe(true);
  });

  it('sends into a thread, edits, and uploads a file (files.uploadV2: URL, bytes, complete)', async () => {
    const ref = await a.send('C0002', 'thinking… <!channel> & co', { thread: '1700000000.000100' });
    expect(ref).toMatchObject({ chat: 'C0002', thread: '1700000000.000100' });
    await a.edit(ref, 'the answer');
    const msgs = slack.messages('C0002');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ ts: ref.id, thread_ts: '1700000000.000100', text: 'the answer' });
    // Slack's markup characters are escaped: an answer cannot ping the whole channel
    expect(msgs[0]!.history).toEqual(['thinking… &lt;!channel&gt; &amp; co', 'the answer']);
    await a.typing('C0002');

    const bytes = Buffer.from('a report\n'.repeat(1000));
    await a.sendFile('C0002', 'report.txt', bytes, { thread: '1700000000.000100' });
    const up = slack.uploads().find((u) => u.name === 'report.txt');
    expect(up).toMatchObject({ shared: true, channel: 'C0002', thread_ts: '1700000000.000100' });
    expect(up!.bytes.equals(bytes)).toBe(true);
  });

  it('a 429 with Retry-After: 1 on chat.postMessage is sent again after that second, once', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const ref = await a.send('C0003', 'patience');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(slack.messages('C0003').map((m) => [m.ts, m.text])).toEqual([[ref.id, 'patience']]);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0003').map((c) => c.status)).toEqual([429, 200]);
  });

  it('another Web API error is CHANNEL_UNAVAILABLE with a hint, and the channel stays up', async () => {
    slack.failNext('chat.postMessage', { error: 'not_in_channel' });
    const e = await a.send('C0004', 'hello').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CHANNEL_UNAVAILABLE', message: expect.stringContaining('not_in_channel'), hint: expect.stringContaining('/invite') });
    expect(sink.statuses.at(-1)).toEqual({ state: 'up' });
  });
});

describe('Slack: Socket Mode', () => {
  it('receives an envelope and acknowledges it only after the sink stored the message', { timeout: 15_000 }, async () => {
    const a = adapter({ mode: 'socket' });
    const sink = fakeSink(300);
    await a.start(sink);
    expect(slack.socketConnections()).toBe(1);
    expect(sink.statuses).toEqual([{ state: 'up' }]);
    const ack = await slack.socketSend({ type: 'message', channel: 'D0001', channel_type: 'im', user: 'U0ALICE', text: 'over the socket', ts: '1700000010.000001' });
    expect(sink.received).toEqual([{ key: 'D0001/1700000010.000001', chat: 'D0001', user: 'U0ALICE', text: 'over the socket' }]);
    expect(ack.at).toBeGreaterThanOrEqual(sink.stored[0]!);
    // its own message is acknowledged too (or Slack would resend it) but not received
    await slack.socketSend({ type: 'message', channel: 'D0001', user: slack.botUserId, bot_id: slack.botId, text: 'mine', ts: '1700000010.000002' });
    expect(sink.received).toHaveLength(1);
    await a.stop();
    await slack.waitFor(() => slack.socketConnections() === 0);
  });

  it('reconnects when Slack recycles the connection; a revoked app token then reports down', { timeout: 15_000 }, async () => {
    const a = adapter({ mode: 'socket' });
    const sink = fakeSink();
    await a.start(sink);
    const opens = () => slack.calls.filter((c) => c.method === 'apps.connections.open').length;
    const before = opens();
    slack.refreshSockets();
    await slack.waitFor(() => opens() > before && slack.socketConnections() === 1);
    await slack.socketSend({ type: 'message', channel: 'D0001', user: 'U0ALICE', text: 'after the refresh', ts: '1700000011.000001' });
    expect(sink.received.map((m) => m.text)).toEqual(['after the refresh']);
    expect(sink.statuses.map((s) => s.state)).toEqual(['up']);

    slack.revokeApp();
    slack.refreshSockets();
    await slack.waitFor(() => sink.statuses.length > 1);
    expect(sink.statuses.map((s) => [s.state, s.error?.code])).toEqual([['up', undefined], ['down', 'CHANNEL_AUTH']]);
    expect(sink.statuses[1]!.error!.hint).toContain('app-level token');
    expectNoSecret(JSON.stringify(sink.statuses));
  });

  it('a refused app-level token rejects start with CHANNEL_AUTH', async () => {
    const a = adapter({ mode: 'socket', appToken: 'xapp-1-A1-not-the-right-one-0000' });
    const e = await a.start(fakeSink()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClawpodError);
    expect(e).toMatchObject({ code: 'CHANNEL_AUTH', hint: expect.stringContaining('app-level token') });
    expect((e as Error).message).toContain('"team"');
    expectNoSecret(JSON.stringify(e) + String(e));
  });
});

describe('Slack: a revoked token', () => {
  it('while running: the next call is CHANNEL_AUTH and the channel reports down; at start: rejects CHANNEL_AUTH', async () => {
    const a = adapter();
    const sink = fakeSink();
    await a.start(sink);
    const m = await mount(a);
    stops.push(m.close);
    slack.revoke();
    const e = await a.send('C0001', 'hello?').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CHANNEL_AUTH', message: expect.stringContaining('"team"'), hint: expect.stringContaining('reinstall') });
    expect(sink.statuses.map((s) => [s.state, s.error?.code])).toEqual([['up', undefined], ['down', 'CHANNEL_AUTH']]);
    // Slack's own notice of the revocation does not report it twice
    expect((await slack.postEvent(m.hook, { type: 'tokens_revoked', tokens: { bot: [slack.botUserId] } }, { signingSecret: SECRET })).status).toBe(200);
    expect(sink.statuses).toHaveLength(2);
    expectNoSecret(JSON.stringify(e) + String(e));

    const again = await adapter().start(fakeSink()).catch((x: unknown) => x);
    expect(again).toBeInstanceOf(ClawpodError);
    expect(again).toMatchObject({ code: 'CHANNEL_AUTH', hint: expect.stringContaining('bot token') });
    expectNoSecret(JSON.stringify(again) + String(again));
  });

  it('Slack\'s tokens_revoked event alone reports the channel down', async () => {
    const fresh = await startSlackServer();
    try {
      const a = createSlack({ name: 'other', apiRoot: fresh.apiRoot, token: fresh.botToken, signingSecret: SECRET, say: (l) => lines.push(l) });
      const sink = fakeSink();
      await a.start(sink);
      const m = await mount(a);
      stops.push(m.close, () => a.stop());
      expect((await fresh.postEvent(m.hook, { type: 'tokens_revoked', tokens: { oauth: ['U0ALICE'], bot: [] } }, { signingSecret: SECRET })).status).toBe(200);
      expect(sink.statuses).toHaveLength(1);
      expect((await fresh.postEvent(m.hook, { type: 'tokens_revoked', tokens: { bot: [fresh.botUserId] } }, { signingSecret: SECRET })).status).toBe(200);
      expect(sink.statuses.map((s) => [s.state, s.error?.code])).toEqual([['up', undefined], ['down', 'CHANNEL_AUTH']]);
    } finally {
      await fresh.close();
    }
  });
});
