// The one interface every chat platform sits behind. An adapter only speaks its platform's wire
// protocol; what a message means (bindings, commands, rate limits, streaming an answer by edits,
// splitting, files) is the router's (src/channels/router.ts), the same for every platform.
import type { ClawpodError } from '../errors.js';

export type ChannelKind = 'telegram' | 'slack' | 'webhook';

/** A file sent to the bot; fetched only when the router keeps it (bound chat, under the size limit). */
export interface InboundFile {
  readonly name: string;
  /** Bytes, when the platform says so before the download. */
  readonly size?: number;
  fetch(): Promise<Buffer>;
}

/** A message from a chat, as an adapter hands it to the router. */
export interface Inbound {
  /** The update's id on the platform (Telegram update_id, Slack event_id, the webhook's id): the router
   *  stores each (channel, key) once, so a platform that delivers an update again (after our crash,
   *  before it saw our acknowledgement) does not make a second message. */
  readonly key: string;
  /** The chat (Telegram chat id, Slack channel id, the webhook's conversation), as a string. */
  readonly chat: string;
  /** Who wrote it (platform user id or name), for events only. */
  readonly user?: string;
  readonly text: string;
  readonly files?: readonly InboundFile[];
  /** Slack: the thread the message is in (replies go there); absent elsewhere. */
  readonly thread?: string;
}

/** A message the adapter sent, enough to edit it later. Plain data: the router stores it as JSON. */
export interface SentRef { readonly chat: string; readonly id: string; readonly thread?: string }

export interface ChannelCaps {
  /** Longest text one platform message may hold (Telegram 4096 characters, Slack 40,000); longer answers are split. */
  readonly maxText: number;
  /** Whether sent messages can be edited (answers then stream into one message). */
  readonly canEdit: boolean;
}

/** What the router gives an adapter to hand messages to. */
export interface ChannelSink {
  /** Stores the message durably, then resolves: only then may the adapter acknowledge it to the platform
   *  (advance its getUpdates offset, answer Slack's HTTP request). Never rejects for a bad message:
   *  the router answers that in the chat itself. */
  receive(m: Inbound): Promise<void>;
  /** The adapter is up, or down with the reason (a revoked token: `CHANNEL_AUTH`); other channels go on. */
  status(state: 'up' | 'down', error?: ClawpodError): void;
}

export interface ChannelAdapter {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly caps: ChannelCaps;
  /** Checks the credentials and starts receiving; rejects (CHANNEL_AUTH, CHANNEL_UNAVAILABLE) when it cannot. */
  start(sink: ChannelSink): Promise<void>;
  stop(): Promise<void>;
  send(chat: string, text: string, o?: { readonly thread?: string }): Promise<SentRef>;
  edit(ref: SentRef, text: string): Promise<void>;
  /** "typing…" while the agent works (Telegram sendChatAction); a no-op where the platform has none. */
  typing(chat: string): Promise<void>;
  sendFile(chat: string, name: string, bytes: Buffer, o?: { readonly thread?: string }): Promise<void>;
  /** Webhook modes: the platform's HTTP requests, mounted by `clawpod serve` at
   *  `/v1/channels/NAME/hook` (no clawpod token: the adapter checks the platform's own signature or secret). */
  handle?(req: Request): Promise<Response>;
}

/** Credentials and settings an adapter is built from, resolved by the control plane (never in a container). */
export interface AdapterInit {
  readonly name: string;
  /** Bot token (Telegram), bot token xoxb-… (Slack), absent for webhook channels. */
  readonly token?: string;
  /** Slack's signing secret; the webhook channel's HMAC secret; Telegram webhook mode's secret_token. */
  readonly signingSecret?: string;
  /** Slack Socket Mode's app-level token (xapp-…). */
  readonly appToken?: string;
  readonly mode?: string;
  /** The platform's API base URL (a self-hosted Telegram Bot API server; the tests' scripted servers). */
  readonly apiRoot?: string;
  /** The webhook channel: where answers are POSTed (signed with the same secret). */
  readonly callbackUrl?: string;
  /** The public URL of `/v1/channels/NAME/hook`, for platforms told where to send (Telegram setWebhook). */
  readonly publicUrl?: string;
  readonly say: (line: string) => void;
  /** A webhook request whose signature or secret did not check out (answered 401): the router records it. */
  readonly onRejected?: (why: string) => void;
}
