// The control plane's spans (docs/tracing.md). Per message, a root `message` span from the POST to
// the answer, with `queue` (waiting for a session), `session.start` (a new container), `deliver`
// (handed over until the runner starts the turn), the runner's own spans (from its `span` frames)
// and the gateway's `llm.call` for each model call. The daemon calls this only when tracing is on
// and knows nothing of OpenTelemetry. Attributes are ids, names, counts and outcomes: never a
// message's text, an answer, a prompt, a key or a token.
//
// Cost: only the root span is made on the message's path (its context goes to the runner). Every
// other span is kept as a start time and made whole later with its own start and end times, in
// batches every BATCH_MS: the answer goes out before the SDK does any work for it, and the SDK's
// code runs warm in a batch rather than cold once per event (bench/tracing.ts measures the rest).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span } from '@opentelemetry/api';
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

/** A span not made yet: when it began, and what it will say. */
interface Pending { readonly at: number; readonly attributes: Attributes }

interface Open {
  readonly id: string;
  readonly span: Span;
  readonly ctx: Context;
  readonly traceId: string;
  readonly startMs: number;
  readonly group: string;
  queue?: Pending | undefined;
  deliver?: Pending | undefined;
  runnerSpans: number;
}

/** What the gateway reports when a call is answered (src/control/gateway/gateway.ts). */
export interface CallEnd { readonly model: string | null; readonly providerModel: string | null; readonly status: number; readonly input: number; readonly output: number }

/** Finished spans wait this long to be made together; the batch processor exports them later anyway (every 5 s by default). */
const BATCH_MS = 100;
/** Epoch milliseconds with sub-millisecond precision (a follow-up's delivery takes about one). */
const clock = (): number => performance.timeOrigin + performance.now();
const remoteParent = (traceId: string, spanId: string): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });

export class MessageTracing {
  private readonly open = new Map<string, Open>();
  /**
   * The messages handed to each session, in order, until they end: the runner works on the first,
   * so its model calls belong to it. Kept from the handover rather than from the runner's start
   * frame, which may reach the daemon after the call reaches the gateway.
   */
  private readonly handed = new Map<string, string[]>();
  private later: (() => void)[] = [];

  constructor(private readonly t: Tracing) {}

  /** A message was stored: its root span begins, and its wait in the queue. */
  queued(m: { id: string; group_name: string }): void {
    const now = clock();
    const span = this.t.tracer.startSpan('message', { kind: SpanKind.SERVER, startTime: now, attributes: { [ATTR.group]: m.group_name, [ATTR.messageId]: m.id } }, ROOT_CONTEXT);
    this.open.set(m.id, { id: m.id, span, ctx: trace.setSpan(ROOT_CONTEXT, span), traceId: span.spanContext().traceId, startMs: now, group: m.group_name, runnerSpans: 0, queue: { at: now, attributes: {} } });
  }

  /** Back in the queue (a retry, the runtime down): a new wait. */
  requeued(messageId: string): void {
    const o = this.open.get(messageId);
    if (!o) return;
    this.unhand(messageId);
    this.endDeliver(o, clock());
    o.queue ??= { at: clock(), attributes: {} };
  }

  /** A new session's container starts for the message. `traceparent` goes into the StartDoc; `end` closes the span. */
  sessionStarting(m: { id: string; group_name: string }, attrs: { session: string; runtime: string; followups: string }): { traceparent: string | undefined; end(error?: unknown): void } {
    const o = this.ensure(m);
    const at = clock();
    this.endQueue(o, at);
    this.hand(attrs.session, m.id);
    return {
      traceparent: this.traceparent(o),
      end: (error) => {
        const now = clock();
        const failed = error === undefined ? undefined : isClawpodError(error) ? error.code : 'start_failed';
        this.whole(o, 'session.start', at, now, { [ATTR.sessionId]: attrs.session, [ATTR.runtime]: attrs.runtime, [ATTR.followups]: attrs.followups, ...(failed ? { [ATTR_ERROR_TYPE]: failed } : {}) }, failed !== undefined);
        // the StartDoc is written: until the runner starts the turn, the message is being delivered
        if (!failed) o.deliver ??= { at: now, attributes: { [ATTR.sessionId]: attrs.session, [ATTR.followups]: attrs.followups, [ATTR.followup]: false } };
      },
    };
  }

