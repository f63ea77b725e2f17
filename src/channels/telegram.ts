// The Telegram channel: Bot API long polling (getUpdates) or a webhook, and sending, editing,
// "typing…" and files. An update is acknowledged to Telegram only after the router stored it:
// polling advances its offset past an update only once sink.receive resolved for it (grammY's
// bot.start() does not promise that: it confirms the update it was handling when stopped), and the
// webhook answers 200 only then, so a crash in between means Telegram delivers it again.
import { readCapped } from './http.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InputFile } from 'grammy';
import { ClawpodError } from '../errors.js';
import { channelError, DEFAULT_API_ROOT, isNotModified, retryAfterOf, telegramApi } from './telegram-api.js';
import { toInbound, type TgUpdate } from './telegram-inbound.js';
import type { AdapterInit, ChannelAdapter, ChannelSink, Inbound, SentRef } from './types.js';

/** Seconds one getUpdates waits for an update before answering an empty list. */
const POLL_SECONDS = 30;
/** After a failed getUpdates: 1 s, 2 s, 4 s … at most this. */
const MAX_BACKOFF_MS = 30_000;
/** Only messages: edits, reactions, joins and the rest are not asked for at all. */
const ALLOWED_UPDATES = ['message'] as const;
/** grammY types its signal with the abort-controller package's class; node-fetch takes the built-in one. */
type GrammySignal = Parameters<ReturnType<typeof telegramApi>['getUpdates']>[1];

