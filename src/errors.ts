// One error type for everything clawpod reports to a user: a stable code, a message
// that names the thing and the value, and a hint with the exact fix.

export type ErrorCode =
  | 'SPEC_INVALID'
  | 'YAML_MALFORMED'
  | 'FILE_NOT_FOUND'
  | 'MOUNT_BLOCKED'
  | 'MOUNT_NOT_ALLOWED'
  | 'MOUNT_INVALID'
  | 'SECRET_MISSING'
  | 'SECRET_INVALID'
  | 'VAULT_LOCKED'
  | 'VAULT_TAMPERED'
  | 'VAULT_BUSY'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_BUILD_FAILED'
  | 'RUNTIME_UNAVAILABLE'
  | 'RUNTIME_ERROR'
  | 'ISOLATION_UNAVAILABLE'
  | 'PORT_TAKEN'
  | 'NAME_TAKEN'
  | 'NOT_FOUND'
  | 'USAGE'
  | 'TOO_LARGE'
  | 'UNHEALTHY'
  | 'CONFIG_INVALID'
  | 'ISOLATION_MISMATCH'
  | 'UNSAFE_PATH'
  | 'SOURCE_NOT_ALLOWED'
  | 'NAME_INVALID'
  | 'IN_USE'
  | 'CONFIG_FORCED'
  | 'QUOTA_EXCEEDED'
  | 'ROLLOUT_HALTED'
  | 'BUDGET_EXHAUSTED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CHANNEL_AUTH'
  | 'CHANNEL_UNAVAILABLE'
  | 'INTERNAL';

/** Exit codes by family, so scripts can tell bad input (2) from a broken runtime (3). */
const EXIT_CODES: Record<ErrorCode, number> = {
  SPEC_INVALID: 2,
  YAML_MALFORMED: 2,
  FILE_NOT_FOUND: 2,
  MOUNT_BLOCKED: 2,
  MOUNT_NOT_ALLOWED: 2,
  MOUNT_INVALID: 2,
  SECRET_MISSING: 2,
  SECRET_INVALID: 2,
  /** The vault's key or passphrase is missing, wrong, or its key file is unsafe. */
  VAULT_LOCKED: 2,
  /** The vault file fails authentication: changed outside clawpod. */
  VAULT_TAMPERED: 2,
  USAGE: 2,
  TOO_LARGE: 2,
  IMAGE_NOT_FOUND: 4,
  IMAGE_BUILD_FAILED: 4,
  RUNTIME_UNAVAILABLE: 3,
  RUNTIME_ERROR: 3,
  ISOLATION_UNAVAILABLE: 3,
  PORT_TAKEN: 5,
  NAME_TAKEN: 5,
  /** Another process holds the vault's write lock. */
  VAULT_BUSY: 5,
  NOT_FOUND: 6,
  /** The payload started but did not become healthy within its budget (the old one is kept or back). */
  UNHEALTHY: 7,
  /** A payload's existing config file on its volume cannot be read for merging. */
  CONFIG_INVALID: 2,
  /** The engine ran the container under another OCI runtime than the isolation tier asked for. */
  ISOLATION_MISMATCH: 3,
  /** A path clawpod must write or read is a symlink, owned by someone else, or too open. */
  UNSAFE_PATH: 2,
  /** A secret source (a file outside the allowed roots, an exec command not on the host's list) is refused. */
  SOURCE_NOT_ALLOWED: 2,
  /** A name that reaches paths or engine objects is not a DNS label. */
  NAME_INVALID: 2,
  /** An object (a volume) is still used by a container. */
  IN_USE: 5,
  /** A tenant sets a config path its plan or profile forces (provider, base URL, keys). */
  CONFIG_FORCED: 2,
  /** A plan's quota (or the cluster's ResourceQuota) does not admit what was asked. */
  QUOTA_EXCEEDED: 5,
  /** A tenant's LLM budget is spent and its plan suspends it (or throttles it) until the period resets. */
  BUDGET_EXHAUSTED: 5,
  /** A fleet upgrade stopped at a failed or diverging tenant (that tenant was rolled back). */
  ROLLOUT_HALTED: 7,
  /** The control plane's API refused the token: missing, wrong or revoked. */
  UNAUTHORIZED: 8,
  /** The token is good, but its scope does not cover the call (a tenant's token on an admin route). */
  FORBIDDEN: 8,
  /** A chat platform refused the channel's credentials (a revoked bot token, a wrong signing secret). */
  CHANNEL_AUTH: 8,
  /** A chat platform cannot be reached or answers with errors. */
  CHANNEL_UNAVAILABLE: 3,
  /** The control plane failed in a way it did not foresee (a bug: its message says where). */
  INTERNAL: 1,
};

/**
 * The HTTP status of each code, for the control plane's API and its clients alike (one total map:
 * a new code cannot be added without deciding its status). Bad input is 400, a missing object 404,
 * a clash 409, a spent budget 429; the engine or a payload failing is the upstream's fault (502/503/504).
 */
const HTTP_STATUS: Record<ErrorCode, number> = {
  SPEC_INVALID: 400,
  YAML_MALFORMED: 400,
  FILE_NOT_FOUND: 400,
  MOUNT_BLOCKED: 403,
  MOUNT_NOT_ALLOWED: 403,
  MOUNT_INVALID: 400,
  SECRET_MISSING: 400,
  SECRET_INVALID: 400,
  VAULT_LOCKED: 503,
  VAULT_TAMPERED: 500,
  VAULT_BUSY: 503,
  USAGE: 400,
  TOO_LARGE: 413,
  IMAGE_NOT_FOUND: 404,
  IMAGE_BUILD_FAILED: 502,
  RUNTIME_UNAVAILABLE: 503,
  RUNTIME_ERROR: 502,
  ISOLATION_UNAVAILABLE: 501,
  PORT_TAKEN: 409,
  NAME_TAKEN: 409,
  NOT_FOUND: 404,
  UNHEALTHY: 504,
  CONFIG_INVALID: 400,
  ISOLATION_MISMATCH: 502,
  UNSAFE_PATH: 403,
  SOURCE_NOT_ALLOWED: 403,
  NAME_INVALID: 400,
  IN_USE: 409,
  CONFIG_FORCED: 403,
  QUOTA_EXCEEDED: 403,
  BUDGET_EXHAUSTED: 429,
  ROLLOUT_HALTED: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CHANNEL_AUTH: 502,
  CHANNEL_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export const ERROR_CODES = Object.keys(EXIT_CODES) as readonly ErrorCode[];

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(EXIT_CODES, s);
}

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

export class ClawpodError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Extra lines (one per problem) when several were found at once. */
  readonly details: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; details?: readonly string[] } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ClawpodError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** The lines a user sees: `Error [CODE]: message`, one line per detail, then the fix. */
export function formatError(e: ClawpodError, opts: { hint?: boolean } = {}): string {
  const lines = [`Error [${e.code}]: ${e.message}`, ...e.details.map((d) => `  ${d}`)];
  if (e.hint && opts.hint !== false) lines.push(`  fix: ${e.hint}`);
  return `${lines.join('\n')}\n`;
}

export function isClawpodError(e: unknown): e is ClawpodError {
  return e instanceof ClawpodError;
}

/** Message of any thrown value, for wrapping foreign errors. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
