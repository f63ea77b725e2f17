// Slack's Events API payloads → Inbound, and the check of Slack's request signature. Pure apart from
// the clock; the adapter (slack.ts) does the I/O for both Events API (HTTP) and Socket Mode.
// the module alone: Bolt's index loads express, OAuth and its receivers (2.9 MB bundled) for one function
import { verifySlackRequest } from '@slack/bolt/dist/receivers/verify-request.js';
import type { Inbound, InboundFile } from './types.js';

/** The fields of a Slack `message` / `app_mention` event we read (api.slack.com/events/message). */
export interface SlackMessageEvent {
  readonly type: string;
  readonly subtype?: string;
  readonly channel?: string;
  readonly user?: string;
  readonly bot_id?: string;
  readonly text?: string;
  readonly ts?: string;
  readonly thread_ts?: string;
  readonly files?: readonly SlackFile[];
}

export interface SlackFile {
  readonly id?: string;
  readonly name?: string;
  readonly title?: string;
  readonly size?: number;
  readonly mode?: string;
  readonly url_private_download?: string;
  readonly url_private?: string;
}

/** The outer `event_callback` envelope (the HTTP body, or a Socket Mode envelope's payload). */
export interface SlackEventCallback {
  readonly type: string;
  readonly event_id?: string;
  readonly event?: SlackMessageEvent;
  readonly challenge?: string;
}

/** Slack's signing window: older (or, against clock games, newer) requests are refused as replays. */
export const SIGNATURE_WINDOW_S = 5 * 60;

/**
 * Why a request does not come from Slack, or undefined when its v0 signature (HMAC-SHA256 of
 * `v0:timestamp:body` with the signing secret, compared in constant time by Bolt) is good and its
 * timestamp within five minutes. Bolt only refuses old timestamps; future ones are refused here.
 * The reason never contains the secret.
 */
export function signatureProblem(secret: string, body: string, signature: string | null, timestamp: string | null, nowMs = Date.now()): string | undefined {
  if (!signature || !timestamp) return 'no X-Slack-Signature or X-Slack-Request-Timestamp header';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return 'X-Slack-Request-Timestamp is not a number';
  if (Math.abs(nowMs / 1000 - ts) > SIGNATURE_WINDOW_S) return 'X-Slack-Request-Timestamp is more than 5 minutes away from now (a replay, or a wrong clock)';
  try {
    verifySlackRequest({ signingSecret: secret, body, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts }, nowMilliseconds: nowMs });
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^Failed to verify authenticity: /, '');
  }
}

/**
 * A message's text as the person wrote it: Slack's mention of the bot (`<@U123>`, `<@U123|name>`)
 * removed, links `<https://x|label>` written as `label (https://x)`, and the three characters Slack
 * escapes (&amp; &lt; &gt;) restored. Other mentions (`<@U456>`, `<#C789|general>`) stay as Slack wrote them.
 */
export function plainText(text: string, botUserId: string | undefined): string {
  const noBot = botUserId ? text.replace(new RegExp(`<@${botUserId}(\\|[^>]*)?>:?`, 'g'), '') : text;
  return noBot
    .replace(/<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>/g, (_, url: string, label?: string) => (label && label !== url ? `${label} (${url})` : url))
    .replace(/[ \t]{2,}/g, ' ').trim()
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * The Inbound for one event, or undefined for events that are not a person's new message: edits and
 * deletions (subtype message_changed, message_deleted), joins, bots (our own answers included).
 *
 * `message` and `app_mention` both arrive for a mention in a channel the bot is in (when the app
 * subscribes to both). Neither is dropped here: each is keyed by the message's own identity
 * (channel and ts), not by event_id, so the second one is a duplicate the router already skips,
 * and an app subscribed to only one of them loses nothing. Retries of an event keep the same key too.
 */
export function toInbound(ev: SlackMessageEvent, botUserId: string | undefined, fetchFile: (url: string) => Promise<Buffer>): Inbound | undefined {
  if (ev.type !== 'message' && ev.type !== 'app_mention') return undefined;
  if (ev.subtype !== undefined && ev.subtype !== 'file_share') return undefined;
  if (ev.bot_id || !ev.user || (botUserId && ev.user === botUserId)) return undefined;
  if (!ev.channel || !ev.ts) return undefined;
  const files: InboundFile[] = [];
  for (const f of ev.files ?? []) {
    const url = f.url_private_download ?? f.url_private;
    // tombstoned or hidden (free-plan limit) files have no URL to fetch
    if (!url || f.mode === 'tombstone' || f.mode === 'hidden_by_limit') continue;
    files.push({ name: f.name ?? f.title ?? f.id ?? 'file', ...(f.size !== undefined ? { size: f.size } : {}), fetch: () => fetchFile(url) });
  }
  return {
    key: `${ev.channel}/${ev.ts}`,
    chat: ev.channel,
    user: ev.user,
    text: plainText(ev.text ?? '', botUserId),
    ...(files.length ? { files } : {}),
    ...(ev.thread_ts ? { thread: ev.thread_ts } : {}),
  };
}

/** Events that mean the bot token no longer works: the app was uninstalled, or its bot token
 *  revoked (tokens_revoked also reports users' tokens, which leave the bot working). */
export function isRevocation(ev: { readonly type: string; readonly tokens?: { readonly bot?: readonly string[] } } | undefined, botUserId: string | undefined): boolean {
  if (ev?.type === 'app_uninstalled') return true;
  const bots = ev?.type === 'tokens_revoked' ? ev.tokens?.bot ?? [] : [];
  return botUserId ? bots.includes(botUserId) : bots.length > 0;
}

/** A slash command (`/new`, `/status`, registered in the Slack app; events mode: form-encoded to the
 *  hook, Socket Mode: a slash_commands envelope): the router reads it like the same words in chat. */
export interface SlashCommand { readonly command: string; readonly text?: string; readonly channel_id: string; readonly user_id?: string; readonly trigger_id: string }

export function isSlashCommand(v: unknown): v is SlashCommand {
  const o = v as Partial<SlashCommand> | null;
  return !!o && typeof o.command === 'string' && o.command.startsWith('/') && typeof o.channel_id === 'string' && typeof o.trigger_id === 'string';
}

export function slashToInbound(c: SlashCommand): Inbound {
  return { key: `slash/${c.trigger_id}`, chat: c.channel_id, text: `${c.command} ${c.text ?? ''}`.trim(), ...(c.user_id ? { user: c.user_id } : {}) };
}
