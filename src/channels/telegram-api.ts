// The Bot API client a Telegram channel uses (grammY's Api, retries on 429/5xx) and how its failures
// become ClawpodErrors that name the channel and the method, never the token.
import { autoRetry } from '@grammyjs/auto-retry';
import { Api, GrammyError, HttpError, type Transformer } from 'grammy';
import { ClawpodError } from '../errors.js';

export const DEFAULT_API_ROOT = 'https://api.telegram.org';

export function telegramApi(token: string, apiRoot: string | undefined): Api {
  // 75 s: above the long poll's 30 s, far below grammY's default of 500 s for a send that hangs
  const api = new Api(token, { apiRoot: apiRoot ?? DEFAULT_API_ROOT, timeoutSeconds: 75 });
  // 429: waits retry_after (up to a minute) and sends again; 5xx: 3 s, 6 s, 12 s. A network error is
  // not retried: the message may have arrived, and sending it again would show it twice.
  const retry = autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60, rethrowHttpErrors: true });
  // getUpdates is retried by the polling loop, which reports the channel down and up meanwhile
  const transformer: Transformer = (prev, method, payload, signal) =>
    method === 'getUpdates' ? prev(method, payload, signal) : retry(prev, method, payload, signal);
  api.config.use(transformer);
  return api;
}

export const isNotModified = (e: unknown): boolean =>
  e instanceof GrammyError && e.error_code === 400 && /message is not modified/i.test(e.description);

/** Whether Telegram refused the token itself (401; 404 for a token that is not even well-formed). */
export const isAuthFailure = (e: unknown): boolean =>
  e instanceof GrammyError && (e.error_code === 401 || (e.error_code === 404 && e.method === 'getMe'));

/** Seconds Telegram asked us to wait (429), if it did. */
export const retryAfterOf = (e: unknown): number | undefined =>
  e instanceof GrammyError ? e.parameters.retry_after : undefined;

/**
 * A Bot API failure as a ClawpodError: CHANNEL_AUTH for a refused token, CHANNEL_UNAVAILABLE for
 * everything else (network, 5xx, 429 past its retries, 400/403 such as "chat not found"). The cause
 * is not kept: grammY's network errors carry the request URL, which holds the token.
 */
export function channelError(channel: string, method: string, e: unknown, token: string, apiRoot: string | undefined): ClawpodError {
  const scrub = (s: string) => (token ? s.split(token).join('[REDACTED]') : s);
  if (e instanceof ClawpodError) return e;
  if (isAuthFailure(e)) {
    const g = e as GrammyError;
    return new ClawpodError('CHANNEL_AUTH', `Telegram channel "${channel}": the Bot API refused the bot token (${method}: ${g.error_code} ${scrub(g.description)})`, {
      hint: 'check the token with @BotFather (/mybots → your bot → API Token; "Revoke current token" makes a new one) and put it in the channel\'s token secret',
    });
  }
  if (e instanceof GrammyError) {
    const hint = e.error_code === 429
      ? `Telegram limits a bot to about 1 message a second per chat and 20 a minute in a group; it asked to wait ${e.parameters.retry_after ?? '?'} s`
      : e.error_code === 403 || /chat not found/i.test(e.description)
        ? 'the bot is not in that chat (blocked, removed, or never added): add it to the chat, or have the user send /start to it'
        : undefined;
    return new ClawpodError('CHANNEL_UNAVAILABLE', `Telegram channel "${channel}": ${method} failed (${e.error_code} ${scrub(e.description)})`, hint ? { hint } : {});
  }
  const where = apiRoot ?? DEFAULT_API_ROOT;
  const why = e instanceof HttpError ? 'no answer' : scrub(e instanceof Error ? e.message : String(e));
  return new ClawpodError('CHANNEL_UNAVAILABLE', `Telegram channel "${channel}": ${method} failed: ${why} from ${where}`, {
    hint: `check that this host reaches ${where} (network, proxy, firewall); the channel retries by itself`,
  });
}
