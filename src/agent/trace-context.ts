// Trace context across the container boundary. The runner has no network and ships as one file,
// so it carries no OpenTelemetry code: the host hands it a W3C traceparent per message (in the
// StartDoc and in each follow-up), and the runner reports its own spans back as `span` frames on
// stdout, which the host checks here and exports as part of the same trace. Shared by both
// sides; no I/O. An older host sends no traceparent, and the runner then reports nothing.

/** A W3C trace context: version 00, 32 + 16 hex digits, flags (01 = sampled). */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const HEX16 = /^[0-9a-f]{16}$/;

export interface TraceParent { readonly traceId: string; readonly spanId: string; readonly sampled: boolean }

/** The trace context of a traceparent value; undefined for anything else (all-zero ids included). */
export function parseTraceparent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (Number.parseInt(m[3]!, 16) & 1) === 1 };
}

export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${p.sampled ? '01' : '00'}`;
}

/** What a runner may report: spans per message, characters per span frame, attributes per span. */
export const SPAN_LIMITS = Object.freeze({ perMessage: 256, frameChars: 2048, attributes: 16 });

/** The runner's span names: the message's turn, each model round, each tool call (tool.bash, tool.mcp__fs__read). */
const SPAN_NAME = /^(turn|model\.round|tool\.[A-Za-z0-9_.-]{1,64})$/;

/** Attribute keys of the runner's spans (docs/tracing.md). Counts and outcomes only: never text. */
export const RUNNER_ATTR = Object.freeze({
  round: 'clawpod.round',
  stopReason: 'clawpod.stop_reason',
  toolCalls: 'clawpod.tool_calls',
  toolName: 'gen_ai.tool.name',
  exitCode: 'clawpod.tool.exit_code',
  isError: 'clawpod.tool.is_error',
  timedOut: 'clawpod.tool.timed_out',
  outputBytes: 'clawpod.tool.output_bytes',
  // OpenTelemetry's GenAI conventions (still incubating there, so named here rather than imported)
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
});

type AttrValue = string | number | boolean;
type AttrCheck = (v: unknown) => boolean;
const int: AttrCheck = (v) => Number.isSafeInteger(v);
const bool: AttrCheck = (v) => typeof v === 'boolean';
const oneOf = (...xs: string[]): AttrCheck => (v) => typeof v === 'string' && xs.includes(v);
const toolName: AttrCheck = (v) => typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v);

/** The only attributes the host exports from a runner span, and the value each must have. */
const RUNNER_ATTRIBUTES: Readonly<Record<string, AttrCheck>> = {
  [RUNNER_ATTR.round]: int,
  [RUNNER_ATTR.stopReason]: oneOf('end_turn', 'max_turns', 'error'),
  [RUNNER_ATTR.toolCalls]: int,
  [RUNNER_ATTR.toolName]: toolName,
  [RUNNER_ATTR.exitCode]: int,
  [RUNNER_ATTR.isError]: bool,
  [RUNNER_ATTR.timedOut]: bool,
  [RUNNER_ATTR.outputBytes]: int,
  [RUNNER_ATTR.inputTokens]: int,
  [RUNNER_ATTR.outputTokens]: int,
};

/** One finished span of the runner. Times are epoch milliseconds; the trace is the message's. */
export interface SpanFrame {
  readonly type: 'span';
  readonly messageId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly error?: boolean;
  readonly attributes?: Readonly<Record<string, AttrValue>>;
}

/** A tool's name as it may appear in a span name. */
export function toolSpanName(tool: string): string {
  return `tool.${tool.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || '_'}`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const time = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Whether a decoded frame is a span the host can take: its ids, name and times well formed and
 * at most SPAN_LIMITS.attributes attributes. Unknown attribute keys pass here and are dropped by
 * runnerAttributes (a newer runner may report more); a known key with a wrong value fails.
 */
export function spanFrameOk(e: Record<string, unknown>): boolean {
  if (typeof e.messageId !== 'string' || typeof e.name !== 'string' || !SPAN_NAME.test(e.name)) return false;
  if (typeof e.spanId !== 'string' || !HEX16.test(e.spanId) || typeof e.parentSpanId !== 'string' || !HEX16.test(e.parentSpanId)) return false;
  if (!time(e.startMs) || !time(e.endMs) || e.endMs < e.startMs) return false;
  if (e.error !== undefined && typeof e.error !== 'boolean') return false;
  if (e.attributes === undefined) return true;
  if (!isObj(e.attributes) || Object.keys(e.attributes).length > SPAN_LIMITS.attributes) return false;
  return Object.entries(e.attributes).every(([k, v]) => !Object.hasOwn(RUNNER_ATTRIBUTES, k) || RUNNER_ATTRIBUTES[k]!(v));
}

/** The attributes of a checked frame that the host exports: known keys only. */
export function runnerAttributes(f: SpanFrame): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(f.attributes ?? {})) if (Object.hasOwn(RUNNER_ATTRIBUTES, k)) out[k] = v;
  return out;
}
