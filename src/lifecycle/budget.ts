// Spend-aware lifecycle: when a tenant's LLM budget runs out, its plan says what happens —
// throttle (the gateway answers 429 naming the limit and the reset), suspend (that, and the
// tenant's agent is stopped until the reset; a wake before it is refused with the same answer),
// or notify (the operator gets the event, the calls go on). Every case is one event per period.
import type { Config } from '../config.js';
import { tenantNames } from '../fleet/derive.js';
import type { BudgetAction } from '../fleet/schema.js';
import { loadTenant } from '../fleet/store.js';
import type { Lifecycle } from './manager.js';

/** The plan's action for a tenant's group (`tenant-NAME`); any other group is throttled. */
export function budgetActionOf(config: Config, group: string): { action: BudgetAction; agent?: string } {
  const m = /^tenant-(.+)$/.exec(group);
  const rec = m ? loadTenant(config, m[1]!) : undefined;
  if (!rec || tenantNames(rec.tenant.metadata.name).group !== group) return { action: 'throttle' };
  return { action: rec.plan.spec.lifecycle?.onBudgetExhausted ?? 'throttle', agent: tenantNames(rec.tenant.metadata.name).agent };
}

export function onBudgetExhausted(config: Config, lifecycle: Lifecycle, say: (l: string) => void) {
  const told = new Set<string>();
  return (group: string, info: { limit: string; resets: string }): BudgetAction => {
    const { action, agent } = budgetActionOf(config, group);
    const key = `${group}\0${info.resets}`;
    if (!told.has(key)) {
      told.add(key);
      lifecycle.event(agent ?? group, 'budget_exhausted', { group, action, used: info.limit, resets: info.resets });
      say(`group ${group}: budget spent (${info.limit}); ${action}${action === 'suspend' ? ` ${agent} until ${info.resets}` : ''}`);
      if (action === 'suspend' && agent) {
        void lifecycle.hold(agent, info.resets, `the LLM budget of group ${group} is spent (${info.limit}); it resets at ${info.resets}`)
          .catch((e: unknown) => lifecycle.event(agent, 'lifecycle_failed', { step: 'suspend', error: String(e) }));
      }
    }
    return action;
  };
}
