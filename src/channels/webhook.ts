// The generic signed webhook channel: any system POSTs a chat message to clawpod and gets the
// answer POSTed back to its callback URL. Both ways are signed with the channel's secret:
//   X-Clawpod-Timestamp: unix seconds
//   X-Clawpod-Signature: sha256=hex(HMAC-SHA256(secret, `${timestamp}.${body}`))
// A request older or newer than five minutes, or with another signature, is refused (401): a
// captured request cannot be replayed later, and the id in the body makes a resend harmless.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { ClawpodError, messageOf } from '../errors.js';
import { readCapped } from './http.js';
import type { AdapterInit, ChannelAdapter, ChannelSink, SentRef } from './types.js';

const MAX_SKEW_S = 300;
const MAX_BODY = 16 * 1024 * 1024;

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Why a signed request is refused, or undefined when it is good. */
export function webhookProblem(secret: string, timestamp: string | null, signature: string | null, body: string, nowS = Math.floor(Date.now() / 1000)): string | undefined {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return 'X-Clawpod-Timestamp is missing or not unix seconds';
  if (Math.abs(nowS - Number(timestamp)) > MAX_SKEW_S) return `X-Clawpod-Timestamp is more than ${MAX_SKEW_S} s away from now`;
  if (!signature) return 'X-Clawpod-Signature is missing';
  const want = Buffer.from(signWebhook(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got) ? undefined : 'X-Clawpod-Signature does not match the body';
}

interface HookBody { id: string; chat: string; text: string; user?: string; files?: { name: string; data: string }[] }

function parseBody(raw: string): HookBody | string {
  let v: unknown;
  try { v = JSON.parse(raw); } catch { return 'the body is not JSON'; }
  const b = v as Partial<HookBody> | null;
  if (!b || typeof b !== 'object') return 'the body must be an object {id, chat, text}';
  for (const k of ['id', 'chat', 'text'] as const) if (typeof b[k] !== 'string' || (k !== 'text' && b[k].length === 0)) return `${k}: expected a non-empty string`;
  if (b.user !== undefined && typeof b.user !== 'string') return 'user: expected a string';
  if (b.files !== undefined && (!Array.isArray(b.files) || b.files.some((f) => typeof f?.name !== 'string' || typeof f?.data !== 'string'))) return 'files: expected [{name, data (base64)}]';
  return b as HookBody;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export function createWebhook(init: AdapterInit, fetchImpl: typeof fetch = fetch): ChannelAdapter {
  const secret = init.signingSecret;
  if (!secret) throw new ClawpodError('CONFIG_INVALID', `channel ${init.name}: a webhook channel needs signingSecret`, { hint: 'set spec.channels[].signingSecret to a SecretRef' });
  let sink: ChannelSink | undefined;

  /** POSTs one signed callback; a 429 or 5xx is retried (after Retry-After when the receiver names it). */
  async function post(payload: object): Promise<void> {
    if (!init.callbackUrl) return;
    const body = JSON.stringify(payload);
    for (let attempt = 1; ; attempt++) {
      const ts = String(Math.floor(Date.now() / 1000));
      let res: Response | undefined;
      let why: string;
      try {
        res = await fetchImpl(init.callbackUrl, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-clawpod-timestamp': ts, 'x-clawpod-signature': signWebhook(secret!, ts, body) } });
        if (res.ok) return;
        why = `HTTP ${res.status}`;
      } catch (e) { why = messageOf(e); }
      const retryable = !res || res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= 5) {
        throw new ClawpodError('CHANNEL_UNAVAILABLE', `channel ${init.name}: the callback at ${new URL(init.callbackUrl).origin} answered ${why}`, { hint: 'check that the receiver is up and accepts the signed POSTs (docs/channels.md)' });
      }
      const after = Number(res?.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? after * 1000 : 500 * 2 ** (attempt - 1)));
    }
  }

  return {
    name: init.name, kind: 'webhook',
    // the receiver gets each answer once, complete: no edits to follow
    caps: { maxText: 100_000, canEdit: false },
    async start(s) { sink = s; },
    async stop() { sink = undefined; },
    async send(chat, text): Promise<SentRef> {
      const id = randomUUID();
      await post({ type: 'message', chat, id, text });
      return { chat, id };
    },
    async edit(ref, text) { await post({ type: 'edit', chat: ref.chat, id: ref.id, text }); },
    async typing() { /* a webhook receiver has no typing indicator */ },
    async sendFile(chat, name, bytes) { await post({ type: 'file', chat, name, data: bytes.toString('base64') }); },
    async handle(req) {
      if (req.method !== 'POST') return json(405, { error: { code: 'USAGE', message: 'POST a signed JSON message here', hint: 'docs/channels.md' } });
      const raw = await readCapped(req, MAX_BODY);
      if (raw === undefined) return json(413, { error: { code: 'TOO_LARGE', message: `the body is larger than ${MAX_BODY} bytes` } });
      const problem = webhookProblem(secret, req.headers.get('x-clawpod-timestamp'), req.headers.get('x-clawpod-signature'), raw);
      if (problem) {
        init.onRejected?.(problem);
        return json(401, { error: { code: 'UNAUTHORIZED', message: `refused: ${problem}`, hint: 'sign `${timestamp}.${body}` with HMAC-SHA256 and the channel\'s secret (docs/channels.md)' } });
      }
      const b = parseBody(raw);
      if (typeof b === 'string') return json(400, { error: { code: 'USAGE', message: b, hint: 'POST {"id", "chat", "text", "files"?: [{name, data}]}' } });
      if (!sink) return json(503, { error: { code: 'CHANNEL_UNAVAILABLE', message: `channel ${init.name} is not running` } });
      await sink.receive({
        key: b.id, chat: b.chat, text: b.text, ...(b.user ? { user: b.user } : {}),
        ...(b.files?.length ? { files: b.files.map((f) => ({ name: f.name, size: Math.floor(f.data.length * 3 / 4), fetch: async () => Buffer.from(f.data, 'base64') })) } : {}),
      });
      return json(202, { accepted: true, id: b.id });
    },
  };
}
