// The --kube forms of the tenant and fleet verbs: the same fleet file, applied to the cluster of the
// kubeconfig (one namespace per tenant), its status read back from the cluster, a rolling upgrade
// through server-side apply gated on readiness and a chat round trip inside each Pod.
import { ClawpodError } from '../errors.js';
import type { Ctx } from './context.js';
import { table } from './context.js';
import { progressBar } from './progress.js';

export interface KubeFlags {
  kube?: boolean; context?: string; gatewayUrl?: string; gatewayNamespace?: string; gatewayPort?: string;
  ingressClass?: string; ingressNamespace?: string; clusterIssuer?: string; openshift?: boolean; timeout?: string; concurrency?: string;
  /** Namespace of the activator's routes ConfigMap (default clawpod-system). */
  activatorNamespace?: string;
}

export const wantsKube = (o: KubeFlags) => o.kube === true || o.context !== undefined;

async function clusterOpts(ctx: Ctx, o: KubeFlags, say: (l: string) => void) {
  const { parseDuration } = await import('../spec/quantity.js');
  const t = parseDuration(o.timeout ?? '10m');
  if (!t.ok) throw new ClawpodError('USAGE', `--timeout ${o.timeout} is not a duration`, { hint: `use ${t.expected}` });
  const port = Number(o.gatewayPort ?? '7879');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ClawpodError('USAGE', `--gateway-port ${o.gatewayPort} is not a port`, { hint: 'the port clawpod\'s gateway listens on in the cluster, e.g. 7879' });
  return {
    ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
    openshift: o.openshift ?? ('auto' as const),
    timeoutMs: t.value,
    ...(o.activatorNamespace ? { activatorNamespace: o.activatorNamespace } : {}),
    onProgress: say,
    renderOpts: {
      ...(o.gatewayUrl ? { gateway: { namespace: o.gatewayNamespace ?? 'clawpod', podLabels: { 'app.kubernetes.io/name': 'clawpod' }, port } } : {}),
      ...(o.ingressClass ? { ingressClass: o.ingressClass } : {}),
      ...(o.ingressNamespace ? { ingressNamespace: o.ingressNamespace } : {}),
      ...(o.clusterIssuer ? { clusterIssuer: o.clusterIssuer } : {}),
    },
  };
}

/** Plans and tenants of the file, every tenant checked (plan, forced paths) before the cluster is touched. */
async function pairsOf(ctx: Ctx, file: string) {
  const { loadFleet } = await import('../fleet/load.js');
  const { checkTenants, resolvePlans } = await import('../fleet/apply.js');
  const fleet = loadFleet(file);
  const { plans, pairs } = resolvePlans(ctx.config, fleet);
  const problems = checkTenants(pairs, [...plans.keys()]);
  if (problems.length) throw new ClawpodError('SPEC_INVALID', `${file}: ${problems.length} tenant${problems.length > 1 ? 's' : ''} cannot be provisioned; nothing was applied`, { details: problems, hint: 'fix each tenant listed, then apply again' });
  return { pairs: pairs.map((p) => ({ tenant: p.tenant, plan: p.plan! })), plans: fleet.plans };
}

