// A CLI command as one trace (docs/tracing.md): a root span named after the command
// (`clawpod run`, `clawpod apply`) and one child per phase. Off unless OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: only then is the SDK loaded (command-trace.ts).
import type { Config } from '../config.js';
import { untraced, type Phase } from './phases.js';
import { tracingSettings } from './settings.js';

export interface CommandTrace {
  readonly phase: Phase;
  /** Attributes of the command's span: names, counts, outcomes; never a spec's values or secrets. */
  set(attributes: Readonly<Record<string, string | number | boolean>>): void;
}

const UNTRACED: CommandTrace = { phase: untraced, set: () => undefined };

/** Runs `fn` as the command `name`; `warn` hears once if the spans cannot be exported. */
export async function traceCommand<T>(config: Config, name: string, warn: (line: string) => void, fn: (t: CommandTrace) => Promise<T>): Promise<T> {
  const settings = tracingSettings(config.otel);
  if (!settings) return fn(UNTRACED);
  const { runTraced } = await import('./command-trace.js');
  return runTraced(settings, name, warn, fn);
}
