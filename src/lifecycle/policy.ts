// What the lifecycle does next to one agent: pure, so the tiers, the ttl and its warning are
// tested without a clock or a runtime (test/unit/lifecycle-policy.test.ts).
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import { validatedDurationMs } from '../spec/quantity.js';

export type IdleAction = 'pause' | 'stop';

export interface Policy {
  /** In order of afterMs. */
  readonly idle: readonly { readonly afterMs: number; readonly action: IdleAction }[];
  readonly ttlMs?: number;
  readonly warnMs: number;
}

/** What the engine says, narrowed to what the lifecycle acts on. */
export type RunState = 'running' | 'paused' | 'stopped';

export interface Observed {
  readonly state: RunState;
  /** Since the last activity (monotonic: a clock jump does not make an agent idle). */
  readonly idleMs: number;
  /** Since it was created, on the trusted clock (src/lifecycle/clock.ts). */
  readonly ageMs: number;
  readonly warned: boolean;
}

export type Step =
  | { readonly kind: 'destroy' }
  | { readonly kind: 'warn'; readonly inMs: number }
  | { readonly kind: IdleAction; readonly tier: number };

/** The policy of a validated spec.lifecycle (agent, tenant, plan). */
export function policyOf(l: { idle?: readonly { after: string | number; action: IdleAction }[] | undefined; ttl?: string | number | undefined; ttlWarning?: string | number | undefined } | undefined): Policy | undefined {
  if (!l || (!l.idle?.length && l.ttl === undefined)) return undefined;
  return {
    idle: (l.idle ?? []).map((t) => ({ afterMs: validatedDurationMs(t.after), action: t.action })),
    ...(l.ttl !== undefined ? { ttlMs: validatedDurationMs(l.ttl) } : {}),
    warnMs: validatedDurationMs(l.ttlWarning ?? CONTROL_DEFAULTS.ttlWarning),
  };
}

/** The one step due now, the most final first: destroy, then the warning, then the deepest idle tier reached. */
export function nextStep(p: Policy, o: Observed): Step | undefined {
  if (p.ttlMs !== undefined) {
    if (o.ageMs >= p.ttlMs) return { kind: 'destroy' };
    if (!o.warned && o.ageMs >= p.ttlMs - p.warnMs) return { kind: 'warn', inMs: p.ttlMs - o.ageMs };
  }
  let due: number | undefined;
  p.idle.forEach((t, i) => { if (o.idleMs >= t.afterMs) due = i; });
  if (due === undefined) return undefined;
  const tier = p.idle[due]!;
  if (tier.action === 'pause' && o.state === 'running') return { kind: 'pause', tier: due };
  if (tier.action === 'stop' && o.state !== 'stopped') return { kind: 'stop', tier: due };
  return undefined;
}

/** What happens next and in how long, for `clawpod ps`: the nearest idle tier still ahead, or the ttl. */
export function upcoming(p: Policy, o: Observed): { readonly action: IdleAction | 'destroy'; readonly inMs: number } | undefined {
  const ahead: { action: IdleAction | 'destroy'; inMs: number }[] = [];
  if (o.state !== 'stopped') {
    for (const t of p.idle) {
      if (t.afterMs <= o.idleMs) continue;
      if (t.action === 'pause' && o.state === 'paused') continue;
      ahead.push({ action: t.action, inMs: t.afterMs - o.idleMs });
      break;
    }
  }
  if (p.ttlMs !== undefined) ahead.push({ action: 'destroy', inMs: Math.max(0, p.ttlMs - o.ageMs) });
  return ahead.sort((a, b) => a.inMs - b.inMs)[0];
}
