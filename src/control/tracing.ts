// The control plane's spans (docs/tracing.md). Per message, a root `message` span from the POST to
// the answer, with `queue` (waiting for a session), `session.start` (a new container), `deliver`
// (handed over until the runner starts the turn), the runner's own spans (from its `span` frames)
// and the gateway's `llm.call` for each model call. The daemon calls this only when tracing is on
// and knows nothing of OpenTelemetry. Attributes are ids, names, counts and outcomes: never a
// message's text, an answer, a prompt, a key or a token.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import type { RunnerEvent } from '../agent/protocol.js';
import { formatTraceparent, parseTraceparent, runnerAttributes, RUNNER_ATTR, SPAN_LIMITS, type SpanFrame } from '../agent/trace-context.js';
import { isClawpodError } from '../errors.js';
import type { Tracing } from '../otel/provider.js';

/** Attribute keys of the control plane's own spans. */
export const ATTR = Object.freeze({
  group: 'clawpod.group',
  messageId: 'clawpod.message.id',
  sessionId: 'clawpod.session.id',
  runtime: 'clawpod.runtime',
  followups: 'clawpod.followups',
  followup: 'clawpod.followup',
  outcome: 'clawpod.outcome',
  model: 'clawpod.model',
  // OpenTelemetry's GenAI conventions (incubating there, so named here rather than imported)
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  operation: 'gen_ai.operation.name',
});

interface Open {
  readonly id: string;
  readonly span: Span;
  readonly ctx: Context;
  readonly traceId: string;
  readonly startMs: number;
  readonly group: string;
  queue?: Span | undefined;
  deliver?: Span | undefined;
  runnerSpans: number;
}

/** What the gateway reports when a call is answered (src/secrets/gateway/gateway.ts). */
export interface CallEnd { readonly model: string | null; readonly providerModel: string | null; readonly status: number; readonly input: number; readonly output: number }

const SAMPLED = TraceFlags.SAMPLED;
const remoteParent = (traceId: string, spanId: string): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: SAMPLED, isRemote: true });

export class MessageTracing {
  private readonly open = new Map<string, Open>();
  /**
   * The messages handed to each session, in order, until they end: the runner works on the first,
   * so its model calls belong to it. Kept from the handover rather than from the runner's start
   * frame, which may reach the daemon after the call reaches the gateway.
   */
  private readonly handed = new Map<string, string[]>();

  constructor(private readonly t: Tracing) {}

  /** A message was stored: its root span begins, and its wait in the queue. */
  queued(m: { id: string; group_name: string }): void {
    const span = this.t.tracer.startSpan('message', { kind: SpanKind.SERVER, attributes: { [ATTR.group]: m.group_name, [ATTR.messageId]: m.id } }, ROOT_CONTEXT);
    const o: Open = { id: m.id, span, ctx: trace.setSpan(ROOT_CONTEXT, span), traceId: span.spanContext().traceId, startMs: Date.now(), group: m.group_name, runnerSpans: 0 };
    this.open.set(m.id, o);
    o.queue = this.child(o, 'queue');
  }

  /** Back in the queue (a retry, the runtime down): a new wait. */
  requeued(messageId: string): void {
    const o = this.open.get(messageId);
    if (!o) return;
    this.unhand(messageId);
    this.endDeliver(o);
    o.queue ??= this.child(o, 'queue');
  }

