// Enforces agents' idle tiers and ttls (clawpod serve): activity (front-proxy traffic, gateway
// calls, exec, messages) resets an agent's idle time; each tick pauses, stops, warns or destroys
// what is due, and a wake (the proxy, a message, exec) brings a paused or stopped agent back.
// What it acts on comes from clawpod's own record of each agent (src/ops/instance-record.ts),
// never from labels: anyone who can create a container can write those.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { egressKeyOf } from '../egress/names.js';
import { loadTenant } from '../fleet/store.js';
import { tenantNames } from '../fleet/derive.js';
import { publishedUrl, waitHealthy } from '../ops/health.js';
import { bornAt, trustedSpec, warmMember } from '../ops/instance-record.js';
import { startAgent } from '../ops/lifecycle.js';
import { profileOf } from '../profiles/index.js';
import { requireFacet, unpauseIfPaused } from '../runtime/facets.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import type { Clock } from './clock.js';
import { nextStep, policyOf, upcoming, type Observed, type Policy, type RunState } from './policy.js';
import type { LifecycleEvent, LifecycleStore } from './store.js';
import { Traffic, WakeTimes, type WakeResult } from './traffic.js';

export type { WakeResult } from './traffic.js';

export interface LifecycleDeps {
  readonly rt: Runtime;
  readonly config: Config;
  readonly store: LifecycleStore;
  readonly clock: Clock;
  readonly say: (line: string) => void;
  /** Removes the agent and everything it owns (src/lifecycle/destroy.ts). */
  readonly destroy: (name: string) => Promise<string[]>;
  /** Every recorded event, for streams and the channels that report them. */
  readonly onEvent?: (e: LifecycleEvent) => void;
  /** Runs after each pass with what it saw (the egress proxies' refusals are copied then). */
  readonly afterPass?: (agents: readonly Managed[]) => Promise<void>;
}

/** An agent the lifecycle looks after: a container clawpod made and keeps a record of. */
export interface Managed {
  readonly name: string;
  readonly id: string;
  readonly state: RunState;
  readonly engineState: string;
  readonly createdMs: number;
  readonly policy: Policy | undefined;
  /** The tenant it is, when it is one (its destroy removes the tenant). */
  readonly tenant: string | undefined;
  /** Its LLM gateway group: gateway calls with that group's tokens count as its activity. */
  readonly group: string | undefined;
  /** With spec.egress: whose proxy it uses (src/egress/names.ts egressKeyOf; a claimed member's is its member name). */
  readonly egressKey: string | undefined;
}

export interface AgentStatus {
  readonly name: string;
  readonly state: 'running' | 'paused' | 'suspended' | 'stopped';
  readonly tenant: string | null;
  readonly idleSeconds: number;
  readonly next: { readonly action: string; readonly inSeconds: number } | null;
  readonly expiresAt: string | null;
  readonly held: { readonly until: string; readonly reason: string } | null;
  /** How long a wake from its state is expected to take (the median of the last ones). */
  readonly expectedWakeMs: number;
}

/** Wakes of this kind take about this long before any was measured. */

function runState(engine: string): RunState | undefined {
  if (engine === 'running') return 'running';
  if (engine === 'paused') return 'paused';
  if (engine === 'exited' || engine === 'stopped' || engine === 'created') return 'stopped';
  return undefined;
}