export async function applyKube(ctx: Ctx, file: string, o: KubeFlags): Promise<number> {
  const { pairs, plans } = await pairsOf(ctx, file);
  const { savePlan } = await import('../fleet/store.js');
  for (const p of plans) savePlan(ctx.config, p); // `clawpod plan ls` knows them
  const needsModels = pairs.some((p) => p.plan.spec.models.length > 0);
  if (needsModels && !o.gatewayUrl) throw new ClawpodError('USAGE', 'plans with models need --gateway-url: the URL tenant Pods reach clawpod\'s LLM gateway at', { hint: 'e.g. --gateway-url http://clawpod.clawpod:7879 (deploy/ runs the control plane in-cluster)' });
  const { applyTenants } = await import('../fleet/kube.js');
  const { llmTokens } = await import('../fleet/kube-ops.js');
  const { inParallel } = await import('../fleet/parallel.js');
  const opts = await clusterOpts(ctx, o, () => undefined);
  const issue = needsModels ? { issueLlmToken: llmTokens(ctx.config, pairs, o.gatewayUrl!) } : {};
  const bar = progressBar(ctx, 'tenants');
  let done = 0;
  bar.step(0, pairs.length);
  // one tenant per call: each finished tenant moves the bar, and fails or rolls back on its own
  const out = (await inParallel(pairs, Number(o.concurrency ?? 4), async (p) => {
    const [r] = await applyTenants([p], { ...opts, ...issue });
    bar.step(++done, pairs.length, `${p.tenant.metadata.name} ${r!.ok ? 'ready' : 'failed'}`);
    return r!;
  }));
  bar.end();
  if (ctx.json) { ctx.printJson(out.map((r) => ({ ...r, error: r.error ? { code: r.error.code, message: r.error.message } : undefined }))); }
  else {
    ctx.print(table([['TENANT', 'NAMESPACE', 'RESULT', 'SECONDS', 'ERROR'], ...out.map((r) => [r.name, r.namespace, r.ok ? 'ready' : r.rolledBack ? 'failed (rolled back)' : 'failed', r.seconds.toFixed(1), r.error?.message ?? ''])]));
    ctx.print(`${out.length} tenants: ${out.filter((r) => r.ok).length} ready, ${out.filter((r) => !r.ok).length} failed`);
    for (const r of out) if (r.error?.hint) ctx.say(`${r.name}: fix: ${r.error.hint}`);
  }
  return out.every((r) => r.ok) ? 0 : 1;
}

export async function statusKube(ctx: Ctx, names: string[], o: KubeFlags): Promise<number> {
  const { tenantStatusKube } = await import('../fleet/kube.js');
  const all = await tenantStatusKube({ ...(await clusterOpts(ctx, o, ctx.say)), ...(names.length ? { names } : {}) });
  if (ctx.json) ctx.printJson(all);
  else ctx.print(table([['TENANT', 'PLAN', 'PHASE', 'VERSION', 'URL', 'WAITING ON'], ...all.map((s) => [s.name, s.plan, s.phase, s.version ?? '-', s.url ?? '-', s.waitingOn ?? '-'])]));
  return all.every((s) => s.phase === 'Ready') ? 0 : 1;
}

export async function deleteKube(ctx: Ctx, names: string[], o: KubeFlags): Promise<void> {
  const { deleteTenantKube } = await import('../fleet/kube.js');
  const opts = await clusterOpts(ctx, o, ctx.say);
  for (const n of names) {
    const r = await deleteTenantKube(n, opts);
    // the tenant's gateway group holds the tokens its Pods had: they stop working now
    const { dropGroup } = await import('../fleet/local.js');
    const group = await dropGroup(ctx.config, n).then((d) => (d ? 'its gateway group and tokens' : ''), (e: unknown) => { ctx.say(`${n}: gateway group tenant-${n} not deleted (${(e as Error).message}); \`clawpod group revoke tenant-${n}\` when the control plane is up`); return ''; });
    if (ctx.json) ctx.printJson({ ...r, groupDeleted: group !== '' });
    else ctx.print(`${n}: namespace ${r.namespace} and everything in it deleted${group ? `, and ${group}` : ''} (${r.seconds.toFixed(1)} s)`);
  }
}

export async function upgradeKube(ctx: Ctx, file: string, o: KubeFlags & { version: string; selector?: string; maxUnavailable: number; canary: number; replayThreshold: number }) {
  const { pairs } = await pairsOf(ctx, file);
  const { parseSelector } = await import('../fleet/derive.js');
  const { tenantStatusKube } = await import('../fleet/kube.js');
  const { kubeUpgrader, runningVersion } = await import('../fleet/kube-ops.js');
  const { runRollout } = await import('../fleet/rollout.js');
  const match = parseSelector(o.selector);
  const chosen = pairs.filter((p) => match(p.tenant));
  const opts = await clusterOpts(ctx, o, (l) => ctx.say(`  ${l}`));
  const running = new Map((await tenantStatusKube({ ...opts, names: chosen.map((p) => p.tenant.metadata.name) })).map((s) => [s.name, s.version]));
  return runRollout(ctx.config, chosen.map((p) => p.tenant), kubeUpgrader(new Map(chosen.map((p) => [p.tenant.metadata.name, p])), opts), {
    version: o.version, selector: o.selector ?? '', maxUnavailable: o.maxUnavailable, canary: o.canary, replayThreshold: o.replayThreshold, say: ctx.say,
  }, runningVersion(running));
}
