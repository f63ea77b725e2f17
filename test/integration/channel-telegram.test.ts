// The Telegram adapter against a scripted Bot API server speaking Telegram's wire format: polling
// and webhook delivery, acknowledgement only after the sink stored a message (redelivery after a
// crash), sending/editing/files, 429 retry_after, a revoked token. No containers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClawpodError } from '../../src/errors.js';
import { createTelegram } from '../../src/channels/telegram.js';
import type { AdapterInit, ChannelAdapter, ChannelSink, Inbound } from '../../src/channels/types.js';
import { startTelegramServer, type TelegramServer } from '../helpers/telegram-server.js';

interface FakeSink extends ChannelSink {
  readonly got: Inbound[];
  readonly statuses: { state: 'up' | 'down'; error?: ClawpodError }[];
}

/** Stores what it receives; `behave` may make a delivery hang or fail (a crash before the ack). */
function fakeSink(behave?: (m: Inbound, n: number) => Promise<void> | void): FakeSink {
  const got: Inbound[] = [];
  const statuses: FakeSink['statuses'] = [];
  return {
    got, statuses,
    async receive(m) { const n = got.push(m); await behave?.(m, n); },
    status(state, error) { statuses.push({ state, error }); },
  };
}

let tg: TelegramServer;
const adapters: ChannelAdapter[] = [];
const said: string[] = [];
const CHAT = 1234567;
const GROUP = -1001987654321;

function adapter(o: Partial<AdapterInit> = {}): ChannelAdapter {
  const a = createTelegram({ name: 'tg', token: tg.token, apiRoot: tg.url, say: (l) => said.push(l), ...o });
  adapters.push(a);
  return a;
}

const noToken = (s: string) => expect(s).not.toContain(tg.token.split(':')[1]!);

beforeEach(async () => { tg = await startTelegramServer(); said.length = 0; });
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await tg.close();
  for (const l of said) noToken(l);
});

