// Budgets are reserved before a call is forwarded, in one SQLite transaction with the check, so
// parallel calls cannot all pass a budget that only one fits (they were checked before and charged
// after). The reservation is an estimate, settled to the provider's reported usage afterwards and
// released when nothing reached the provider.
import type { Store } from '../store.js';
import type { Budget } from './gateway.js';
import type { Counted } from './usage.js';

export interface Reservation {
  /** Replaces the estimate by what the provider reported (once). */
  settle(real: Counted): void;
  /** Takes the reservation back: the call never reached the provider (once). */
  release(): void;
}

/**
 * Tokens a call may use, known before it runs: its body (about 4 bytes a token) as input, and the
 * output cap it asks for (max_tokens, max_completion_tokens, generationConfig.maxOutputTokens).
 */
export function estimate(body: Record<string, unknown>, bodyBytes: number): Counted {
  const gen = body.generationConfig as { maxOutputTokens?: unknown } | undefined;
  const cap = [body.max_tokens, body.max_completion_tokens, gen?.maxOutputTokens].find((v) => typeof v === 'number' && v > 0) as number | undefined;
  return { input: Math.max(1, Math.ceil(bodyBytes / 4)), output: cap ?? 0 };
}

/**
 * Checks the group's budget against what is used *and reserved* in the period, and reserves one
 * request and `est` tokens when it is not spent. Returns what is spent otherwise.
 */
export function reserve(store: Store, group: string, period: string, budget: Budget | undefined, est: Counted): { ok: true; r: Reservation } | { ok: false; over: string } {
  const over = store.transaction(() => {
    const u = store.usage(group, period);
    const used = u.input_tokens + u.output_tokens;
    const spent = !budget ? undefined
      : budget.tokens !== undefined && used >= budget.tokens ? `${used} of its ${budget.tokens} tokens`
        : budget.requests !== undefined && u.requests >= budget.requests ? `${u.requests} of its ${budget.requests} requests` : undefined;
    if (!spent) store.addUsage(group, period, { requests: 1, input: est.input, output: est.output });
    return spent;
  });
  if (over) return { ok: false, over };
  let open = true;
  const once = (requests: number, input: number, output: number) => {
    if (!open) return;
    open = false;
    store.addUsage(group, period, { requests, input, output });
  };
  return {
    ok: true,
    r: {
      settle: (real) => once(0, real.input - est.input, real.output - est.output),
      release: () => once(-1, -est.input, -est.output),
    },
  };
}
