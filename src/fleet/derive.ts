// A Tenant on a Plan → the Agent spec its payload runs as, and the names of everything a tenant owns.
// Pure: the same tenant and plan always give the same agent and names, locally and in a cluster.
import { ClawpodError } from '../errors.js';
import { deepMerge } from '../profiles/merge.js';
import { PROFILES, withProfileDefaults } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { API_VERSION, KIND_AGENT, LABELS } from '../spec/defaults.js';
import { AgentSchema, type Agent } from '../spec/schema.js';
import { refuseForced } from './forced.js';
import type { Plan, Tenant } from './schema.js';

/** Label keys on a tenant's objects (engine labels locally, Kubernetes labels in a cluster). */
export const TENANT_LABELS = Object.freeze({
  tenant: 'dev.clawpod.tenant',
  plan: 'dev.clawpod.plan',
  /** Kubernetes namespaces: what a NetworkPolicy selects to tell tenants apart. */
  kubeTenant: 'clawpod.dev/tenant',
  kubePlan: 'clawpod.dev/plan',
});

/** Names of what one tenant owns, locally and in a cluster. */
export function tenantNames(tenant: string) {
  const agent = `tenant-${tenant}`;
  return {
    /** The Agent's metadata.name: the container locally, the StatefulSet in a cluster. */
    agent,
    namespace: agent,
    /** The LLM gateway group whose models and budget the plan sets. */
    group: agent,
    network: `clawpod-${agent}`,
    stateVolume: `clawpod-${agent}-workspace`,
    appDataVolume: `clawpod-${agent}-app-data`,
    /** Kubernetes: the second claim's volume name in the Pod. */
    appDataClaim: 'app-data',
  };
}

export function tenantProfile(tenant: Tenant): Profile {
  const p = PROFILES[tenant.spec.profile.name];
  if (!p) throw new ClawpodError('SPEC_INVALID', `tenant ${tenant.metadata.name}: spec.profile ${tenant.spec.profile.name} is not a profile`, { hint: `profiles: ${Object.keys(PROFILES).join(', ')}` });
  if (!p.service) {
    throw new ClawpodError('SPEC_INVALID', `tenant ${tenant.metadata.name}: profile ${p.name} is not a long-running service`, {
      hint: `a tenant runs a service payload: ${Object.values(PROFILES).filter((x) => x.service).map((x) => x.name).join(', ')}`,
    });
  }
  return p;
}

/** Throws when the tenant names another plan than the one given. */
function checkPlan(tenant: Tenant, plan: Plan | undefined, plans: readonly string[]): Plan {
  if (plan && plan.metadata.name === tenant.spec.plan) return plan;
  throw new ClawpodError('NOT_FOUND', `tenant ${tenant.metadata.name}: no plan named ${tenant.spec.plan}`, {
    hint: plans.length ? `plans: ${plans.join(', ')} (or add a kind: Plan document named ${tenant.spec.plan})` : `add a kind: Plan document named ${tenant.spec.plan} to the file (\`clawpod plan ls\` lists the known ones)`,
  });
}

/** The tenant's Agent: the profile's defaults, the plan's limits, volumes and models, the tenant's config under the operator's. */
export function tenantAgent(tenant: Tenant, plan: Plan | undefined, known: readonly string[] = []): Agent {
  const p = checkPlan(tenant, plan, known);
  const profile = tenantProfile(tenant);
  refuseForced(tenant, p, profile);
  const names = tenantNames(tenant.metadata.name);
  const r = p.spec.resources;
  const raw = {
    apiVersion: API_VERSION,
    kind: KIND_AGENT,
    metadata: { name: names.agent },
    spec: {
      profile: tenant.spec.profile,
      ...(r.cpu !== undefined || r.memory !== undefined || r.pids !== undefined
        ? { resources: { ...profile.specDefaults(tenant.spec.profile.version ?? profile.defaultVersion).resources, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) } }
        : {}),
      workspace: { size: p.spec.volumes.state },
      isolation: p.spec.isolation,
      llm: p.spec.models.length > 0 ? { group: names.group } : false,
      // the operator's values win over the tenant's (refuseForced has already refused a clash)
      config: { mode: 'merge', values: deepMerge(tenant.spec.config?.values ?? {}, p.spec.config.values) },
      ...tenantLifecycle(p, tenant),
    },
  };
  const prepared = withProfileDefaults(raw);
  const parsed = AgentSchema.safeParse(prepared.raw);
  if (!parsed.success) {
    throw new ClawpodError('SPEC_INVALID', `tenant ${tenant.metadata.name} on plan ${p.metadata.name} does not make a valid agent`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      hint: 'check the plan\'s resources and isolation against the profile (`clawpod validate` on the file)',
    });
  }
  return parsed.data;
}

/** Engine labels of a tenant's container, network and volumes. */
export function tenantEngineLabels(tenant: Tenant): Record<string, string> {
  return { [LABELS.managed]: 'true', [TENANT_LABELS.tenant]: tenant.metadata.name, [TENANT_LABELS.plan]: tenant.spec.plan };
}

/** What `--selector plan=pro,team=x` matches against: plan, profile, version and the tenant's labels. */
export function selectorFields(tenant: Tenant): Record<string, string> {
  const profile = PROFILES[tenant.spec.profile.name];
  return {
    ...tenant.metadata.labels,
    plan: tenant.spec.plan,
    profile: tenant.spec.profile.name,
    version: tenant.spec.profile.version ?? profile?.defaultVersion ?? '',
    // from the spec only: a label named owner does not make a tenant someone's
    owner: tenant.spec.owner ?? '',
  };
}

/** `k=v,k2=v2` (like kubectl -l, equality only) → a predicate on tenants. */
export function parseSelector(sel: string | undefined): (t: Tenant) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((s) => s.trim()).filter(Boolean).map((term) => {
    const m = /^([A-Za-z0-9_./-]+)(!=|==|=)(.*)$/.exec(term);
    if (!m) throw new ClawpodError('USAGE', `--selector ${sel}: "${term}" is not KEY=VALUE or KEY!=VALUE`, { hint: 'e.g. --selector plan=pro,team=payments' });
    return { key: m[1]!, neg: m[2] === '!=', value: m[3]! };
  });
  return (t) => {
    const f = selectorFields(t);
    return terms.every((x) => (f[x.key] === x.value) !== x.neg);
  };
}

/** The agent's lifecycle: the plan's idle tiers, ttl and warning with the tenant's over them (the budget action stays the plan's). */
function tenantLifecycle(p: Plan, t: Tenant): { lifecycle?: Record<string, unknown> } {
  const { onBudgetExhausted: _budget, ...plan } = p.spec.lifecycle ?? {};
  const merged = Object.fromEntries(Object.entries({ ...plan, ...(t.spec.lifecycle ?? {}) }).filter(([, v]) => v !== undefined));
  return Object.keys(merged).length ? { lifecycle: merged } : {};
}