describe('telegram polling', () => {
  it('receives text, a document and a photo; strips its own @name from group commands; ignores edits', async () => {
    const sink = fakeSink();
    const a = adapter();
    await a.start(sink);
    expect(a.caps).toEqual({ maxText: 4096, canEdit: true });
    expect(sink.statuses.at(-1)?.state).toBe('up');

    const k1 = tg.userSends(CHAT, 'hello there');
    const doc = Buffer.from([0, 1, 2, 250, 255, 13, 10, 45, 45, ...Buffer.from('--boundary-ish\r\n')]);
    const k2 = tg.userSends(CHAT, 'see attached', { document: { name: 'report.bin', bytes: doc } });
    const photo = Buffer.alloc(3000, 7);
    tg.userSends(GROUP, '', { photo: { bytes: photo }, chatType: 'supergroup' });
    tg.userEdits(CHAT, 1, 'hello there (edited)');
    tg.userSends(GROUP, '/new@clawpod_test_bot now', { chatType: 'supergroup', username: '' });
    tg.userSends(GROUP, '/new@other_bot', { chatType: 'supergroup' });
    await tg.waitFor(() => sink.got.length >= 5);

    const [text, withDoc, withPhoto, cmd, other] = sink.got;
    expect(text).toMatchObject({ key: String(k1), chat: String(CHAT), user: 'ada', text: 'hello there' });
    expect(text!.files).toBeUndefined();
    expect(withDoc).toMatchObject({ key: String(k2), text: 'see attached' });
    expect(withDoc!.files).toHaveLength(1);
    expect(withDoc!.files![0]).toMatchObject({ name: 'report.bin', size: doc.length });
    expect(Buffer.compare(await withDoc!.files![0]!.fetch(), doc)).toBe(0);
    expect(withPhoto!.chat).toBe(String(GROUP));
    expect(withPhoto!.files![0]!.name).toMatch(/^photo-.+\.jpg$/);
    expect(withPhoto!.files![0]!.size).toBe(photo.length); // the largest size, not the thumbnail
    expect(Buffer.compare(await withPhoto!.files![0]!.fetch(), photo)).toBe(0);
    expect(cmd).toMatchObject({ text: '/new now', user: '4242' });
    expect(other!.text).toBe('/new@other_bot');
    expect(sink.got.some((m) => m.text.includes('edited'))).toBe(false);
    // each getUpdates after the first confirms what came before (the edit too, skipped not lost)
    await tg.waitFor(() => tg.pending() === 0);
  });

  it('does not confirm an update the sink has not stored: after a crash (stop mid-receive) and a restart it comes again', async () => {
    const hung = fakeSink(() => new Promise<void>(() => {})); // never stores: the process "dies" here
    const a = adapter();
    await a.start(hung);
    const key = tg.userSends(CHAT, 'do not lose me');
    const after = tg.userSends(CHAT, 'me neither');
    await tg.waitFor(() => hung.got.length === 1);
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(1000); // stop does not wait for the hung receive or a long poll
    expect(tg.pending()).toBe(2);

    const sink = fakeSink();
    await adapter().start(sink);
    await tg.waitFor(() => sink.got.length === 2);
    expect(sink.got.map((m) => m.key)).toEqual([String(key), String(after)]);
    await tg.waitFor(() => tg.pending() === 0);
  });

  it('a sink that fails gets the same update again, nothing lost, nothing skipped', async () => {
    const sink = fakeSink((_m, n) => { if (n === 1) throw new Error('disk full'); });
    await adapter().start(sink);
    const k1 = tg.userSends(CHAT, 'first');
    const k2 = tg.userSends(CHAT, 'second');
    await tg.waitFor(() => sink.got.length === 3, 8000);
    expect(sink.got.map((m) => m.key)).toEqual([String(k1), String(k1), String(k2)]);
    expect(said.join('\n')).toContain('disk full');
  });

  it('a 5xx from getUpdates: down, backoff, up again, and the update still arrives', async () => {
    const sink = fakeSink();
    tg.failNext('getUpdates', { code: 502 });
    await adapter().start(sink);
    await tg.waitFor(() => sink.statuses.some((s) => s.state === 'down'));
    const down = sink.statuses.find((s) => s.state === 'down')!;
    expect(down.error?.code).toBe('CHANNEL_UNAVAILABLE');
    tg.userSends(CHAT, 'after the outage');
    await tg.waitFor(() => sink.got.length === 1, 5000);
    expect(sink.statuses.at(-1)!.state).toBe('up');
  });

  it('a message sent while the long poll waits is received at once, 50 times in a row (not at the 30 s poll timeout)', async () => {
    const sink = fakeSink();
    await adapter().start(sink);
    let last = tg.userSends(CHAT, 'first');
    await tg.waitFor(() => sink.got.length === 1);
    for (let i = 0; i < 50; i++) {
      // the getUpdates that confirmed the previous update is the one now waiting on the server
      await tg.waitFor(() => tg.calls.some((c) => c.method === 'getUpdates' && Number(c.params.offset) === last + 1));
      const t0 = Date.now();
      last = tg.userSends(CHAT, `message ${i}`);
      await tg.waitFor(() => sink.got.length === i + 2, 2000);
      expect(Date.now() - t0).toBeLessThan(2000);
    }
    expect(sink.got.map((m) => m.text).at(-1)).toBe('message 49');
  });
});

describe('telegram sending', () => {
  it('send, edit (the same text twice is no error), typing and sendFile reach Telegram', async () => {
    const a = adapter();
    await a.start(fakeSink());
    tg.userSends(CHAT, 'hi');
    const ref = await a.send(String(CHAT), 'thinking…');
    expect(ref).toEqual({ chat: String(CHAT), id: expect.stringMatching(/^\d+$/) as string });
    await a.edit(ref, 'the answer is 42');
    await a.edit(ref, 'the answer is 42'); // Telegram: 400 message is not modified
    await a.typing(String(CHAT));
    const bytes = Buffer.concat([Buffer.from('%PDF-1.4\r\n'), Buffer.alloc(2048, 0xfe)]);
    await a.sendFile(String(CHAT), 'answer.pdf', bytes);

    const sent = tg.messages(CHAT);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({ message_id: Number(ref.id), text: 'the answer is 42', history: ['thinking…', 'the answer is 42'] });
    expect(sent[1]!.document!.name).toBe('answer.pdf');
    expect(Buffer.compare(sent[1]!.document!.bytes, bytes)).toBe(0);
    expect(tg.calls.filter((c) => c.method === 'sendChatAction').map((c) => c.params.action)).toEqual(['typing']);
  });

  it('429 with retry_after=1 on sendMessage: sent after at least a second, exactly once', async () => {
    const a = adapter();
    await a.start(fakeSink());
    tg.userSends(CHAT, 'hi');
    tg.failNext('sendMessage', { code: 429, retryAfter: 1 });
    const t0 = Date.now();
    await a.send(String(CHAT), 'patience');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(tg.messages(CHAT).map((m) => m.text)).toEqual(['patience']);
    expect(tg.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(2);
  });

  it('a chat the bot is not in: CHANNEL_UNAVAILABLE naming the channel and Telegram\'s reason', async () => {
    const a = adapter();
    await a.start(fakeSink());
    const e = await a.send('777', 'anyone?').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClawpodError);
    expect((e as ClawpodError).code).toBe('CHANNEL_UNAVAILABLE');
    expect((e as ClawpodError).message).toMatch(/"tg".*sendMessage.*chat not found/);
    noToken(JSON.stringify(e) + String((e as Error).stack));
  });
});

