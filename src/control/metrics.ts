// The control plane's Prometheus metrics (docs/metrics.md). The daemon calls the narrow methods
// below; prom-client stays inside this file. Each Metrics has its own Registry, never the global
// one, so tests and several daemons in one process do not share or clash over series.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../errors.js';
import type { RuntimeKind } from '../runtime/runtime.js';

export type AgentState = 'running' | 'paused' | 'suspended' | 'stopped';
export type AgentCounts = Partial<Readonly<Record<AgentState, number>>>;
export type MessageOutcome = 'answered' | 'failed' | 'preempted' | 'dropped';

/** Read at every scrape, so the gauges are never stale; each should be cheap (a scrape waits for them). */
export interface MetricsSources {
  /**
   * Agents by state. It may need the container engine, which can be down exactly when someone
   * looks: a throw leaves clawpod_agents empty for that scrape (not stale) and the rest is served.
   */
  agents(): AgentCounts | Promise<AgentCounts>;
  /** Messages stored and waiting for a session, over all groups. In-process: a throw fails the scrape. */
  queueDepth(): number;
  /** Session containers that exist (starting, busy, idle or closing). In-process: a throw fails the scrape. */
  sessionsActive(): number;
}

export interface MetricsOptions {
  readonly sources: MetricsSources;
  /** Distinct values a user-derived label (group, agent) may take in one metric; default 2,000. */
  readonly maxLabelValues?: number;
  /** Process metrics (CPU, memory, event loop, GC) prefixed clawpod_; default true. */
  readonly processMetrics?: boolean;
}

/** What one gateway call did: status is the HTTP status the agent got. */
export interface GatewayCall {
  readonly group: string;
  /** The model's name under spec.models (not the string the agent asked for: that one is the caller's to choose). */
  readonly model: string;
  readonly status: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Left out when the model has no price. */
  readonly spendUsd?: number;
}

export const OTHER = 'other';
const AGENT_STATES: readonly AgentState[] = ['running', 'paused', 'suspended', 'stopped'];
const OUTCOMES: readonly MessageOutcome[] = ['answered', 'failed', 'preempted', 'dropped'];
/** Models, profiles and error codes come from files and code, not users: a few dozen at most. */
const SMALL_CAP = 100;

/**
 * Every distinct label value is a series held in memory until the process ends, and group, agent
 * and model names come from users: a hostile tenant or a huge fleet must not grow the daemon (or
 * Prometheus) without bound. So each such label keeps the first `max` values it sees and folds any
 * later one into `other`. A group literally named "other" shares that series.
 */
class Cap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(value);
    return value;
  }
}

/** Counters throw on negatives and NaN; metrics must never throw into the daemon, so those are dropped. */
const valid = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 0;

export class Metrics {
  /** The Content-Type of what render() returns (Prometheus text format 0.0.4). */
  readonly contentType: string;
  private readonly reg = new Registry();
  private readonly startSeconds: Histogram<'runtime' | 'profile'>;
  private readonly messages: Counter<'outcome'>;
  private readonly followupSeconds: Histogram;
  private readonly requests: Counter<'group' | 'model' | 'status'>;
  private readonly tokens: Counter<'group' | 'model' | 'direction'>;
  private readonly spend: Counter<'group' | 'model'>;
  private readonly exhausted: Counter<'group'>;
  private readonly errors: Counter<'code'>;
  private readonly restarts: Counter<'agent'>;
  private readonly sessionsFailed: Counter<'group'>;
  private readonly caps: { group: Cap; model: Cap; exhausted: Cap; failed: Cap; agent: Cap; profile: Cap; code: Cap };

