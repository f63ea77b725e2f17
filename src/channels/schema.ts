// The ControlPlane's `spec.channels` (chat platforms clawpod serve listens on), `spec.bindings`
// (which chat reaches which group), `spec.schedules` and `spec.memory` (docs/channels.md).
import { Cron } from 'croner';
import { z } from 'zod';
import { CHANNEL_DEFAULTS } from '../spec/defaults.js';
import { parseDuration } from '../spec/quantity.js';
import { SECRET_SOURCES, SecretRefSchema } from '../spec/schema.js';

export const CHANNEL_NAME = /^[a-z0-9]([-a-z0-9_]{0,30}[a-z0-9])?$/;

const secret = z.strictObject({ source: z.enum(SECRET_SOURCES).default('env'), secretRef: SecretRefSchema });
const duration = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parseDuration(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
});

export const ChannelSchema = z.strictObject({
  name: z.string().regex(CHANNEL_NAME, 'expected a channel name: lowercase letters, digits, "-", "_" (at most 32)'),
  kind: z.enum(['telegram', 'slack', 'webhook']),
  /** telegram: polling (getUpdates, default) or webhook; slack: events (Events API, default) or socket (Socket Mode). */
  mode: z.enum(['polling', 'webhook', 'events', 'socket']).optional(),
  /** The bot token (Telegram; Slack's xoxb-…). */
  token: secret.optional(),
  /** Slack's signing secret; the webhook channel's HMAC key; Telegram webhook mode's secret_token. */
  signingSecret: secret.optional(),
  /** Slack Socket Mode's app-level token (xapp-…). */
  appToken: secret.optional(),
  /** The platform's API base URL: a self-hosted Telegram Bot API server, a proxy. */
  apiRoot: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL').optional(),
  /** webhook kind: where answers are POSTed, signed like the requests. */
  callbackUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL').optional(),
  /** Telegram webhook mode: the public https URL of this channel's hook (…/v1/channels/NAME/hook). */
  publicUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL').optional(),
  /** Per chat: at most `messages` within `per`; more get a polite answer and are not queued. */
  rateLimit: z.strictObject({
    messages: z.number().int().min(1).max(10_000).default(CHANNEL_DEFAULTS.rateMessages),
    per: duration.default(CHANNEL_DEFAULTS.ratePer),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const need = (field: 'token' | 'signingSecret' | 'appToken', why: string) => {
    if (!c[field]) ctx.addIssue({ code: 'custom', path: [field], message: `expected ${field} (${why}), e.g. {source: env, secretRef: {name: ${c.name.toUpperCase().replace(/-/g, '_')}_${field === 'token' ? 'TOKEN' : field === 'appToken' ? 'APP_TOKEN' : 'SECRET'}}}` });
  };
  const modes: Record<string, readonly string[]> = { telegram: ['polling', 'webhook'], slack: ['events', 'socket'], webhook: [] };
  if (c.mode !== undefined && !modes[c.kind]!.includes(c.mode)) {
    ctx.addIssue({ code: 'custom', path: ['mode'], message: c.kind === 'webhook' ? 'expected no mode for a webhook channel' : `expected one of ${modes[c.kind]!.join(', ')} for ${c.kind}` });
  }
  if (c.kind === 'telegram') need('token', 'the bot token from @BotFather');
  if (c.kind === 'telegram' && c.mode === 'webhook' && !c.publicUrl) ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'expected the public https URL Telegram posts updates to (…/v1/channels/NAME/hook)' });
  if (c.kind === 'slack') {
    need('token', 'the bot token xoxb-…');
    if (c.mode === 'socket') need('appToken', 'an app-level token xapp-… with connections:write');
    else need('signingSecret', 'the app\'s signing secret, to verify Slack\'s requests');
  }
  if (c.kind === 'webhook') need('signingSecret', 'the HMAC key both sides sign with');
});

export const BindingSchema = z.strictObject({
  channel: z.string().regex(CHANNEL_NAME, 'expected a channel name under spec.channels'),
  /** The chat's id on the platform (Telegram chat id such as "-1001234", Slack channel id "C0123"). */
  chat: z.string().min(1).max(200),
  group: z.string().min(1),
});

export const ScheduleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9_]{0,38}[a-z0-9])?$/, 'expected a schedule name: lowercase letters, digits, "-", "_"').optional(),
  group: z.string().min(1),
  /** Five fields (minute hour day month weekday), e.g. "0 9 * * 1-5"; or six, seconds first ("30 0 9 * * 1-5"). */
  cron: z.string().min(1),
  /** An IANA time zone, e.g. "Europe/Berlin" (default UTC). */
  tz: z.string().default('UTC'),
  prompt: z.string().min(1),
  /** A run missed while the daemon was down: skip it, or run it once at start. */
  missed: z.enum(['skip', 'once']).default('skip'),
}).superRefine((s, ctx) => {
  const problem = cronProblem(s.cron, s.tz);
  if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
});

export const MemorySchema = z.strictObject({
  /** Hand each new session the group's earlier conversation. */
  enabled: z.boolean().default(true),
  /** Past this many (estimated) tokens the older part is summarized by the group's own model. */
  budgetTokens: z.number().int().min(200).max(1_000_000).default(CHANNEL_DEFAULTS.memoryBudgetTokens),
}).prefault({});

/** Why a cron expression or time zone cannot work, or undefined. */
export function cronProblem(cron: string, tz: string): { field: 'cron' | 'tz'; message: string } | undefined {
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); } catch {
    return { field: 'tz', message: `"${tz}" is not a time zone: expected an IANA name such as "Europe/Berlin" or "UTC"` };
  }
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return { field: 'cron', message: `"${cron}" is not a cron expression: expected five fields (minute hour day month weekday), e.g. "0 9 * * 1-5", or six with seconds first` };
  try { new Cron(cron, { timezone: tz, paused: true, mode: '5-or-6-parts' }).stop(); } catch (e) {
    return { field: 'cron', message: `"${cron}" is not a cron expression (${(e as Error).message}): expected five fields, e.g. "0 9 * * 1-5"` };
  }
  return undefined;
}

export type ChannelSpec = z.output<typeof ChannelSchema>;
export type BindingSpec = z.output<typeof BindingSchema>;
export type ScheduleSpec = z.output<typeof ScheduleSchema>;
export type MemorySpec = z.output<typeof MemorySchema>;
