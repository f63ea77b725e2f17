// Whether clawpod exports traces, and where. OpenTelemetry's own variables come first (as every
// environment variable overrides the file here), then a ControlPlane's spec.tracing. Pure and
// import-free: a process without tracing loads none of the SDK (src/otel/provider.ts does, lazily).
import type { OtelEnv } from '../config.js';
import { ClawpodError } from '../errors.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';

/** The only OTLP transport clawpod ships (@opentelemetry/exporter-trace-otlp-proto). */
const PROTOCOL = 'http/protobuf';

export interface TracingSettings {
  /** The full OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
  readonly url: string;
  readonly serviceName: string;
  /** Which setting turned tracing on, for messages. */
  readonly from: string;
}

/** spec.tracing of a ControlPlane file (src/control/config.ts). */
export interface SpecTracing { readonly endpoint?: string | undefined; readonly serviceName?: string | undefined }

/** Why `value` cannot be an OTLP/HTTP endpoint, or undefined when it can. Shared with the spec schema. */
export function otlpEndpointProblem(value: string): string | undefined {
  let u: URL;
  try { u = new URL(value); } catch { return 'expected an http:// or https:// URL, e.g. "http://127.0.0.1:4318"'; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `expected an http:// or https:// URL (OTLP/HTTP), not ${u.protocol}`;
  if (u.username || u.password) return 'expected a URL without credentials: put them in OTEL_EXPORTER_OTLP_HEADERS';
  return undefined;
}

/** A base endpoint gets the signal's path, as OTEL_EXPORTER_OTLP_ENDPOINT does in every SDK. */
export function tracesUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function checked(value: string, name: string): string {
  const problem = otlpEndpointProblem(value);
  if (problem) throw new ClawpodError('USAGE', `${name}=${value}: ${problem}`, { hint: `set ${name} to the collector's OTLP/HTTP address (port 4318 by default), or unset it to turn tracing off` });
  return value;
}

/** undefined: tracing is off (nothing set, or OTEL_SDK_DISABLED=true). Throws on a value that cannot work. */
export function tracingSettings(env: OtelEnv, spec?: SpecTracing): TracingSettings | undefined {
  if (env.disabled) return undefined;
  const target = env.tracesEndpoint ? { url: checked(env.tracesEndpoint, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' }
    : env.endpoint ? { url: tracesUrl(checked(env.endpoint, 'OTEL_EXPORTER_OTLP_ENDPOINT')), from: 'OTEL_EXPORTER_OTLP_ENDPOINT' }
      : spec?.endpoint ? { url: tracesUrl(spec.endpoint), from: 'spec.tracing.endpoint' } : undefined;
  if (!target) return undefined;
  if (env.protocol && env.protocol !== PROTOCOL) {
    throw new ClawpodError('USAGE', `OTEL_EXPORTER_OTLP_PROTOCOL=${env.protocol}: clawpod exports traces over ${PROTOCOL} only`, { hint: `unset it (or set ${PROTOCOL}) and point the endpoint at the collector's OTLP/HTTP port (4318), not its gRPC port (4317)` });
  }
  return { ...target, serviceName: env.serviceName ?? spec?.serviceName ?? CONTROL_DEFAULTS.tracingServiceName };
}
