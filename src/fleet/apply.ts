// `clawpod tenant apply -f fleet.yaml`: plans saved, then every tenant provisioned (or found as it
// should be), a few at a time, each one's outcome kept — one bad tenant does not stop the others,
// and the summary names each. Every tenant is checked (plan known, forced paths, a valid agent)
// before anything is created, so bad input leaves nothing behind.
import type { Config } from '../config.js';
import { isClawpodError, messageOf } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { tenantAgent } from './derive.js';
import type { FleetFile } from './load.js';
import { provisionTenant } from './local.js';
import { inParallel } from './parallel.js';
import type { Plan, Tenant } from './schema.js';
import { freeSlot, listPlans, loadTenant, savePlan } from './store.js';

export interface ApplyOutcome { readonly name: string; readonly plan: string; readonly result: 'created' | 'unchanged' | 'updated' | 'failed'; readonly seconds: number; readonly error?: string; readonly code?: string; readonly hint?: string }

export interface ApplyProgress { readonly done: number; readonly total: number; readonly last?: ApplyOutcome }

/** Plans from the file over the stored ones; each tenant paired with its plan (refusals thrown together by the caller). */
export function resolvePlans(config: Config, file: FleetFile): { plans: Map<string, Plan>; pairs: { tenant: Tenant; plan: Plan | undefined }[] } {
  const plans = new Map(listPlans(config).map((p) => [p.metadata.name, p]));
  for (const p of file.plans) plans.set(p.metadata.name, p);
  return { plans, pairs: file.tenants.map((t) => ({ tenant: t, plan: plans.get(t.spec.plan) })) };
}

/** Every tenant's problems (unknown plan, forced path, an invalid agent), before anything is made. */
export function checkTenants(pairs: readonly { tenant: Tenant; plan: Plan | undefined }[], known: readonly string[]): string[] {
  const problems: string[] = [];
  for (const { tenant, plan } of pairs) {
    try { tenantAgent(tenant, plan, known); } catch (e) {
      problems.push(isClawpodError(e) && e.details.length ? `${e.message}: ${e.details.join('; ')}` : messageOf(e));
    }
  }
  return problems;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function applyLocal(rt: Runtime, config: Config, file: FleetFile, opts: { concurrency: number; budgetMs?: number; say: (s: string) => void; progress: (p: ApplyProgress) => void }): Promise<ApplyOutcome[]> {
  const { pairs } = resolvePlans(config, file);
  for (const p of file.plans) savePlan(config, p);
  const taken = new Set<number>();
  const jobs = pairs.map(({ tenant, plan }) => {
    const before = loadTenant(config, tenant.metadata.name);
    const slot = before?.slot ?? freeSlot(config, taken);
    taken.add(slot);
    return { tenant, plan: plan!, slot, before };
  });
  let done = 0;
  opts.progress({ done, total: jobs.length });
  return inParallel(jobs, opts.concurrency, async (j) => {
    const t0 = Date.now();
    const unchanged = j.before?.phase === 'ready' && same(j.before.tenant, j.tenant) && same(j.before.plan, j.plan);
    let o: ApplyOutcome;
    try {
      // a changed tenant whose payload exists is updated (gated, rolled back), whatever its last outcome was
      if (j.before && !unchanged && j.before.phase !== 'provisioning' && (await rt.inspectContainer(`tenant-${j.tenant.metadata.name}`))) {
        const { updateTenant } = await import('./update.js');
        await updateTenant(rt, config, j.tenant, j.plan, { say: opts.say, ...(opts.budgetMs ? { budgetMs: opts.budgetMs } : {}) });
        o = { name: j.tenant.metadata.name, plan: j.plan.metadata.name, result: 'updated', seconds: (Date.now() - t0) / 1000 };
      } else {
        await provisionTenant(rt, config, j.tenant, j.plan, j.slot, { say: opts.say, ...(opts.budgetMs ? { budgetMs: opts.budgetMs } : {}) });
        o = { name: j.tenant.metadata.name, plan: j.plan.metadata.name, result: unchanged ? 'unchanged' : 'created', seconds: (Date.now() - t0) / 1000 };
      }
    } catch (e) {
      o = { name: j.tenant.metadata.name, plan: j.plan.metadata.name, result: 'failed', seconds: (Date.now() - t0) / 1000, error: isClawpodError(e) ? e.message : messageOf(e), ...(isClawpodError(e) ? { code: e.code, ...(e.hint ? { hint: e.hint } : {}) } : {}) };
    }
    opts.progress({ done: ++done, total: jobs.length, last: o });
    return o;
  });
}
