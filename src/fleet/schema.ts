// kind: Plan and kind: Tenant (apiVersion clawpod.dev/v1alpha1). A Plan is what an operator sells
// (resources, quota, the two volumes' sizes, isolation, models and an LLM budget, config it forces);
// a Tenant is one customer on a plan. Validated like Agent specs: every problem at file:line:col.
import { z } from 'zod';
import { BudgetSchema } from '../control/config.js';
import { API_VERSION } from '../spec/defaults.js';
import { DNS_LABEL } from '../spec/names.js';
import { parseCpu, parseDuration, parseMemory } from '../spec/quantity.js';
import { checkIdleTiers, LABEL_VALUE, LifecyclePolicyFields, ProfileRefSchema, quantity } from '../spec/schema.js';

/** What a plan does when a tenant's LLM budget runs out (src/lifecycle/budget.ts). */
export const BUDGET_ACTIONS = ['throttle', 'suspend', 'notify'] as const;
export type BudgetAction = typeof BUDGET_ACTIONS[number];

/** Tenant names become namespaces (tenant-NAME), networks and volumes (clawpod-tenant-NAME-app-data). */
export const TENANT_NAME_MAX = 30;
export const FLEET_DEFAULTS = Object.freeze({
  profile: 'openclaw',
  stateSize: '5Gi',
  appDataSize: '1Gi',
  appDataPath: '/data',
  instances: 1,
});

const name = (what: string) => z.string()
  .max(TENANT_NAME_MAX, `expected at most ${TENANT_NAME_MAX} characters (it becomes the namespace tenant-NAME and volume names)`)
  .regex(DNS_LABEL, `expected a ${what} name that is a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit`);

const HOSTNAME = /^(?=.{1,200}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
/** A dotted config path: "models.providers", "gateway.auth". */
const CONFIG_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const TolerationSchema = z.strictObject({
  key: z.string().min(1).optional(),
  operator: z.enum(['Equal', 'Exists']).default('Equal'),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

export const PlanSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }),
  kind: z.literal('Plan', { error: 'expected "Plan"' }),
  metadata: z.strictObject({ name: name('plan') }),
  spec: z.strictObject({
    /** Each tenant's container (the profile's defaults when unset). */
    resources: z.strictObject({
      cpu: quantity(parseCpu).optional(),
      memory: quantity(parseMemory).optional(),
      pids: z.number().int().min(16).max(1_000_000).optional(),
    }).prefault({}),
    /** What a tenant's namespace may hold in all (Kubernetes ResourceQuota); locally, instances. */
    quota: z.strictObject({
      cpu: quantity(parseCpu).optional(),
      memory: quantity(parseMemory).optional(),
      storage: quantity(parseMemory).optional(),
      pods: z.number().int().min(1).max(1000).optional(),
      instances: z.number().int().min(1).max(100).default(FLEET_DEFAULTS.instances),
    }).prefault({}),
    /** The two volumes: state (the payload's home: config, sessions) and app-data. */
    volumes: z.strictObject({
      state: quantity(parseMemory).default(FLEET_DEFAULTS.stateSize),
      appData: quantity(parseMemory).default(FLEET_DEFAULTS.appDataSize),
      appDataPath: z.string().regex(/^\/[A-Za-z0-9_./-]*$/, 'expected an absolute path such as "/data"').refine((p) => !p.split('/').includes('..') && !['/', '/proc', '/sys', '/dev'].includes(p), 'expected a path outside /, /proc, /sys, /dev, without ".."').default(FLEET_DEFAULTS.appDataPath),
    }).prefault({}),
    storageClass: z.string().min(1).optional(),
    isolation: z.enum(['runc', 'gvisor']).default('runc'),
    /** Models (names under the ControlPlane's spec.models) the tenant's gateway token may use; the first is its default. */
    models: z.array(z.string().min(1)).default([]),
    budget: BudgetSchema.optional(),
    /** Carried onto each tenant's agent (idle tiers, ttl); onBudgetExhausted is the gateway's (docs/lifecycle.md). */
    lifecycle: z.strictObject({
      idleTimeout: quantity(parseDuration).optional(),
      ...LifecyclePolicyFields,
      /** When the tenant's budget runs out: throttle (429 until it resets), suspend (the agent too), notify (an event; calls go on). */
      onBudgetExhausted: z.enum(BUDGET_ACTIONS).default('throttle'),
    }).superRefine(checkIdleTiers).optional(),
    /** Kubernetes: the tenant node pool. */
    nodePool: z.strictObject({
      nodeSelector: z.record(z.string(), z.string()).default({}),
      tolerations: z.array(TolerationSchema).default([]),
    }).optional(),
    /** Config the operator sets for every tenant on the plan, and paths tenants may not override. */
    config: z.strictObject({
      values: z.record(z.string(), z.unknown()).default({}),
      forced: z.array(z.string().regex(CONFIG_PATH, 'expected a dotted config path such as "models.providers"')).default([]),
    }).prefault({}),
  }).prefault({}),
}).superRefine((p, ctx) => {
  const q = p.spec.quota;
  const r = p.spec.resources;
  const over = (field: 'cpu' | 'memory', parse: (v: string | number) => { ok: boolean; value?: number }) => {
    const per = r[field];
    const all = q[field];
    if (per === undefined || all === undefined) return;
    const a = parse(per);
    const b = parse(all);
    if (a.ok && b.ok && a.value! * q.instances > b.value!) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'quota', field], message: `expected at least resources.${field} × quota.instances (${String(per)} × ${q.instances}): a quota below one tenant's own limits would never admit its Pod` });
    }
  };
  over('cpu', parseCpu as never);
  over('memory', parseMemory as never);
});

export const TenantSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }),
  kind: z.literal('Tenant', { error: 'expected "Tenant"' }),
  metadata: z.strictObject({
    // tenant-NAME-previous and tenant-NAME-replay are what an upgrade and a replay of tenant NAME call their containers
    name: name('tenant').refine((n) => !/-(previous|replay)$/.test(n), 'expected a name not ending in "-previous" or "-replay" (clawpod names an upgrade\'s and a replay\'s containers so)'),
    labels: z.record(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'expected a label key such as "team"'), z.string().regex(LABEL_VALUE, 'expected a label value of ≤ 63 alphanumerics, "-", "_", "."')).default({}),
  }),
  spec: z.strictObject({
    plan: name('plan'),
    /** The payload profile and its version (default openclaw at the profile's pinned version). */
    profile: ProfileRefSchema.default({ name: FLEET_DEFAULTS.profile }),
    owner: z.string().min(1).max(253).optional(),
    /** The tenant answers at TENANT.DOMAIN (Ingress with TLS, or a Route on OpenShift). */
    domain: z.string().regex(HOSTNAME, 'expected a DNS domain such as "agents.example.com"').optional(),
    /** Values over the payload's config file; paths the plan or profile forces are refused. */
    config: z.strictObject({ values: z.record(z.string(), z.unknown()).default({}) }).optional(),
    /** Over the plan's: this tenant's idle tiers, ttl and warning. */
    lifecycle: z.strictObject(LifecyclePolicyFields).superRefine(checkIdleTiers).optional(),
  }),
});

export type Plan = z.output<typeof PlanSchema>;
export type Tenant = z.output<typeof TenantSchema>;