  /** A follow-up handed to a running session; returns the traceparent it carries to the runner. */
  delivering(m: { id: string; group_name: string }, session: string, via: string): string | undefined {
    const o = this.ensure(m);
    const at = clock();
    this.endQueue(o, at);
    this.hand(session, m.id);
    o.deliver ??= { at, attributes: { [ATTR.sessionId]: session, [ATTR.followups]: via, [ATTR.followup]: true } };
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
      if (o) this.endDeliver(o, clock());
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
    const at = clock();
    const mine = (c.sessionId ? this.handed.get(c.sessionId) ?? [] : []).map((id) => this.open.get(id)).filter((x): x is Open => x !== undefined);
    const claimed = parseTraceparent(c.traceparent);
    const owner = mine.find((x) => x.traceId === claimed?.traceId);
    const o = owner ?? mine[0];
    const parent = owner && claimed ? remoteParent(owner.traceId, claimed.spanId) : o ? o.ctx : ROOT_CONTEXT;
    return (f) => {
      const end = clock();
      this.defer(() => {
        const span = this.t.tracer.startSpan('llm.call', {
          kind: SpanKind.CLIENT, startTime: at,
          attributes: {
            [ATTR.group]: c.group, [ATTR.provider]: c.provider, [ATTR.operation]: 'chat',
            ...(c.sessionId ? { [ATTR.sessionId]: c.sessionId } : {}), ...(o ? { [ATTR.messageId]: o.id } : {}),
            [ATTR_HTTP_RESPONSE_STATUS_CODE]: f.status, [RUNNER_ATTR.inputTokens]: f.input, [RUNNER_ATTR.outputTokens]: f.output,
            ...(f.model ? { [ATTR.model]: f.model } : {}), ...(f.providerModel ? { [ATTR.requestModel]: f.providerModel } : {}),
            ...(f.status >= 400 ? { [ATTR_ERROR_TYPE]: String(f.status) } : {}),
          },
        }, parent);
        if (f.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(end);
      });
    };
  }

  /** Ends what is still open (the control plane stops; those messages go on in its next run) and exports. */
  async shutdown(): Promise<void> {
    for (const id of [...this.open.keys()]) this.finish(id, 'unfinished');
    this.flush();
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
    const now = clock();
    const start = Math.min(Math.max(f.startMs, o.startMs), now);
    const end = Math.min(Math.max(f.endMs, start), now);
    this.defer(() => {
      const span = this.t.startSpanWithId(f.spanId, f.name, { startTime: start, attributes: { ...runnerAttributes(f), [ATTR.group]: o.group, [ATTR.sessionId]: session } }, remoteParent(o.traceId, f.parentSpanId));
      if (f.error) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(end);
    });
    return undefined;
  }

  /** A message this run did not see arrive (its previous run stored it): its trace starts now. */
  private ensure(m: { id: string; group_name: string }): Open {
    if (!this.open.has(m.id)) this.queued(m);
    return this.open.get(m.id)!;
  }

  /** Closed now (later calls for it are no-ops); its spans are made after the answer is out. */
  private finish(messageId: string, outcome: 'answered' | 'failed' | 'unfinished', stopReason?: string): void {
    const o = this.open.get(messageId);
    if (!o) return;
    this.open.delete(messageId);
    this.unhand(messageId);
    const now = clock();
    this.endQueue(o, now);
    this.endDeliver(o, now);
    this.defer(() => {
      o.span.setAttributes({ [ATTR.outcome]: outcome, ...(stopReason ? { [RUNNER_ATTR.stopReason]: stopReason } : {}) });
      if (outcome === 'failed') o.span.setStatus({ code: SpanStatusCode.ERROR });
      o.span.end(now);
    });
  }

  /** A child of the message from `start` to `end`, made later. */
  private whole(o: Open, name: string, start: number, end: number, attributes: Attributes, error = false): void {
    this.defer(() => {
      const span = this.t.tracer.startSpan(name, { startTime: start, attributes }, o.ctx);
      if (error) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(end);
    });
  }

  /** Later, in order, together with what else finished within BATCH_MS. */
  private defer(work: () => void): void {
    if (this.later.push(work) === 1) setTimeout(() => this.flush(), BATCH_MS).unref();
  }

  private flush(): void {
    const work = this.later;
    this.later = [];
    for (const w of work) w();
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

  private endQueue(o: Open, at: number): void {
    if (o.queue) this.whole(o, 'queue', o.queue.at, at, o.queue.attributes);
    o.queue = undefined;
  }

  private endDeliver(o: Open, at: number): void {
    if (o.deliver) this.whole(o, 'deliver', o.deliver.at, at, o.deliver.attributes);
    o.deliver = undefined;
  }
}
