// The lifecycle's decisions without a runtime: idle tiers in order, the ttl and its warning, what
// `clawpod ps` shows next, a clock that jumps, Host-header routing, and the specs that carry them.
import { describe, expect, it } from 'vitest';
import { trustedClock } from '../../src/lifecycle/clock.js';
import { nextStep, policyOf, upcoming, type Observed } from '../../src/lifecycle/policy.js';
import { routeOf } from '../../src/lifecycle/proxy.js';
import { AgentSchema } from '../../src/spec/schema.js';
import { PlanSchema, TenantSchema } from '../../src/fleet/schema.js';
import { tenantAgent } from '../../src/fleet/derive.js';

const p = policyOf({ idle: [{ after: '5m', action: 'pause' }, { after: '1h', action: 'stop' }], ttl: '24h' })!;
const at = (o: Partial<Observed>): Observed => ({ state: 'running', idleMs: 0, ageMs: 0, warned: false, ...o });
const MIN = 60_000;

describe('nextStep', () => {
  it('pauses after the first tier, stops after the second, and nothing in between', () => {
    expect(nextStep(p, at({ idleMs: 4 * MIN }))).toBeUndefined();
    expect(nextStep(p, at({ idleMs: 5 * MIN }))).toEqual({ kind: 'pause', tier: 0 });
    expect(nextStep(p, at({ state: 'paused', idleMs: 30 * MIN }))).toBeUndefined();
    expect(nextStep(p, at({ state: 'paused', idleMs: 60 * MIN }))).toEqual({ kind: 'stop', tier: 1 });
    // a running agent idle past both tiers is stopped at once, not paused first
    expect(nextStep(p, at({ idleMs: 61 * MIN }))).toEqual({ kind: 'stop', tier: 1 });
    expect(nextStep(p, at({ state: 'stopped', idleMs: 99 * MIN }))).toBeUndefined();
  });

  it('warns ttlWarning before the ttl, once, then destroys whatever the state', () => {
    const day = 24 * 60 * MIN;
    expect(nextStep(p, at({ ageMs: day - 11 * MIN }))).toBeUndefined();
    expect(nextStep(p, at({ ageMs: day - 10 * MIN }))).toEqual({ kind: 'warn', inMs: 10 * MIN });
    expect(nextStep(p, at({ ageMs: day - 5 * MIN, warned: true }))).toBeUndefined();
    for (const state of ['running', 'paused', 'stopped'] as const) expect(nextStep(p, at({ state, ageMs: day, warned: true }))).toEqual({ kind: 'destroy' });
  });

  it('upcoming says the nearest step for ps', () => {
    expect(upcoming(p, at({ idleMs: 2 * MIN }))).toEqual({ action: 'pause', inMs: 3 * MIN });
    expect(upcoming(p, at({ state: 'paused', idleMs: 10 * MIN }))).toEqual({ action: 'stop', inMs: 50 * MIN });
    expect(upcoming(p, at({ state: 'stopped', ageMs: 60 * MIN }))).toEqual({ action: 'destroy', inMs: 23 * 60 * MIN });
    expect(policyOf({ idleTimeout: '30m' } as never)).toBeUndefined();
  });
});

describe('trustedClock', () => {
  it('a wall clock that jumps a day ahead does not bring a ttl closer; one that goes back only delays', () => {
    let wall = Date.parse('2026-11-28T12:00:00Z');
    let mono = 1000;
    const c = trustedClock(() => wall, () => mono);
    mono += 60_000; wall += 60_000;
    expect(c.now()).toBe(Date.parse('2026-11-28T12:01:00Z'));
    wall += 24 * 60 * MIN; // someone set the clock a day ahead
    expect(c.now()).toBe(Date.parse('2026-11-28T12:01:00Z'));
    const day = policyOf({ ttl: '2h' })!;
    expect(nextStep(day, at({ ageMs: c.now() - Date.parse('2026-11-28T11:00:00Z') }))).toBeUndefined();
    wall -= 48 * 60 * MIN; // and then a day behind
    expect(c.now()).toBe(wall);
  });
});

describe('routeOf', () => {
  it('takes NAME from NAME.DOMAIN[:port] and nothing else', () => {
    expect(routeOf('web.localhost:7880', 'localhost')).toEqual({ agent: 'web' });
    expect(routeOf('WEB.LocalHost.', 'localhost')).toEqual({ agent: 'web' });
    for (const bad of [undefined, 'localhost', 'web.localhost.evil.com', 'a.b.localhost', '..localhost', '-x.localhost', 'web.example.com', 'web_localhost', 'x'.repeat(64) + '.localhost']) {
      expect(routeOf(bad, 'localhost'), String(bad)).toBeUndefined();
    }
    expect(routeOf('t1.agents.example.com', 'agents.example.com')).toEqual({ agent: 't1' });
  });
});

describe('lifecycle in specs', () => {
  const agent = (lifecycle: unknown) => AgentSchema.safeParse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec: { image: 'x', lifecycle } });
  it('accepts growing tiers and refuses shrinking ones, a tier after stop, and bad durations, by path', () => {
    expect(agent({ idle: [{ after: '5m', action: 'pause' }, { after: '1h', action: 'stop' }], ttl: '24h', ttlWarning: '30m' }).success).toBe(true);
    const issues = (l: unknown) => { const r = agent(l); return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`); };
    expect(issues({ idle: [{ after: '1h', action: 'pause' }, { after: '5m', action: 'stop' }] })).toEqual([expect.stringMatching(/^spec\.lifecycle\.idle\.1\.after: expected a longer wait/)]);
    expect(issues({ idle: [{ after: '5m', action: 'stop' }, { after: '1h', action: 'pause' }] })).toEqual([expect.stringMatching(/^spec\.lifecycle\.idle\.1: expected no tier after a stop/)]);
    expect(issues({ idle: [{ after: 5, action: 'pause' }] })[0]).toMatch(/^spec\.lifecycle\.idle\.0\.after: expected a duration/);
    expect(issues({ idle: [{ after: '5m', action: 'sleep' }] })[0]).toMatch(/^spec\.lifecycle\.idle\.0\.action/);
  });

  it('plans carry tiers and a budget action; tenants override the tiers', () => {
    const plan = PlanSchema.parse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Plan', metadata: { name: 'p' }, spec: { lifecycle: { idle: [{ after: '10m', action: 'stop' }] } } });
    expect(plan.spec.lifecycle?.onBudgetExhausted).toBe('throttle');
    expect(PlanSchema.safeParse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Plan', metadata: { name: 'p' }, spec: { lifecycle: { onBudgetExhausted: 'explode' } } }).success).toBe(false);
    const tenant = TenantSchema.parse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Tenant', metadata: { name: 't' }, spec: { plan: 'p', profile: 'runner', lifecycle: { ttl: '1d' } } });
    // the agent gets the plan's tiers with the tenant's ttl over them; the budget action stays the gateway's
    expect(tenantAgent(tenant, plan).spec.lifecycle).toEqual({ idleTimeout: '30m', idle: [{ after: '10m', action: 'stop' }], ttl: '1d' });
  });
});