  constructor(o: MetricsOptions) {
    const registers = [this.reg];
    const max = o.maxLabelValues ?? 2000;
    // the gateway's three counters are fed the same (group, model) pairs, so they share one cap each
    this.caps = { group: new Cap(max), model: new Cap(Math.min(max, SMALL_CAP)), exhausted: new Cap(max), failed: new Cap(max), agent: new Cap(max), profile: new Cap(SMALL_CAP), code: new Cap(SMALL_CAP) };
    this.contentType = this.reg.contentType;
    if (o.processMetrics !== false) collectDefaultMetrics({ register: this.reg, prefix: 'clawpod_' });

    this.startSeconds = new Histogram({
      name: 'clawpod_agent_start_seconds', help: 'Time from asking for an agent or session container to it running, by runtime and profile.',
      labelNames: ['runtime', 'profile'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60], registers,
    });
    const { sources } = o;
    new Gauge({
      name: 'clawpod_agents', help: 'Agents clawpod keeps a record of, by state.', labelNames: ['state'], registers,
      async collect() {
        let counts: AgentCounts;
        try { counts = await sources.agents(); } catch { this.reset(); return; }
        for (const state of AGENT_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({ name: 'clawpod_queue_depth', help: 'Messages stored and waiting for a session, all groups.', registers, collect() { this.set(sources.queueDepth()); } });
    new Gauge({ name: 'clawpod_sessions_active', help: 'Session containers that exist (starting, busy, idle or closing).', registers, collect() { this.set(sources.sessionsActive()); } });
    this.messages = new Counter({ name: 'clawpod_messages_total', help: 'Messages that reached an end, by outcome.', labelNames: ['outcome'], registers });
    // a known set: every outcome is a series from the start, so rate() and ratios work at once
    for (const outcome of OUTCOMES) this.messages.inc({ outcome }, 0);
    this.followupSeconds = new Histogram({
      name: 'clawpod_followup_delivery_seconds', help: 'Time to hand a follow-up to a running session (a file renamed into its folder, or a stdin line).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    this.requests = new Counter({ name: 'clawpod_gateway_requests_total', help: 'Calls to the LLM gateway, by group, model and the HTTP status the agent got.', labelNames: ['group', 'model', 'status'], registers });
    this.tokens = new Counter({ name: 'clawpod_gateway_tokens_total', help: 'Tokens the providers reported through the gateway, by group, model and direction.', labelNames: ['group', 'model', 'direction'], registers });
    this.spend = new Counter({ name: 'clawpod_gateway_spend_usd_total', help: 'Estimated provider spend in US dollars, by group and model.', labelNames: ['group', 'model'], registers });
    this.exhausted = new Counter({ name: 'clawpod_budget_exhausted_total', help: 'Gateway calls that found their group\'s LLM budget spent.', labelNames: ['group'], registers });
    this.errors = new Counter({ name: 'clawpod_errors_total', help: 'Errors reported, by their stable code (src/errors.ts).', labelNames: ['code'], registers });
    this.restarts = new Counter({ name: 'clawpod_agent_restarts_total', help: 'Agent restarts after a crash or an unexpected exit, by agent.', labelNames: ['agent'], registers });
    this.sessionsFailed = new Counter({ name: 'clawpod_sessions_failed_total', help: 'Sessions that could not start or ended abnormally, by group.', labelNames: ['group'], registers });
  }

  /** An agent or session container is up, `seconds` after it was asked for. */
  agentStarted(runtime: RuntimeKind, profile: string, seconds: number): void {
    if (valid(seconds)) this.startSeconds.observe({ runtime, profile: this.caps.profile.of(profile) }, seconds);
  }

  messageEnded(outcome: MessageOutcome): void {
    this.messages.inc({ outcome });
  }

  followupDelivered(seconds: number): void {
    if (valid(seconds)) this.followupSeconds.observe(seconds);
  }

  gatewayCall(c: GatewayCall): void {
    const group = this.caps.group.of(c.group);
    const model = this.caps.model.of(c.model);
    // exact codes (the alerts tell 429 from 5xx); anything outside HTTP's range is one value
    const status = Number.isInteger(c.status) && c.status >= 100 && c.status <= 599 ? String(c.status) : OTHER;
    this.requests.inc({ group, model, status });
    if (valid(c.inputTokens)) this.tokens.inc({ group, model, direction: 'input' }, c.inputTokens);
    if (valid(c.outputTokens)) this.tokens.inc({ group, model, direction: 'output' }, c.outputTokens);
    if (valid(c.spendUsd)) this.spend.inc({ group, model }, c.spendUsd);
  }

  budgetExhausted(group: string): void {
    this.exhausted.inc({ group: this.caps.exhausted.of(group) });
  }

  error(code: ErrorCode): void {
    this.errors.inc({ code: this.caps.code.of(code) });
  }

  agentRestarted(agent: string): void {
    this.restarts.inc({ agent: this.caps.agent.of(agent) });
  }

  sessionFailed(group: string): void {
    this.sessionsFailed.inc({ group: this.caps.failed.of(group) });
  }

  /** The exposition text for GET /metrics; the gauges' sources are read now. */
  render(): Promise<string> {
    return this.reg.metrics();
  }
}
