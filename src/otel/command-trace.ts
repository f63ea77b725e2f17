// The traced side of src/otel/command.ts, loaded only when tracing is on: the command's root span,
// a child per phase (failed ones marked with their error code), and an export before it returns
// (a command is too short-lived for the batch processor's background flush).
import { ROOT_CONTEXT, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { isClawpodError } from '../errors.js';
import type { CommandTrace } from './command.js';
import type { Phase } from './phases.js';
import { startTracing } from './provider.js';
import type { TracingSettings } from './settings.js';

function failed(span: Span, e: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, isClawpodError(e) ? e.code : 'error');
  span.setStatus({ code: SpanStatusCode.ERROR });
}

export async function runTraced<T>(settings: TracingSettings, name: string, warn: (line: string) => void, fn: (t: CommandTrace) => Promise<T>): Promise<T> {
  const tracing = startTracing(settings, warn);
  const root = tracing.tracer.startSpan(name, {}, ROOT_CONTEXT);
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  const phase: Phase = async (n, f) => {
    const span = tracing.tracer.startSpan(n, {}, parent);
    try { return await f(); } catch (e) { failed(span, e); throw e; } finally { span.end(); }
  };
  try {
    return await fn({ phase, set: (a) => root.setAttributes(a) });
  } catch (e) {
    failed(root, e);
    throw e;
  } finally {
    root.end();
    await tracing.shutdown();
  }
}
