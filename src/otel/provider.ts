// The OpenTelemetry SDK: a tracer provider with a batch processor exporting OTLP/HTTP protobuf.
// Import this module only once tracing is on (src/otel/settings.ts), with import(): it loads the
// SDK (the packages are imported statically here, as a bundle needs CommonJS ones to be). Each
// part that traces (a control plane, a CLI verb) starts its own and hands it down; nothing is
// registered globally, so contexts are always passed explicitly. The SDK reads its tuning
// variables itself (OTEL_BSP_*, OTEL_TRACES_SAMPLER*, OTEL_EXPORTER_OTLP_HEADERS/_TIMEOUT/_COMPRESSION).
import type { Context, Span, SpanOptions, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingSettings } from './settings.js';

export interface Tracing {
  readonly tracer: Tracer;
  readonly settings: TracingSettings;
  /** Starts a span with a given id: a runner chose it, and its children already point at it. */
  startSpanWithId(spanId: string, name: string, options: SpanOptions, parent: Context): Span;
  /** Exports what is buffered and stops; spans ended later are dropped. */
  shutdown(): Promise<void>;
}

/** Ids as the SDK makes them, except the next span id when one is preset (synchronously, just before startSpan). */
class PresetSpanIds {
  next: string | undefined;
  constructor(private readonly random: { generateTraceId(): string; generateSpanId(): string }) {}
  generateTraceId(): string { return this.random.generateTraceId(); }
  generateSpanId(): string {
    const id = this.next ?? this.random.generateSpanId();
    this.next = undefined;
    return id;
  }
}

/** The exporter, saying once why an export failed: otherwise a wrong endpoint is silent. */
function warnOnce(exporter: SpanExporter, url: string, warn: (line: string) => void): SpanExporter {
  let warned = false;
  return {
    export(spans: ReadableSpan[], done) {
      exporter.export(spans, (r) => {
        if (r.code !== 0 && !warned) {
          warned = true;
          warn(`warning: traces could not be exported to ${url}: ${r.error?.message ?? 'unknown error'} (spans are dropped; later failures are not reported)`);
        }
        done(r);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** `exporter` replaces OTLP (tests read spans from memory). */
export function startTracing(settings: TracingSettings, warn: (line: string) => void, exporter?: SpanExporter): Tracing {
  const ids = new PresetSpanIds(new RandomIdGenerator());
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor(warnOnce(exporter ?? new OTLPTraceExporter({ url: settings.url }), settings.url, warn))],
  });
  const tracer = provider.getTracer('clawpod');
  return {
    tracer,
    settings,
    startSpanWithId(spanId, name, options, parent) {
      ids.next = spanId;
      try { return tracer.startSpan(name, options, parent); } finally { ids.next = undefined; }
    },
    shutdown: () => provider.shutdown(),
  };
}