describe('telegram credentials', () => {
  it('a revoked token: start rejects CHANNEL_AUTH with a hint to @BotFather, without the token', async () => {
    tg.revoke();
    const e = await adapter().start(fakeSink()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClawpodError);
    expect((e as ClawpodError).code).toBe('CHANNEL_AUTH');
    expect((e as ClawpodError).message).toContain('"tg"');
    expect((e as ClawpodError).hint).toContain('@BotFather');
    noToken(JSON.stringify(e) + String((e as Error).stack));
  });

  it('revoked while polling: status down with CHANNEL_AUTH, and polling stops', async () => {
    const sink = fakeSink();
    await adapter().start(sink);
    await tg.waitFor(() => tg.calls.some((c) => c.method === 'getUpdates'));
    tg.revoke();
    await tg.waitFor(() => sink.statuses.some((s) => s.state === 'down'));
    const down = sink.statuses.find((s) => s.state === 'down')!;
    expect(down.error?.code).toBe('CHANNEL_AUTH');
    noToken(JSON.stringify(down.error));
    const polls = tg.calls.filter((c) => c.method === 'getUpdates').length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(tg.calls.filter((c) => c.method === 'getUpdates')).toHaveLength(polls);
  });

  it('an unreachable Bot API: start rejects CHANNEL_UNAVAILABLE', async () => {
    const e = await adapter({ apiRoot: 'http://127.0.0.1:9' }).start(fakeSink()).catch((x: unknown) => x);
    expect((e as ClawpodError).code).toBe('CHANNEL_UNAVAILABLE');
    noToken(JSON.stringify(e) + String((e as Error).stack));
  });
});

describe('telegram webhook', () => {
  let hook: Server | undefined;
  afterEach(async () => { if (hook) { hook.closeAllConnections(); await new Promise((r) => hook!.close(r)); hook = undefined; } });

  /** What `clawpod serve` does for /v1/channels/NAME/hook: hands the request to adapter.handle. */
  async function mount(a: () => ChannelAdapter): Promise<string> {
    hook = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
        const out = await a().handle!(new Request(`http://x${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }));
        res.writeHead(out.status).end(await out.text());
      })();
    });
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(hook.address() as AddressInfo).port}/v1/channels/tg/hook`;
  }

  it('the right secret: 200 only after receive; Telegram then forgets the update. A wrong secret: 401, nothing received', async () => {
    let release!: () => void;
    const stored = new Promise<void>((r) => { release = r; });
    const sink = fakeSink(() => stored);
    let a!: ChannelAdapter;
    const url = await mount(() => a);
    a = adapter({ mode: 'webhook', publicUrl: url, signingSecret: 'hook-secret_0123456789' });
    await a.start(sink);
    expect(tg.calls.find((c) => c.method === 'setWebhook')?.params).toMatchObject({ url, secret_token: 'hook-secret_0123456789' });

    const key = tg.userSends(CHAT, 'via webhook');
    await tg.waitFor(() => sink.got.length === 1);
    expect(sink.got[0]).toMatchObject({ key: String(key), text: 'via webhook' });
    await new Promise((r) => setTimeout(r, 300));
    expect(tg.pending()).toBe(1); // not acknowledged while the sink has not stored it
    release();
    await tg.waitFor(() => tg.pending() === 0);
    expect(sink.got).toHaveLength(1);

    const update = JSON.stringify({ update_id: 9, message: { message_id: 5, date: 0, chat: { id: CHAT, type: 'private' }, text: 'forged' } });
    for (const secret of ['wrong', undefined, 'hook-secret_012345678']) {
      const res = await a.handle!(new Request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) }, body: update }));
      expect(res.status).toBe(401);
    }
    expect(sink.got).toHaveLength(1);
    // getUpdates while the webhook is set is a 409, as on Telegram
    const res = await fetch(`${tg.url}/bot${tg.token}/getUpdates`);
    expect(res.status).toBe(409);
  });
});
