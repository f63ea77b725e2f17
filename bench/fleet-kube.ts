// Benchmark: provisioning one tenant on the harness's real kube-apiserver and node, against a plain
// `clawpod apply` (renderAgent + server-side apply, persistent) of the same payload, interleaved
// round by round (order swapped each round). Two figures each:
//   control plane  render + server-side apply of every object (the tenant's namespace, quota, limits,
//                  policies, RBAC, Secret, StatefulSet...; the agent's objects into a namespace made untimed)
//   to Ready       until the payload's Pod is Ready (its readiness probe: the runner's /readyz)
// Prints p50/p95 and the tenant/agent ratios. Needs the harness built (scripts/kube-harness.sh build).
//   npm run build && ROUNDS=5 node dist/bench/fleet-kube.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyAgents } from '../src/kube/apply.js';
import { openCluster } from '../src/kube/cluster.js';
import { renderAgent } from '../src/kube/render.js';
import { waitReady } from '../src/kube/wait.js';
import type { KubeObject } from '../src/kube/types.js';
import { parseFleet } from '../src/fleet/load.js';
import { tenantKubeAgent } from '../src/fleet/kube-render.js';
import { applyTenants, tenantStatusKube } from '../src/fleet/kube.js';
import { pct } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const IMAGE = 'localhost/clawpod-agent:latest';
const LLM = { url: 'http://192.0.2.2:9', api: 'anthropic' as const, model: 'bench' }; // wired (so /readyz says ready), never called
const row = (name: string, xs: number[]) => `${name.padEnd(40)} p50 ${(pct(xs, 50) / 1000).toFixed(2).padStart(6)} s   p95 ${(pct(xs, 95) / 1000).toFixed(2).padStart(6)} s`;

const fleet = (name: string) => parseFleet(`apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: bench}
spec: {resources: {cpu: 100m, memory: 128Mi}, volumes: {state: 1Gi, appData: 1Gi}, storageClass: local, models: [m]}
---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${name}}
spec: {plan: bench, profile: runner}
`, 'bench.yaml');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-kube-'));
  const harness = (args: string[]) => spawnSync('bash', [join(ROOT, 'scripts/kube-harness.sh'), ...args], {
    env: { ...process.env, CLAWPOD_KUBE_CONTROLLER_MANAGER: '1', CLAWPOD_KUBE_NODES: '1', CLAWPOD_KUBE_NODE_IMAGES: IMAGE, CLAWPOD_KUBE_PV_COUNT: String(4 * (ROUNDS + 1) + 4) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (harness(['start', dir]).status !== 0) throw new Error('the harness did not start (scripts/kube-harness.sh build first)');
  const kubeconfig = join(dir, 'kubeconfig');
  const kubectl = (...a: string[]) => spawnSync(join(process.env.HOME ?? '/root', '.cache/clawpod-kube/bin/v1.37.2/kubectl'), ['--kubeconfig', kubeconfig, ...a], { encoding: 'utf8' });
  const t = { cp: [] as number[], ready: [] as number[] };
  const a = { cp: [] as number[], ready: [] as number[] };
  try {
    for (let i = -1; i < ROUNDS; i++) { // round -1 warms both paths, untimed
      for (const which of i % 2 === 0 ? ['tenant', 'agent'] : ['agent', 'tenant']) {
        const f = fleet(`b${which[0]}${i + 1}`);
        const item = { tenant: f.tenants[0]!, plan: f.plans[0]! };
        if (which === 'tenant') {
          const t0 = Date.now();
          const [r] = await applyTenants([item], { kubeconfig, timeoutMs: 300_000, wait: false, issueLlmToken: async () => ({ ...LLM, token: 'bench-token' }) });
          if (!r?.ok) throw new Error(`tenant apply: ${r?.error?.message}`);
          const t1 = Date.now();
          for (;;) {
            const [s] = await tenantStatusKube({ kubeconfig, names: [item.tenant.metadata.name] });
            if (s?.phase === 'Ready') break;
            if (Date.now() - t1 > 300_000) throw new Error(`tenant not Ready: ${s?.waitingOn}`);
            await new Promise((res) => setTimeout(res, 100));
          }
          if (i >= 0) { t.cp.push(t1 - t0); t.ready.push(Date.now() - t0); }
        } else {
          // the same payload as a plain agent: its namespace and Secret made first, untimed
          const agent = tenantKubeAgent(item.tenant, item.plan, LLM);
          const ns = `plain-${agent.metadata.name}`;
          kubectl('create', 'namespace', ns);
          kubectl('-n', ns, 'create', 'secret', 'generic', `${agent.metadata.name}-secrets`, '--from-literal=gateway-token=bench', '--from-literal=llm-token=bench');
          const t0 = Date.now();
          const objects = renderAgent(agent, { mode: 'persistent', namespace: ns, storageClass: 'local' }).objects as KubeObject[];
          await applyAgents(objects, { kubeconfig, namespace: ns, timeoutMs: 300_000, wait: false });
          const t1 = Date.now();
          await waitReady({ ...openCluster({ kubeconfig, namespace: ns }) }, objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }) as KubeObject), { timeoutMs: 300_000, applied: [], onProgress: () => undefined });
          if (i >= 0) { a.cp.push(t1 - t0); a.ready.push(Date.now() - t0); }
        }
      }
      if (i >= 0) process.stderr.write(`round ${i + 1}/${ROUNDS}: tenant ${t.cp.at(-1)} ms / ${t.ready.at(-1)} ms, agent ${a.cp.at(-1)} ms / ${a.ready.at(-1)} ms\n`);
    }
  } finally {
    harness(['stop', dir]);
  }
  console.log(`One runner payload on the harness (kube-apiserver + kubelet on containerd), ${ROUNDS} interleaved rounds`);
  console.log(row('tenant: control plane (render + apply)', t.cp));
  console.log(row('agent:  control plane (render + apply)', a.cp));
  console.log(row('tenant: to Ready', t.ready));
  console.log(row('agent:  to Ready', a.ready));
  console.log(`ratio tenant/agent to Ready p50 ${(pct(t.ready, 50) / pct(a.ready, 50)).toFixed(2)}   p95 ${(pct(t.ready, 95) / pct(a.ready, 95)).toFixed(2)}   (goal: tenant control plane p50 <= 1 s, to Ready <= 1.2x)`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
