// The one error the SDK throws: clawpod's own code, message and hint (the fix), and the HTTP
// status it came with. Codes are clawpod's (docs/control-plane.md has the map): NOT_FOUND,
// FORBIDDEN, USAGE, SPEC_INVALID, TOO_LARGE, UNAUTHORIZED, RUNTIME_UNAVAILABLE, ...

export class SandboxError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** The HTTP status of the answer; undefined when there was none (the server did not answer). */
  readonly status: number | undefined;
  /** One line per problem when several were found (a spec's). */
  readonly details: readonly string[];

  constructor(code: string, message: string, opts: { hint?: string; status?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SandboxError';
    this.code = code;
    this.hint = opts.hint;
    this.status = opts.status;
    this.details = opts.details ?? [];
  }
}

/** The error of a failed answer: clawpod's `{error: {code, message, hint, details}}`, or its bare status. */
export async function errorOf(res: Response, what: string): Promise<SandboxError> {
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown; hint?: unknown; details?: unknown } } | undefined;
  const e = body?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new SandboxError(e.code, e.message, {
      status: res.status,
      ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
      ...(Array.isArray(e.details) ? { details: e.details.map(String) } : {}),
    });
  }
  return new SandboxError('RUNTIME_ERROR', `${what}: HTTP ${res.status}`, { status: res.status, hint: 'is the URL a clawpod control plane (`clawpod serve`)?' });
}
