// Failures the runner reports as `error` frames. Each carries the protocol's ErrorCode, so the
// host can tell a provider outage (retry later) from bad input (fix the caller).
import type { ErrorCode } from './protocol.js';

export class RunnerError extends Error {
  constructor(readonly code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RunnerError';
  }
}

/** The provider answered with an HTTP error, an error event, or a stream we cannot read. */
export class ProviderError extends RunnerError {
  constructor(readonly status: number | undefined, message: string, opts: { cause?: unknown } = {}) {
    super('provider_error', message, opts);
    this.name = 'ProviderError';
  }
}

/** No byte arrived from the provider for `timeoutMs`. */
export class ProviderTimeout extends RunnerError {
  constructor(message: string) {
    super('provider_timeout', message);
    this.name = 'ProviderTimeout';
  }
}

/** The runner was told to stop (SIGTERM) while this message was in flight. */
export class Interrupted extends RunnerError {
  constructor(why: string) {
    super('internal', `interrupted: ${why}`);
    this.name = 'Interrupted';
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
