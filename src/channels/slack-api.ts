// What the Slack adapter's two halves (slack.ts, slack-socket.ts) share about the Web API's answers,
// kept apart so Socket Mode's client (and undici's WebSocket) loads only for channels that use it.
import { LogLevel, type Logger } from '@slack/web-api';

const AUTH_ERRORS = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'not_allowed_token_type']);

/** Whether a Web API error says the token is refused (vs. Slack being unreachable or busy). */
export function isAuthError(e: unknown): boolean {
  return AUTH_ERRORS.has(platformError(e) ?? '');
}

/** The `error` of an `{ok: false}` Web API answer, when that is what failed. */
export function platformError(e: unknown): string | undefined {
  const data = (e as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** A @slack/logger Logger that passes warnings and errors on as one line each (debug and info are dropped). */
export function lineLogger(say: (line: string) => void): Logger {
  let level = LogLevel.WARN;
  const line = (...msg: unknown[]) => say(msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' '));
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: line,
    error: line,
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}