export class Lifecycle extends Traffic {
  private readonly lastState = new Map<string, RunState>();
  private readonly waking = new Map<string, Promise<WakeResult>>();
  /** Measured wake times (ms) by what it woke from, newest last: the expected wait a `waking` event gives. */
  /** Wakes of each kind take about this long before any was measured: 50 ms from pause, 3 s from stop. */
  private readonly wakeTimes = { paused: new WakeTimes(50), stopped: new WakeTimes(3000) };
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly d: LifecycleDeps) { super(); }

  protected mono(): number { return this.d.clock.mono(); }

  /** Resumes destroys a killed daemon left half-done, then checks every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    for (const row of this.d.store.destroying()) await this.destroy(row.name, 'resumed after a restart');
    this.timer = setInterval(() => { void this.tick(); }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  /** Gateway calls carry a group: every agent wired to it is active. */
  touchGroup(group: string, managed: readonly Managed[] = this.lastSeen): void {
    for (const m of managed) if (m.group === group) this.touch(m.name);
  }

  private lastSeen: Managed[] = [];

  /** The agents clawpod keeps records of, with their policies. */
  async managed(): Promise<Managed[]> {
    const out: Managed[] = [];
    for (const c of await this.d.rt.listContainers({ labels: { [LABELS.managed]: 'true' }, all: true })) {
      const m = this.describe(c);
      if (m) out.push(m);
    }
    this.lastSeen = out;
    return out;
  }

  private describe(c: ContainerInfo): Managed | undefined {
    // session containers belong to the group queue, unclaimed pool members to their pool (their ttl counts from the claim)
    if (c.labels[LABELS.role] === 'session' || warmMember(this.d.config, c)) return undefined;
    const state = runState(c.state);
    const spec = trustedSpec(this.d.config, c);
    if (!spec || !state) return undefined;
    const tenant = c.name.startsWith('tenant-') ? c.name.slice('tenant-'.length) : undefined;
    const isTenant = tenant !== undefined && tenantNames(tenant).agent === c.name && loadTenant(this.d.config, tenant) !== undefined;
    const llm = spec.agent.spec.llm;
    return {
      name: c.name, id: c.id, state, engineState: c.state, createdMs: bornAt(this.d.config, c),
      policy: policyOf(spec.agent.spec.lifecycle),
      tenant: isTenant ? tenant : undefined,
      group: llm === false || llm === undefined ? undefined : llm.group ?? c.name,
      egressKey: spec.agent.spec.egress ? egressKeyOf(c) : undefined,
    };
  }

  private observe(m: Managed): Observed {
    const now = this.d.clock.mono();
    const prev = this.lastState.get(m.name);
    // first sight, or started by someone else since: its idle time starts now
    if (!this.activity.has(m.name) || (prev === 'stopped' && m.state === 'running')) this.touch(m.name);
    this.lastState.set(m.name, m.state);
    const row = this.d.store.agent(m.name);
    return {
      state: m.state, idleMs: now - this.activity.get(m.name)!,
      ageMs: this.d.clock.now() - m.createdMs, warned: row?.warned_id === m.id,
    };
  }

  /** One pass over every agent; never two at once. */
  tick(): Promise<void> {
    this.ticking ??= this.pass().catch((e: unknown) => this.d.say(`lifecycle: ${messageOf(e)}`)).finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    // a destroy that failed (the engine was away, a volume still in use) is tried again at every check
    for (const row of this.d.store.destroying()) {
      // at most once a minute: a destroy that keeps failing should not flood the event log
      if (Date.now() - (this.failedAt.get(row.name) ?? 0) >= 60_000) await this.destroy(row.name, 'tried again after it failed');
    }
    const all = await this.managed();
    for (const m of all) {
      if (m.state !== 'running') this.endpoints.delete(m.name);
      if (!m.policy || this.waking.has(m.name)) continue;
      if (this.open.has(m.name)) { this.touch(m.name); continue; }
      const row = this.d.store.agent(m.name);
      if (row?.destroying_since) continue;
      const step = nextStep(m.policy, this.observe(m));
      if (!step) continue;
      // a request may have come in while this pass listed containers
      if ((step.kind === 'pause' || step.kind === 'stop') && (this.open.has(m.name) || this.waking.has(m.name))) continue;
      try {
        if (step.kind === 'destroy') await this.destroy(m.name, 'its ttl passed');
        else if (step.kind === 'warn') {
          const at = new Date(m.createdMs + m.policy.ttlMs!).toISOString();
          this.d.store.set(m.name, { warned_id: m.id });
          this.event(m.name, 'ttl_warning', { destroyAt: at, inSeconds: Math.round(step.inMs / 1000) });
          this.d.say(`${m.name}: its ttl destroys it at ${at} (in ${Math.round(step.inMs / 60_000)} min)`);
        } else if (step.kind === 'pause') await this.pause(m, `idle for ${Math.round(m.policy.idle[step.tier]!.afterMs / 1000)} s`);
        else await this.suspend(m, `idle for ${Math.round(m.policy.idle[step.tier]!.afterMs / 1000)} s`);
      } catch (e) {
        this.event(m.name, 'lifecycle_failed', { step: step.kind, error: messageOf(e) });
      }
    }
    await this.d.afterPass?.(all);
  }

  /** A pause or stop under way: a wake waits for it to finish, then undoes it (never the other way round). */
  private readonly changing = new Map<string, Promise<unknown>>();
  private async change<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const p = fn();
    this.changing.set(name, p.catch(() => undefined));
    try { return await p; } finally { this.changing.delete(name); }
  }

  private pause(m: Managed, why: string): Promise<void> {
    return this.change(m.name, () => this.doPause(m, why));
  }

  private async doPause(m: Managed, why: string): Promise<void> {
    this.endpoints.delete(m.name);
    await requireFacet(this.d.rt, 'pausing', `pausing idle agent ${m.name}`).pauseContainer(m.id);
    this.d.store.set(m.name, { state: 'paused', since: new Date().toISOString() });
    this.lastState.set(m.name, 'paused');
    this.event(m.name, 'paused', { reason: why });
  }

  /** Stopped, volumes and identity kept; a wake starts it again. */
  suspend(m: Pick<Managed, 'name' | 'id' | 'state'>, why: string): Promise<void> {
    return this.change(m.name, () => this.doSuspend(m, why));
  }

  private async doSuspend(m: Pick<Managed, 'name' | 'id' | 'state'>, why: string): Promise<void> {
    this.endpoints.delete(m.name);
    // a frozen process cannot take its stop signal
    await unpauseIfPaused(this.d.rt, m);
    await this.d.rt.stopContainer(m.id, DEFAULTS.stopTimeoutSeconds);
    this.d.store.set(m.name, { state: 'suspended', since: new Date().toISOString() });
    this.lastState.set(m.name, 'stopped');
    this.event(m.name, 'suspended', { reason: why });
  }

  /** Holds a tenant suspended until a time (its spent budget resets); a wake before it is refused. */
  async hold(name: string, until: string, reason: string): Promise<void> {
    this.d.store.set(name, { hold_until: until, hold_reason: reason });
    // the answer in flight (the agent's own, saying its budget is spent) reaches its user first
    for (let i = 0; i < 100 && this.open.has(name); i++) await sleep(50);
    const m = (await this.managed()).find((x) => x.name === name);
    if (m && m.state !== 'stopped') await this.suspend(m, reason);
  }

  /** Marks the destroy first, so a daemon killed half-way finishes it at its next start. */
  async destroy(name: string, why: string): Promise<void> {
    if (this.destroyingNow.has(name)) return;
    this.destroyingNow.add(name);
    this.d.store.set(name, { destroying_since: this.d.store.agent(name)?.destroying_since ?? new Date().toISOString() });
    this.event(name, 'destroying', { reason: why });
    try {
      this.endpoints.delete(name);
      const gone = await this.d.destroy(name);
      this.d.store.forget(name);
      this.failedAt.delete(name);
      this.activity.delete(name);
      this.lastState.delete(name);
      this.event(name, 'destroyed', { reason: why, removed: gone });
      this.d.say(`${name}: destroyed (${why}): ${gone.join(', ') || 'nothing was left'}`);
    } catch (e) {
      this.failedAt.set(name, Date.now());
      this.event(name, 'destroy_failed', { error: messageOf(e) });
      this.d.say(`${name}: destroy failed, tried again in a minute: ${messageOf(e)}`);
    } finally {
      this.destroyingNow.delete(name);
    }
  }
  private readonly destroyingNow = new Set<string>();
  private readonly failedAt = new Map<string, number>();

  /** The expected wait of a wake from `from`: the median of the last ones measured. */
  expectedWakeMs(from: 'paused' | 'stopped'): number {
    return this.wakeTimes[from].median();
  }

  /** Where a wake stands without waiting for it: for the `waking` event and Retry-After. */
  async stateOf(name: string): Promise<RunState | undefined> {
    const c = await this.d.rt.inspectContainer(name);
    return c ? runState(c.state) : undefined;
  }

  /** Brings the agent back (shared by concurrent callers) and says where it answers. */
  wake(name: string, opts: { budgetMs?: number } = {}): Promise<WakeResult> {
    let p = this.waking.get(name);
    if (!p) {
      const budgetMs = opts.budgetMs ?? 120_000;
      // an engine that stops answering must not hold every later request for this agent forever
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new ClawpodError('UNHEALTHY', `waking ${name} did not finish within ${Math.round(budgetMs / 1000) + 30} s`, { hint: `\`clawpod inspect ${name}\`, \`clawpod doctor\` (is the engine answering?)` })), budgetMs + 30_000);
        timer.unref();
      });
      p = Promise.race([this.doWake(name, budgetMs), deadline]).finally(() => { clearTimeout(timer); this.waking.delete(name); });
      this.waking.set(name, p);
    }
    return p;
  }

  private async doWake(name: string, budgetMs: number): Promise<WakeResult> {
    await this.changing.get(name);
    const d = await this.d.rt.inspectContainer(name);
    const spec = d && d.labels[LABELS.managed] === 'true' ? trustedSpec(this.d.config, d) : undefined;
    // group sessions are the queue's, warm-pool members their pool's, an upgrade's kept or replayed copies its own
    const role = d?.labels[LABELS.role] ?? '';
    // (a claimed warm-pool member is renamed to its agent and is one; refusing by label only ever refuses)
    const unclaimed = role === 'pool' && d?.name === d?.labels[LABELS.instance];
    if (d && spec && (role === 'session' || unclaimed || /-(previous|replay)$/.test(name))) {
      throw new ClawpodError('NOT_FOUND', `${name} is not an agent the proxy wakes (${d.labels[LABELS.role] ?? 'an upgrade\'s copy'})`, { hint: '`clawpod ps` lists agents' });
    }
    if (!d || !spec) {
      throw new ClawpodError('NOT_FOUND', `no clawpod agent named ${name}${d ? ' (clawpod has no record of running this container)' : ''}`, {
        hint: '`clawpod ps -a` lists agents; one removed by its ttl, by `clawpod rm` or with its image (`podman rmi -f`) is gone',
      });
    }
    const row = this.d.store.agent(name);
    if (row?.destroying_since) throw new ClawpodError('NOT_FOUND', `agent ${name} is being destroyed (since ${row.destroying_since})`, { hint: 'run it again to get a new one' });
    if (row?.hold_until && Date.parse(row.hold_until) > this.d.clock.now()) {
      throw new ClawpodError('BUDGET_EXHAUSTED', `agent ${name} is suspended until ${row.hold_until}: ${row.hold_reason ?? 'its budget is spent'}`, { hint: 'wait for the reset, or raise the plan\'s budget and `clawpod tenant update`' });
    }
    const from = runState(d.state);
    if (from === 'stopped' && row?.state !== 'suspended') {
      throw new ClawpodError('USAGE', `agent ${name} is ${d.state}: it was stopped by hand or exited, not suspended by its lifecycle`, { hint: `start it with \`clawpod start ${name}\`; \`clawpod logs ${name}\` shows why it exited` });
    }
    const t0 = performance.now();
    this.touch(name);
    if (from === 'paused') await unpauseIfPaused(this.d.rt, d);
    else if (from === 'stopped') {
      try { await startAgent(this.d.rt, this.d.config, name); } catch (e) {
        throw isClawpodError(e) ? e : new ClawpodError('RUNTIME_ERROR', `agent ${name} could not be started: ${messageOf(e)}`, { hint: `\`clawpod logs ${name}\` shows its last output; \`clawpod inspect ${name}\` its image` });
      }
    } else if (from !== 'running') throw new ClawpodError('RUNTIME_ERROR', `agent ${name} is ${d.state} and cannot be woken`, { hint: `\`clawpod inspect ${name}\`; \`clawpod rm -f ${name}\` and run it again` });
    // a thawed container kept its ports; a started one is asked again (an engine may publish anew)
    const now = from === 'stopped' ? (await this.d.rt.inspectContainer(d.id)) ?? d : d;
    const url = await this.ready(name, spec.agent, now, budgetMs, from === 'stopped');
    const ports = now.ports.map((p) => ({ containerPort: p.containerPort, url: publishedUrl(p) }));
    const ms = performance.now() - t0;
    if (from === 'paused' || from === 'stopped') {
      this.wakeTimes[from].add(ms);
      this.d.store.set(name, { state: null, since: null, hold_until: null, hold_reason: null });
      this.lastState.set(name, 'running');
      this.event(name, 'woken', { from, ms: Math.round(ms) });
    }
    this.touch(name);
    const r: WakeResult = { name, from: from ?? 'running', ms, ports, ...(url ? { url } : {}) };
    this.endpoints.set(name, r);
    return r;
  }

  /** Where it answers once it does: its probes when its profile has them, else its port accepting. */
  private async ready(name: string, agent: NonNullable<ReturnType<typeof trustedSpec>>['agent'], d: ContainerInfo, budgetMs: number, started: boolean): Promise<string | undefined> {
    const profile = profileOf(agent);
    const port = d.ports.find((p) => p.containerPort === profile?.probes?.port) ?? d.ports[0];
    if (!port) return undefined;
    const url = publishedUrl(port);
    if (!started) return url;
    if (profile?.probes) {
      await waitHealthy(this.d.rt, { id: d.id, name, baseUrl: url }, profile.probes, { budgetMs, say: () => undefined, intervalMs: 50 });
      return url;
    }
    const t0 = Date.now();
    const u = new URL(url);
    for (;;) {
      if (await accepts(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port))) return url;
      const state = (await this.d.rt.inspectContainer(d.id))?.state;
      if (state !== 'running') throw new ClawpodError('UNHEALTHY', `agent ${name} stopped (${state ?? 'removed'}) while it was woken`, { hint: `\`clawpod logs ${name}\` shows why` });
      if (Date.now() - t0 > budgetMs) throw new ClawpodError('UNHEALTHY', `agent ${name} does not accept connections on ${url} ${Math.round(budgetMs / 1000)} s after its start`, { hint: `\`clawpod logs ${name}\`` });
      await sleep(25);
    }
  }

  /** For `clawpod ps` and GET /v1/agents. */
  async status(): Promise<AgentStatus[]> {
    const rows = new Map(this.d.store.agents().map((r) => [r.name, r]));
    return (await this.managed()).map((m) => {
      const o = this.observe(m);
      const row = rows.get(m.name);
      const next = m.policy ? upcoming(m.policy, o) : undefined;
      return {
        name: m.name,
        state: m.state === 'stopped' && row?.state === 'suspended' ? 'suspended' : m.state,
        tenant: m.tenant ?? null,
        idleSeconds: Math.round(o.idleMs / 1000),
        next: next ? { action: next.action, inSeconds: Math.round(next.inMs / 1000) } : null,
        expiresAt: m.policy?.ttlMs !== undefined ? new Date(m.createdMs + m.policy.ttlMs).toISOString() : null,
        held: row?.hold_until ? { until: row.hold_until, reason: row.hold_reason ?? '' } : null,
        expectedWakeMs: m.state === 'running' ? 0 : Math.round(this.expectedWakeMs(m.state)),
      };
    });
  }

  events(opts: { agent?: string; after?: number }) { return this.d.store.events(opts); }

  event(agent: string, type: string, data: object): void {
    const e = this.d.store.record(agent, type, data);
    this.d.onEvent?.(e);
  }
}


function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port, timeout: 500 });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
    s.once('timeout', () => { s.destroy(); res(false); });
  });
}

