// The proxy's record of what it did: one JSON line per refusal (and per credential use) that the
// host side reads from the proxy container's log (src/egress/host-events.ts), and Prometheus counters.
import { appendFileSync } from 'node:fs';
import { Counter, Registry } from 'prom-client';
import type { RefusalReason } from './policy.js';

/** The prefix of every event line, so a reader can tell events from other output. */
export const EVENT_PREFIX = 'clawpod-egress ';

export interface EgressEvent {
  readonly type: 'egress.refused' | 'egress.credential' | 'egress.started';
  readonly time: string;
  readonly agent: string;
  readonly reason?: RefusalReason;
  /** What was asked for: a host, host:port, or a DNS name. */
  readonly target?: string;
  /** CONNECT, GET (absolute URI), DNS, TLS. */
  readonly via?: string;
  readonly detail?: string;
}

export class EgressRecorder {
  readonly registry = new Registry();
  private readonly refused = new Counter({ name: 'clawpod_egress_refused_total', help: 'Requests and DNS queries the egress proxy refused, by reason', labelNames: ['reason', 'via'] as const, registers: [this.registry] });
  private readonly allowed = new Counter({ name: 'clawpod_egress_allowed_total', help: 'Connections the egress proxy let through', labelNames: ['via'] as const, registers: [this.registry] });
  private readonly injected = new Counter({ name: 'clawpod_egress_credential_requests_total', help: 'Requests the proxy added a credential header to, by host', labelNames: ['host'] as const, registers: [this.registry] });

  constructor(private readonly agent: string, private readonly sink: string, private readonly now: () => Date = () => new Date()) {}

  private write(e: Omit<EgressEvent, 'time' | 'agent'>): void {
    const line = `${EVENT_PREFIX}${JSON.stringify({ ...e, time: this.now().toISOString(), agent: this.agent })}\n`;
    if (this.sink === 'stdout') process.stdout.write(line);
    else appendFileSync(this.sink, line);
  }

  refuse(reason: RefusalReason, target: string, via: string, detail?: string): void {
    this.refused.inc({ reason, via });
    this.write({ type: 'egress.refused', reason, target, via, ...(detail ? { detail } : {}) });
  }

  allow(via: string): void { this.allowed.inc({ via }); }

  credential(host: string): void { this.injected.inc({ host }); }

  started(detail: string): void { this.write({ type: 'egress.started', detail }); }
}

/** Reads one log line back into an event; undefined for any other line. */
export function parseEventLine(line: string): EgressEvent | undefined {
  if (!line.startsWith(EVENT_PREFIX)) return undefined;
  try {
    const e = JSON.parse(line.slice(EVENT_PREFIX.length)) as EgressEvent;
    return typeof e.type === 'string' && e.type.startsWith('egress.') ? e : undefined;
  } catch { return undefined; }
}
