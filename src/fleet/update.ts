// `clawpod tenant update` (and `tenant apply` of a changed tenant): the tenant's payload re-created
// from its new spec — another plan, version or config — on the same volumes, network and ports,
// gated like a fleet upgrade (probes and a chat round trip) and rolled back when it fails.
import type { Config } from '../config.js';
import { upgradeAgent, type UpgradeResult } from '../ops/upgrade.js';
import type { Runtime } from '../runtime/runtime.js';
import { tenantAgent, tenantNames, tenantProfile } from './derive.js';
import { dropGroup, ensureGroup, tenantExtra, type LocalOptions } from './local.js';
import { roundTrip } from './local-upgrade.js';
import type { Plan, Tenant } from './schema.js';
import { loadTenant, saveTenant } from './store.js';

export async function updateTenant(rt: Runtime, config: Config, tenant: Tenant, plan: Plan, opts: LocalOptions): Promise<UpgradeResult> {
  const agent = tenantAgent(tenant, plan);
  const rec = loadTenant(config, tenant.metadata.name);
  await ensureGroup(config, tenant, plan); // the plan's models and budget, before the new payload asks for a token
  let r: UpgradeResult;
  try {
    r = await upgradeAgent(rt, config, tenantNames(tenant.metadata.name).agent, {
      version: tenant.spec.profile.version ?? tenantProfile(tenant).defaultVersion,
      say: opts.say, extra: tenantExtra(tenant, plan), agent,
      ...(opts.budgetMs ? { budgetMs: opts.budgetMs } : {}),
      ...(plan.spec.models.length > 0 ? { verify: () => roundTrip(rt, config, tenant) } : {}),
    });
  } catch (e) {
    // the old payload runs again: so does its plan's policy
    if (rec && rec.plan.spec.models.length > 0) await ensureGroup(config, rec.tenant, rec.plan).catch(() => undefined);
    throw e;
  }
  // a plan without models: the group the old one had (and its live tokens) goes
  if (plan.spec.models.length === 0 && rec && rec.plan.spec.models.length > 0) await dropGroup(config, tenant.metadata.name);
  const now = new Date().toISOString();
  saveTenant(config, { tenant, plan, slot: rec?.slot ?? 0, phase: 'ready', createdAt: rec?.createdAt ?? now, updatedAt: now });
  return r;
}
