// Benchmark: rendering tenants for Kubernetes (src/fleet/kube-render.ts) against rendering the same
// payloads as plain agents (src/kube/render.ts renderAgent, persistent), 1000 of each per round,
// interleaved (order swapped each round), each object then validated by kubernetes-models (the
// OpenAPI schema of Kubernetes 1.33 compiled with ajv). The unit test adds the strict v1.37.2 check
// (test/helpers/kube-schema.ts), which tsc cannot compile into dist/, so it is not timed here.
// Prints p50/p95 of render alone and of render + validate, and the tenant/agent ratios. CPU only.
//   node dist/bench/fleet-render.js      (after npm run build; ROUNDS=7, N=1000 by default)
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, LimitRange, Namespace, ResourceQuota, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseFleet } from '../src/fleet/load.js';
import { renderTenant, tenantKubeAgent, type TenantObject, type TenantRenderOptions } from '../src/fleet/kube-render.js';
import type { Tenant } from '../src/fleet/schema.js';
import { renderAgent } from '../src/kube/render.js';
import { pct } from './common.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const N = Number(process.env.N ?? 1000);

const FLEET = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: pro}
spec:
  resources: {cpu: "1", memory: 1Gi}
  quota: {cpu: "2", memory: 2Gi, storage: 20Gi}
  volumes: {state: 2Gi, appData: 3Gi}
  models: [m1]
  nodePool: {nodeSelector: {pool: tenants}, tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]}
---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: t}
spec: {plan: pro, profile: {name: openclaw, version: "2026.9.6"}, domain: agents.example.com}
`;
type Model = new (d: never) => { validate(): void };
const MODELS: Record<string, Model> = { Namespace, ResourceQuota, LimitRange, NetworkPolicy, ServiceAccount, Role, RoleBinding, ConfigMap, Service, StatefulSet, Ingress };
const validate = (o: TenantObject): void => {
  const M = MODELS[o.kind];
  if (!M) throw new Error(`no validator for ${o.kind}`);
  new M(o as never).validate();
};
const OPTS: TenantRenderOptions = { gateway: { namespace: 'clawpod', podLabels: { 'app.kubernetes.io/name': 'clawpod' }, port: 7879 }, llm: { url: 'http://clawpod.clawpod.svc:7879', api: 'anthropic', model: 'm' } };

function main(): void {
  const fleet = parseFleet(FLEET, 'bench.yaml');
  const plan = fleet.plans[0]!;
  const tenants: Tenant[] = Array.from({ length: N }, (_, i) => ({ ...fleet.tenants[0]!, metadata: { ...fleet.tenants[0]!.metadata, name: `t${i}` } }));
  // the baseline renders the very agents the tenants run, derived ahead (untimed)
  const agents = tenants.map((t) => tenantKubeAgent(t, plan, OPTS.llm));
  type Kind = 'tenants' | 'agents';
  const run: Record<Kind, () => TenantObject[][]> = {
    tenants: () => tenants.map((t) => renderTenant(t, plan, OPTS)),
    agents: () => agents.map((a, i) => renderAgent(a, { mode: 'persistent', namespace: `tenant-t${i}` }).objects as TenantObject[]),
  };
  const times = { tenants: { render: [] as number[], all: [] as number[] }, agents: { render: [] as number[], all: [] as number[] } };
  let objects = { tenants: 0, agents: 0 };
  // one untimed round warms the JIT and ajv's compiled validators
  for (const k of ['tenants', 'agents'] as Kind[]) run[k]().flat().forEach(validate);
  for (let i = 0; i < ROUNDS; i++) {
    for (const k of (i % 2 === 0 ? ['tenants', 'agents'] : ['agents', 'tenants']) as Kind[]) {
      const a = performance.now();
      const out = run[k]();
      const b = performance.now();
      const flat = out.flat();
      flat.forEach(validate);
      const c = performance.now();
      times[k].render.push(b - a);
      times[k].all.push(c - a);
      objects = { ...objects, [k]: flat.length };
    }
    process.stderr.write(`round ${i + 1}/${ROUNDS}: tenants ${times.tenants.all.at(-1)!.toFixed(0)} ms, agents ${times.agents.all.at(-1)!.toFixed(0)} ms\n`);
  }
  const row = (name: string, xs: number[]) => `${name.padEnd(40)} p50 ${pct(xs, 50).toFixed(0).padStart(6)} ms   p95 ${pct(xs, 95).toFixed(0).padStart(6)} ms`;
  console.log(`${N} tenants (${objects.tenants} objects) vs ${N} plain agents (${objects.agents} objects), ${ROUNDS} interleaved rounds`);
  console.log(row('renderTenant', times.tenants.render));
  console.log(row('renderAgent (baseline)', times.agents.render));
  console.log(row('renderTenant + validate', times.tenants.all));
  console.log(row('renderAgent + validate (baseline)', times.agents.all));
  console.log(`ratio tenant/agent p50: render ${(pct(times.tenants.render, 50) / pct(times.agents.render, 50)).toFixed(2)}, render + validate ${(pct(times.tenants.all, 50) / pct(times.agents.all, 50)).toFixed(2)}   (goal: 1000 tenants rendered + validated < 1 s)`);
}

main();