export function createTelegram(init: AdapterInit): ChannelAdapter {
  const token = init.token ?? '';
  const mode = init.mode ?? 'polling';
  const api = telegramApi(token, init.apiRoot);
  const fail = (method: string, e: unknown) => channelError(init.name, method, e, token, init.apiRoot);
  /** The bot's @username, for commands addressed to it in groups ("/new@thebot"). */
  let username = '';
  let sink: ChannelSink | undefined;
  let polling: { readonly abort: AbortController; readonly done: Promise<void> } | undefined;
  // Telegram's secret_token allows [A-Za-z0-9_-]: without one configured, a random one per start
  let hookSecret = '';

  const call = async <T>(method: string, f: () => Promise<T>): Promise<T> => {
    try { return await f(); } catch (e) { throw fail(method, e); }
  };

  async function fetchFile(fileId: string): Promise<Buffer> {
    const f = await call('getFile', () => api.getFile(fileId));
    if (!f.file_path) throw new ClawpodError('CHANNEL_UNAVAILABLE', `Telegram channel "${init.name}": getFile gave no file_path for a file of ${f.file_size ?? '?'} bytes`, { hint: 'the Bot API serves files up to 20 MB; a self-hosted Bot API server (apiRoot) serves larger ones' });
    const url = `${init.apiRoot ?? DEFAULT_API_ROOT}/file/bot${token}/${f.file_path}`;
    // a stalled download would hold the poll loop, and with it every chat of the channel. Not the bare
    // identifier AbortSignal: in the bundle it would make esbuild rename grammY's bundled polyfill class
    // to AbortSignal2, and node-fetch (which grammY calls) checks constructor.name === 'AbortSignal'
    const res = await fetch(url, { signal: globalThis.AbortSignal.timeout(60_000) }).catch((e: unknown) => { throw fail('file download', e); });
    if (!res.ok) throw fail('file download', new Error(`HTTP ${res.status}`));
    return Buffer.from(await res.arrayBuffer());
  }

  const inbound = (u: TgUpdate): Inbound | undefined => toInbound(u, username, fetchFile);

  async function poll(s: ChannelSink, signal: AbortSignal): Promise<void> {
    let offset: number | undefined;
    let failures = 0;
    let down = false;
    while (!signal.aborted) {
      let batch: TgUpdate[];
      try {
        batch = await api.getUpdates({ offset, timeout: POLL_SECONDS, allowed_updates: [...ALLOWED_UPDATES] }, signal as GrammySignal) as TgUpdate[];
      } catch (e) {
        if (signal.aborted) return;
        const err = fail('getUpdates', e);
        if (err.code === 'CHANNEL_AUTH') {
          init.say(`channel ${init.name}: ${err.message}; polling stopped`);
          s.status('down', err);
          return;
        }
        if (!down) { down = true; init.say(`channel ${init.name}: ${err.message}; retrying`); s.status('down', err); }
        const wait = retryAfterOf(e);
        await sleep(wait !== undefined ? wait * 1000 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures++), signal);
        continue;
      }
      if (down) { down = false; failures = 0; init.say(`channel ${init.name}: Telegram answers again`); s.status('up'); }
      for (const u of batch) {
        const m = inbound(u);
        if (m) {
          try {
            if (await untilAborted(s.receive(m), signal) === ABORTED) return; // not confirmed: delivered again
          } catch (e) {
            // the sink promises never to reject; if it does, the update stays unconfirmed and comes again
            init.say(`channel ${init.name}: update ${u.update_id} not stored (${e instanceof Error ? e.message : String(e)}); retrying`);
            await sleep(1000, signal);
            break;
          }
        }
        offset = u.update_id + 1; // sent with the next getUpdates: only that confirms it to Telegram
      }
    }
  }

  return {
    name: init.name,
    kind: 'telegram',
    caps: { maxText: 4096, canEdit: true },

    async start(s) {
      if (polling) throw new ClawpodError('USAGE', `Telegram channel "${init.name}" is already started`);
      if (!token) throw new ClawpodError('CHANNEL_AUTH', `Telegram channel "${init.name}" has no bot token`, { hint: 'set the channel\'s token to the bot token from @BotFather' });
      const me = await call('getMe', () => api.getMe());
      username = me.username;
      sink = s;
      if (mode === 'webhook') {
        if (!init.publicUrl) throw new ClawpodError('SPEC_INVALID', `Telegram channel "${init.name}" in webhook mode has no publicUrl`, { hint: 'set publicUrl to the public https URL of /v1/channels/NAME/hook' });
        hookSecret = init.signingSecret ?? randomBytes(32).toString('base64url');
        // the sink is set first: Telegram may post the first update before setWebhook has answered
        await call('setWebhook', () => api.setWebhook(init.publicUrl!, { secret_token: hookSecret, allowed_updates: [...ALLOWED_UPDATES] }))
          .catch((e: unknown) => { sink = undefined; throw e; });
        init.say(`channel ${init.name}: @${username} receives updates at its webhook`);
      } else {
        // a webhook left from webhook mode makes every getUpdates a 409; its queued updates stay
        const info = await call('getWebhookInfo', () => api.getWebhookInfo());
        if (info.url) await call('deleteWebhook', () => api.deleteWebhook({ drop_pending_updates: false }));
        const abort = new AbortController();
        const done = poll(s, abort.signal).catch((e: unknown) => { s.status('down', fail('getUpdates', e)); });
        polling = { abort, done };
        init.say(`channel ${init.name}: @${username} polls for updates`);
      }
      s.status('up');
    },

    async stop() {
      sink = undefined;
      const p = polling;
      polling = undefined;
      if (!p) return;
      p.abort.abort();
      await p.done;
    },

    async send(chat, text): Promise<SentRef> {
      const m = await call('sendMessage', () => api.sendMessage(chat, text));
      return { chat, id: String(m.message_id) };
    },

    async edit(ref, text) {
      try {
        await api.editMessageText(ref.chat, Number(ref.id), text);
      } catch (e) {
        if (!isNotModified(e)) throw fail('editMessageText', e);
      }
    },

    async typing(chat) {
      await call('sendChatAction', () => api.sendChatAction(chat, 'typing'));
    },

    async sendFile(chat, name, bytes) {
      await call('sendDocument', () => api.sendDocument(chat, new InputFile(bytes, name)));
    },

    async handle(req) {
      const s = sink;
      if (mode !== 'webhook' || !s) return text(503, 'channel not started'); // Telegram tries again later
      if (!sameSecret(req.headers.get('x-telegram-bot-api-secret-token') ?? '', hookSecret)) {
        init.onRejected?.('X-Telegram-Bot-Api-Secret-Token is missing or wrong');
        return text(401, 'wrong secret token');
      }
      if (req.method !== 'POST') return text(405, 'POST only');
      const raw = await readCapped(req, 1024 * 1024);
      if (raw === undefined) return text(413, 'an Update is never this large');
      let u: unknown;
      try { u = JSON.parse(raw); } catch { return text(400, 'expected a JSON Update'); }
      if (typeof u !== 'object' || u === null || typeof (u as TgUpdate).update_id !== 'number') return text(400, 'expected a JSON Update');
      const m = inbound(u as TgUpdate);
      try {
        if (m) await s.receive(m);
      } catch (e) {
        init.say(`channel ${init.name}: update ${(u as TgUpdate).update_id} not stored (${e instanceof Error ? e.message : String(e)})`);
        return text(500, 'not stored; send it again');
      }
      return text(200, 'ok');
    },
  };
}

/** Constant-time, whatever the lengths (both sides hashed first). */
function sameSecret(got: string, want: string): boolean {
  if (!want) return false;
  const h = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(h(got), h(want));
}

const text = (status: number, body: string) => new Response(body, { status, headers: { 'content-type': 'text/plain' } });

const ABORTED = Symbol('aborted');
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