  /** A new session's container starts for the message. `traceparent` goes into the StartDoc; `end` closes the span. */
  sessionStarting(m: { id: string; group_name: string }, attrs: { session: string; runtime: string; followups: string }): { traceparent: string | undefined; end(error?: unknown): void } {
    const o = this.ensure(m);
    this.endQueue(o);
    this.hand(attrs.session, m.id);
    const span = this.child(o, 'session.start', { [ATTR.sessionId]: attrs.session, [ATTR.runtime]: attrs.runtime, [ATTR.followups]: attrs.followups });
    return {
      traceparent: this.traceparent(o),
      end: (error) => {
        if (error !== undefined) {
          span.setAttribute(ATTR_ERROR_TYPE, isClawpodError(error) ? error.code : 'start_failed');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
        // the StartDoc is written: until the runner starts the turn, the message is being delivered
        if (error === undefined) o.deliver ??= this.child(o, 'deliver', { [ATTR.sessionId]: attrs.session, [ATTR.followups]: attrs.followups, [ATTR.followup]: false });
      },
    };
  }

  /** A follow-up handed to a running session; returns the traceparent it carries to the runner. */
  delivering(m: { id: string; group_name: string }, session: string, via: string): string | undefined {
    const o = this.ensure(m);
    this.endQueue(o);
    this.hand(session, m.id);
    o.deliver ??= this.child(o, 'deliver', { [ATTR.sessionId]: session, [ATTR.followups]: via, [ATTR.followup]: true });
    return this.traceparent(o);
  }

  /**
   * Every runner event of a session: `start` ends the delivery, `end` the message, a `span` frame
   * becomes an exported span. Returns why a span frame was refused (the daemon records it).
   */
  runnerEvent(session: string, inflight: ReadonlySet<string>, e: RunnerEvent): string | undefined {
    if (e.type === 'span') return this.runnerSpan(session, inflight, e);
    if (e.type === 'start') {
      const o = this.open.get(e.messageId);
      if (o) this.endDeliver(o);
    } else if (e.type === 'end') {
      this.finish(e.messageId, e.stopReason === 'error' ? 'failed' : 'answered', e.stopReason);
    }
    return undefined;
  }

  /** The message failed; the reason stays in the store (it may quote the runner). */
  failed(messageId: string): void {
    this.finish(messageId, 'failed');
  }

  /**
   * The gateway's span for one model call. Its parent is the runner's model round when the call
   * carries that round's traceparent, in the trace of a message handed to the caller's session
   * (any other trace is not trusted); else the first message handed to it (an older runner); a
   * call of no traced message (OpenClaw, a token without a session) is a root.
   */
  llmCall(c: { group: string; sessionId: string | null; provider: string; traceparent: string | undefined }): (f: CallEnd) => void {
    const mine = (c.sessionId ? this.handed.get(c.sessionId) ?? [] : []).map((id) => this.open.get(id)).filter((x): x is Open => x !== undefined);
    const claimed = parseTraceparent(c.traceparent);
    const owner = mine.find((x) => x.traceId === claimed?.traceId);
    const o = owner ?? mine[0];
    const parent = owner && claimed ? remoteParent(owner.traceId, claimed.spanId) : o ? o.ctx : ROOT_CONTEXT;
    const mid = o?.id;
    const span = this.t.tracer.startSpan('llm.call', {
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.group]: c.group, [ATTR.provider]: c.provider, [ATTR.operation]: 'chat', ...(c.sessionId ? { [ATTR.sessionId]: c.sessionId } : {}), ...(mid ? { [ATTR.messageId]: mid } : {}) },
    }, parent);
    return (f) => {
      span.setAttributes({
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: f.status, [RUNNER_ATTR.inputTokens]: f.input, [RUNNER_ATTR.outputTokens]: f.output,
        ...(f.model ? { [ATTR.model]: f.model } : {}), ...(f.providerModel ? { [ATTR.requestModel]: f.providerModel } : {}),
      });
      if (f.status >= 400) {
        span.setAttribute(ATTR_ERROR_TYPE, String(f.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
  }

  /** Ends what is still open (the control plane stops; those messages go on in its next run) and exports. */
  async shutdown(): Promise<void> {
    for (const id of [...this.open.keys()]) this.finish(id, 'unfinished');
    await this.t.shutdown();
  }

  private runnerSpan(session: string, inflight: ReadonlySet<string>, f: SpanFrame): string | undefined {
    const o = this.open.get(f.messageId);
    if (!inflight.has(f.messageId)) return `a span frame for message ${f.messageId.slice(0, 60)}, which this session is not running; ignored`;
    // not sampled, or already answered: nothing to join
    if (!o || !o.span.isRecording()) return undefined;
    if (++o.runnerSpans > SPAN_LIMITS.perMessage) {
      return o.runnerSpans === SPAN_LIMITS.perMessage + 1 ? `more than ${SPAN_LIMITS.perMessage} span frames for message ${f.messageId}; the rest are ignored` : undefined;
    }
    // the runner's clock is the host's locally, not on a cluster: its times are kept within the message's
    const now = Date.now();
    const start = Math.min(Math.max(f.startMs, o.startMs), now);
    const span = this.t.startSpanWithId(f.spanId, f.name, {
      startTime: start,
      attributes: { ...runnerAttributes(f), [ATTR.group]: o.group, [ATTR.sessionId]: session },
    }, remoteParent(o.traceId, f.parentSpanId));
    if (f.error) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(Math.min(Math.max(f.endMs, start), now));
    return undefined;
  }

  /** A message this run did not see arrive (its previous run stored it): its trace starts now. */
  private ensure(m: { id: string; group_name: string }): Open {
    if (!this.open.has(m.id)) this.queued(m);
    return this.open.get(m.id)!;
  }

  private finish(messageId: string, outcome: 'answered' | 'failed' | 'unfinished', stopReason?: string): void {
    const o = this.open.get(messageId);
    if (!o) return;
    this.open.delete(messageId);
    this.unhand(messageId);
    this.endQueue(o);
    this.endDeliver(o);
    o.span.setAttributes({ [ATTR.outcome]: outcome, ...(stopReason ? { [RUNNER_ATTR.stopReason]: stopReason } : {}) });
    if (outcome === 'failed') o.span.setStatus({ code: SpanStatusCode.ERROR });
    o.span.end();
  }

  private child(o: Open, name: string, attributes: Record<string, string | boolean> = {}): Span {
    return this.t.tracer.startSpan(name, { attributes }, o.ctx);
  }

  private traceparent(o: Open): string | undefined {
    const c = o.span.spanContext();
    return o.span.isRecording() ? formatTraceparent({ traceId: c.traceId, spanId: c.spanId, sampled: true }) : undefined;
  }

  private hand(session: string, messageId: string): void {
    const list = this.handed.get(session) ?? [];
    if (!list.includes(messageId)) list.push(messageId);
    this.handed.set(session, list);
  }

  /** Done, or back in the queue (its session gone): model calls no longer belong to it. */
  private unhand(messageId: string): void {
    for (const [session, list] of this.handed) {
      const rest = list.filter((id) => id !== messageId);
      if (rest.length) this.handed.set(session, rest); else this.handed.delete(session);
    }
  }

  private endQueue(o: Open): void { o.queue?.end(); o.queue = undefined; }
  private endDeliver(o: Open): void { o.deliver?.end(); o.deliver = undefined; }
}
