// The runner's own spans for one message (its turn, each model round, each tool call), reported
// to the host as `span` frames when the message came with a sampled traceparent; the host turns
// them into exported spans of the message's trace. Without one (an older host, tracing off, not
// sampled) every span here is a no-op. Finished spans wait here and leave with the message's
// `end`, in the same write: each frame written alone costs the host a chunk of the container's
// output stream, and the host exports a message's spans only when it ends anyway. Attributes are
// counts and outcomes, never text.
import { randomBytes } from 'node:crypto';
import { formatTraceparent, parseTraceparent, SPAN_LIMITS, type SpanFrame, type TraceParent } from './trace-context.js';

export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

export interface RunnerSpan {
  /** Its W3C trace context, for a call made within it (the gateway parents its llm.call span here); undefined when off. */
  readonly traceparent: string | undefined;
  /** Finishes the span (once); `error` marks it failed. */
  end(attributes?: SpanAttributes, error?: boolean): void;
}

const OFF: RunnerSpan = { traceparent: undefined, end: () => undefined };
const nowMs = (): number => performance.timeOrigin + performance.now();

export class MessageSpans {
  private readonly parent: TraceParent | undefined;
  private finished: SpanFrame[] = [];
  private count = 0;

  /** `traceparent` is the message's, as the host sent it; anything unusable turns spans off. */
  constructor(private readonly messageId: string, traceparent: string | undefined) {
    const p = parseTraceparent(traceparent);
    this.parent = p?.sampled ? p : undefined;
  }

  /** A span starting now, a child of `parent` (default: the message's own span on the host). */
  start(name: string, parent?: RunnerSpan): RunnerSpan {
    const root = this.parent;
    if (!root) return OFF;
    const spanId = randomBytes(8).toString('hex');
    const parentSpanId = parseTraceparent(parent?.traceparent)?.spanId ?? root.spanId;
    const startMs = nowMs();
    let ended = false;
    return {
      traceparent: formatTraceparent({ traceId: root.traceId, spanId, sampled: true }),
      end: (attributes, error) => {
        if (ended) return;
        ended = true;
        // the host ignores spans past its limit anyway; not sending them keeps stdout quiet
        if (++this.count > SPAN_LIMITS.perMessage) return;
        this.finished.push({
          type: 'span', messageId: this.messageId, spanId, parentSpanId, name, startMs, endMs: nowMs(),
          ...(error ? { error: true } : {}), ...(attributes ? { attributes } : {}),
        });
      },
    };
  }

  /** The frames of the spans finished so far, for the write that carries the message's end. */
  take(): SpanFrame[] {
    const out = this.finished;
    this.finished = [];
    return out;
  }
}
