import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Metrics, type AgentCounts, type MetricsSources } from '../../src/control/metrics.js';

const sources = (over: Partial<MetricsSources> = {}): MetricsSources => ({
  agents: () => ({ running: 3, paused: 1, stopped: 2 }),
  queueDepth: () => 7,
  sessionsActive: () => 4,
  ...over,
});

/** The sample lines of one metric name, e.g. `clawpod_agents{state="running"} 3`. */
const samples = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics', () => {
  it('renders every metric with its HELP and TYPE lines and the labels the daemon gave', async () => {
    const m = new Metrics({ sources: sources() });
    m.agentStarted('podman', 'openclaw', 1.3);
    m.agentStarted('kubernetes', 'reference', 0.07);
    m.messageEnded('answered');
    m.messageEnded('answered');
    m.messageEnded('preempted');
    m.followupDelivered(0.002);
    m.gatewayCall({ group: 'acme', model: 'claude', status: 200, inputTokens: 120, outputTokens: 30, spendUsd: 0.0042 });
    m.gatewayCall({ group: 'acme', model: 'claude', status: 429 });
    m.budgetExhausted('acme');
    m.error('RUNTIME_UNAVAILABLE');
    m.agentRestarted('web');
    m.sessionFailed('acme');
    const text = await m.render();
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    const types: Record<string, string> = {
      clawpod_agent_start_seconds: 'histogram', clawpod_queue_depth: 'gauge', clawpod_sessions_active: 'gauge',
      clawpod_agents: 'gauge', clawpod_messages_total: 'counter', clawpod_followup_delivery_seconds: 'histogram',
      clawpod_gateway_requests_total: 'counter', clawpod_gateway_tokens_total: 'counter', clawpod_gateway_spend_usd_total: 'counter',
      clawpod_budget_exhausted_total: 'counter', clawpod_errors_total: 'counter', clawpod_agent_restarts_total: 'counter',
      clawpod_sessions_failed_total: 'counter',
    };
    for (const [name, type] of Object.entries(types)) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.+$`, 'm'));
      expect(text).toContain(`\n# TYPE ${name} ${type}\n`);
    }

    expect(value(text, 'clawpod_agent_start_seconds_count{runtime="podman",profile="openclaw"}')).toBe(1);
    expect(value(text, 'clawpod_agent_start_seconds_bucket{le="0.05",runtime="podman",profile="openclaw"}')).toBe(0);
    expect(value(text, 'clawpod_agent_start_seconds_bucket{le="2",runtime="podman",profile="openclaw"}')).toBe(1);
    expect(value(text, 'clawpod_agent_start_seconds_bucket{le="0.1",runtime="kubernetes",profile="reference"}')).toBe(1);
    expect(samples(text, 'clawpod_agent_start_seconds_bucket').some((l) => l.includes('le="60"'))).toBe(true);
    expect(value(text, 'clawpod_agents{state="running"}')).toBe(3);
    expect(value(text, 'clawpod_agents{state="paused"}')).toBe(1);
    expect(value(text, 'clawpod_agents{state="suspended"}')).toBe(0); // every state is a series, even at zero
    expect(value(text, 'clawpod_agents{state="stopped"}')).toBe(2);
    expect(value(text, 'clawpod_queue_depth')).toBe(7);
    expect(value(text, 'clawpod_sessions_active')).toBe(4);
    expect(value(text, 'clawpod_messages_total{outcome="answered"}')).toBe(2);
    expect(value(text, 'clawpod_messages_total{outcome="preempted"}')).toBe(1);
    expect(value(text, 'clawpod_messages_total{outcome="failed"}')).toBe(0);
    expect(value(text, 'clawpod_messages_total{outcome="dropped"}')).toBe(0);
    expect(value(text, 'clawpod_followup_delivery_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(value(text, 'clawpod_followup_delivery_seconds_sum')).toBe(0.002);
    expect(value(text, 'clawpod_gateway_requests_total{group="acme",model="claude",status="200"}')).toBe(1);
    expect(value(text, 'clawpod_gateway_requests_total{group="acme",model="claude",status="429"}')).toBe(1);
    expect(value(text, 'clawpod_gateway_tokens_total{group="acme",model="claude",direction="input"}')).toBe(120);
    expect(value(text, 'clawpod_gateway_tokens_total{group="acme",model="claude",direction="output"}')).toBe(30);
    expect(value(text, 'clawpod_gateway_spend_usd_total{group="acme",model="claude"}')).toBe(0.0042);
    expect(value(text, 'clawpod_budget_exhausted_total{group="acme"}')).toBe(1);
    expect(value(text, 'clawpod_errors_total{code="RUNTIME_UNAVAILABLE"}')).toBe(1);
    expect(value(text, 'clawpod_agent_restarts_total{agent="web"}')).toBe(1);
    expect(value(text, 'clawpod_sessions_failed_total{group="acme"}')).toBe(1);
    // the process metrics, under clawpod_
    expect(text).toContain('\n# TYPE clawpod_process_cpu_seconds_total counter\n');
    expect(text).toMatch(/^clawpod_nodejs_heap_size_used_bytes \d/m);
  });

  it('reads its sources at every scrape', async () => {
    let depth = 1;
    const m = new Metrics({ sources: sources({ queueDepth: () => depth }), processMetrics: false });
    expect(value(await m.render(), 'clawpod_queue_depth')).toBe(1);
    depth = 9;
    expect(value(await m.render(), 'clawpod_queue_depth')).toBe(9);
  });

  it('serves the rest when the agent counts cannot be had (an engine that is down), without stale counts', async () => {
    let counts: () => Promise<AgentCounts> = () => Promise.resolve({ running: 5 });
    const m = new Metrics({ sources: sources({ agents: () => counts() }), processMetrics: false });
    expect(value(await m.render(), 'clawpod_agents{state="running"}')).toBe(5);
    counts = () => Promise.reject(new Error('engine not answering'));
    const text = await m.render();
    expect(samples(text, 'clawpod_agents')).toEqual([]);
    expect(value(text, 'clawpod_queue_depth')).toBe(7);
  });

  it('never throws into the daemon: negative, NaN and infinite amounts are dropped, odd statuses folded', async () => {
    const m = new Metrics({ sources: sources(), processMetrics: false });
    expect(() => {
      m.agentStarted('docker', 'reference', -1);
      m.followupDelivered(Number.NaN);
      m.gatewayCall({ group: 'g', model: 'm', status: 0, inputTokens: -5, outputTokens: Number.POSITIVE_INFINITY, spendUsd: Number.NaN });
    }).not.toThrow();
    const text = await m.render();
    expect(samples(text, 'clawpod_agent_start_seconds_count')).toEqual([]);
    expect(value(text, 'clawpod_followup_delivery_seconds_count')).toBe(0);
    expect(value(text, 'clawpod_gateway_requests_total{group="g",model="m",status="other"}')).toBe(1);
    expect(samples(text, 'clawpod_gateway_tokens_total')).toEqual([]);
    expect(samples(text, 'clawpod_gateway_spend_usd_total')).toEqual([]);
  });

  it('caps the distinct values of user-derived labels and folds the rest into "other"', async () => {
    const m = new Metrics({ sources: sources(), maxLabelValues: 3, processMetrics: false });
    for (const g of ['a', 'b', 'c', 'd', 'e']) {
      m.gatewayCall({ group: g, model: 'claude', status: 200, inputTokens: 1 });
      m.budgetExhausted(g);
      m.sessionFailed(g);
      m.agentRestarted(`agent-${g}`);
    }
    m.gatewayCall({ group: 'a', model: 'claude', status: 200 }); // a value seen before stays itself
    const text = await m.render();
    const groups = (name: string) => samples(text, name).map((l) => /group="([^"]*)"/.exec(l)?.[1]);
    expect(groups('clawpod_gateway_requests_total')).toEqual(['a', 'b', 'c', 'other']);
    expect(value(text, 'clawpod_gateway_requests_total{group="a",model="claude",status="200"}')).toBe(2);
    expect(value(text, 'clawpod_gateway_requests_total{group="other",model="claude",status="200"}')).toBe(2);
    expect(value(text, 'clawpod_gateway_tokens_total{group="other",model="claude",direction="input"}')).toBe(2);
    expect(groups('clawpod_budget_exhausted_total')).toEqual(['a', 'b', 'c', 'other']);
    expect(groups('clawpod_sessions_failed_total')).toEqual(['a', 'b', 'c', 'other']);
    expect(samples(text, 'clawpod_agent_restarts_total').map((l) => /agent="([^"]*)"/.exec(l)?.[1])).toEqual(['agent-a', 'agent-b', 'agent-c', 'other']);
    expect(value(text, 'clawpod_agent_restarts_total{agent="other"}')).toBe(2);
  });

  it('holds the default cap at 2,000 groups, and at 100 models even when a caller passes what an agent asked for', async () => {
    const m = new Metrics({ sources: sources(), processMetrics: false });
    for (let i = 0; i < 2100; i++) m.gatewayCall({ group: `g${i}`, model: `model-${i}`, status: 200 });
    const text = await m.render();
    const series = samples(text, 'clawpod_gateway_requests_total');
    expect(new Set(series.map((l) => /group="([^"]*)"/.exec(l)?.[1])).size).toBe(2001);
    expect(new Set(series.map((l) => /model="([^"]*)"/.exec(l)?.[1])).size).toBe(101);
  });

  it('keeps two instances apart: own registries, no clash, no shared series', async () => {
    const a = new Metrics({ sources: sources() });
    const b = new Metrics({ sources: sources({ queueDepth: () => 2 }) });
    a.messageEnded('failed');
    a.agentRestarted('only-in-a');
    const [ta, tb] = [await a.render(), await b.render()];
    expect(value(ta, 'clawpod_messages_total{outcome="failed"}')).toBe(1);
    expect(value(tb, 'clawpod_messages_total{outcome="failed"}')).toBe(0);
    expect(tb).not.toContain('only-in-a');
    expect(value(ta, 'clawpod_queue_depth')).toBe(7);
    expect(value(tb, 'clawpod_queue_depth')).toBe(2);
  });

  // the time is printed, not asserted: speed is measured in bench/ (npm run bench:metrics), where
  // nothing else runs; a timed test fails on a busy machine without anything being slower
  it('renders 1,000 groups and agents worth of series (every group\'s series present)', async () => {
    const m = new Metrics({ sources: sources({ agents: () => ({ running: 600, paused: 200, suspended: 100, stopped: 100 }) }) });
    for (let i = 0; i < 1000; i++) {
      const group = `tenant-${i}`;
      m.gatewayCall({ group, model: 'claude', status: 200, inputTokens: 100, outputTokens: 20, spendUsd: 0.001 });
      m.gatewayCall({ group, model: 'claude', status: 429 });
      m.budgetExhausted(group);
      m.sessionFailed(group);
      m.agentRestarted(group);
      m.agentStarted(i % 2 ? 'podman' : 'kubernetes', i % 3 ? 'openclaw' : 'reference', (i % 60) + 0.05);
      m.followupDelivered(0.002);
    }
    await m.render(); // warm: the first render compiles prom-client's paths
    // wall time and this process's CPU time per render (other work on a shared machine stretches the
    // wall time of a scrape without it costing more)
    const wall: number[] = [];
    const cpu: number[] = [];
    let text = '';
    for (let i = 0; i < 7; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      text = await m.render();
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    process.stderr.write(`[metrics] render of ${lines} samples (${(text.length / 1024).toFixed(0)} KiB): median ${median(wall).toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU; wall runs ${wall.map((r) => r.toFixed(1)).join(' ')} ms\n`);
    expect(lines).toBeGreaterThan(7000);
    expect(text).toContain('group="tenant-999"');
  });
});
