// clawpod tenant apply|create|ls|status|update|delete|chat, and clawpod plan ls.
import { ClawpodError } from '../errors.js';
import { parseDuration } from '../spec/quantity.js';
import type { Ctx } from './context.js';
import { table } from './context.js';
import { progressBar } from './progress.js';
import { applyKube, deleteKube, statusKube, wantsKube, type KubeFlags } from './tenant-kube.js';

interface Common extends KubeFlags { timeout?: string; concurrency?: string }

export function budgetOf(timeout: string | undefined): number | undefined {
  if (!timeout) return undefined;
  const t = parseDuration(timeout);
  if (!t.ok) throw new ClawpodError('USAGE', `--timeout ${timeout} is not a duration`, { hint: `use ${t.expected}` });
  return t.value;
}

function count(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ClawpodError('USAGE', `${flag} ${v}: expected a whole number from 1 to 64`, { hint: `e.g. ${flag} 4` });
  return n;
}

export async function apply(ctx: Ctx, opts: Common & { file: string }): Promise<number> {
  if (wantsKube(opts)) return applyKube(ctx, opts.file, opts);
  const { loadFleet } = await import('../fleet/load.js');
  const { applyLocal, checkTenants, resolvePlans } = await import('../fleet/apply.js');
  const file = loadFleet(opts.file);
  const { plans, pairs } = resolvePlans(ctx.config, file);
  const problems = checkTenants(pairs, [...plans.keys()]);
  if (problems.length) throw new ClawpodError('SPEC_INVALID', `${opts.file}: ${problems.length} tenant${problems.length > 1 ? 's' : ''} cannot be provisioned; nothing was changed`, { details: problems, hint: 'fix each tenant listed, then apply again' });
  const bar = progressBar(ctx, 'tenants');
  const { withFleetLock } = await import('../fleet/lock.js');
  const rt = await ctx.runtime();
  const out = await withFleetLock(ctx.config, 'tenant apply', () => applyLocal(rt, ctx.config, file, {
    concurrency: count(opts.concurrency, '--concurrency', 4), ...(budgetOf(opts.timeout) ? { budgetMs: budgetOf(opts.timeout)! } : {}),
    say: () => undefined, progress: (p) => bar.step(p.done, p.total, p.last ? `${p.last.name} ${p.last.result}` : undefined),
  }));
  bar.end();
  if (ctx.json) ctx.printJson(out);
  else {
    ctx.print(table([['TENANT', 'PLAN', 'RESULT', 'SECONDS', 'ERROR'], ...out.map((o) => [o.name, o.plan, o.result, o.seconds.toFixed(1), o.error ?? ''])]));
    const by = (r: string) => out.filter((o) => o.result === r).length;
    ctx.print(`${out.length} tenants: ${by('created')} created, ${by('updated')} updated, ${by('unchanged')} unchanged, ${by('failed')} failed`);
    for (const o of out) if (o.result === 'failed' && o.hint) ctx.say(`${o.name}: fix: ${o.hint}`);
  }
  return out.some((o) => o.result === 'failed') ? 1 : 0;
}

export async function create(ctx: Ctx, name: string, opts: Common & { plan: string; profile?: string; version?: string; owner?: string; domain?: string }): Promise<void> {
  const { TenantSchema } = await import('../fleet/schema.js');
  const { loadPlan, listPlans, freeSlot, loadTenant } = await import('../fleet/store.js');
  const { tenantAgent } = await import('../fleet/derive.js');
  const { API_VERSION } = await import('../spec/defaults.js');
  const r = TenantSchema.safeParse({
    apiVersion: API_VERSION, kind: 'Tenant', metadata: { name },
    spec: { plan: opts.plan, ...(opts.profile || opts.version ? { profile: { name: opts.profile ?? 'openclaw', ...(opts.version ? { version: opts.version } : {}) } } : {}), ...(opts.owner ? { owner: opts.owner } : {}), ...(opts.domain ? { domain: opts.domain } : {}) },
  });
  if (!r.success) {
    throw new ClawpodError('SPEC_INVALID', `tenant ${JSON.stringify(name)}: ${r.error.issues.length} problem(s)`, { details: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), hint: 'e.g. clawpod tenant create acme --plan pro' });
  }
  if (loadTenant(ctx.config, name)) throw new ClawpodError('NAME_TAKEN', `tenant ${name} exists`, { hint: `\`clawpod tenant update ${name} ...\` changes it; \`clawpod tenant status ${name}\` shows it` });
  const plan = loadPlan(ctx.config, opts.plan);
  tenantAgent(r.data, plan, listPlans(ctx.config).map((p) => p.metadata.name));
  const { provisionTenant } = await import('../fleet/local.js');
  const { withFleetLock } = await import('../fleet/lock.js');
  const rt = await ctx.runtime();
  const rec = await withFleetLock(ctx.config, `tenant create ${name}`, () => provisionTenant(rt, ctx.config, r.data, plan!, freeSlot(ctx.config), { say: ctx.say, ...(budgetOf(opts.timeout) ? { budgetMs: budgetOf(opts.timeout)! } : {}) }));
  if (ctx.json) ctx.printJson(rec); else ctx.print(name);
}

export async function list(ctx: Ctx, opts: KubeFlags = {}): Promise<void> {
  if (wantsKube(opts)) { await statusKube(ctx, [], opts); return; }
  const { tenantStatus } = await import('../fleet/status.js');
  const all = await tenantStatus(await ctx.runtime(), ctx.config);
  if (ctx.json) { ctx.printJson(all); return; }
  ctx.print(table([['TENANT', 'PLAN', 'PROFILE', 'VERSION', 'PHASE', 'URL', 'OWNER'], ...all.map((s) => [s.name, s.plan, s.profile, s.version, s.phase, s.url ?? '-', s.owner ?? '-'])]));
}

export async function status(ctx: Ctx, names: string[], opts: KubeFlags = {}): Promise<number> {
  if (wantsKube(opts)) return statusKube(ctx, names, opts);
  const { tenantStatus } = await import('../fleet/status.js');
  const all = await tenantStatus(await ctx.runtime(), ctx.config, names);
  const missing = names.filter((n) => !all.some((s) => s.name === n));
  if (missing.length) throw new ClawpodError('NOT_FOUND', `no tenant named ${missing.join(', ')}`, { hint: '`clawpod tenant ls` lists the tenants' });
  if (ctx.json) ctx.printJson(all);
  else ctx.print(table([['TENANT', 'PHASE', 'VERSION', 'WAITING ON'], ...all.map((s) => [s.name, s.phase, s.version, s.waitingOn ?? '-'])]));
  return all.every((s) => s.phase === 'Ready') ? 0 : 1;
}

export async function update(ctx: Ctx, name: string, opts: Common & { plan?: string; version?: string }): Promise<void> {
  const { loadTenant, loadPlan, listPlans } = await import('../fleet/store.js');
  const rec = loadTenant(ctx.config, name);
  if (!rec) throw new ClawpodError('NOT_FOUND', `no tenant named ${name}`, { hint: '`clawpod tenant ls` lists the tenants' });
  if (!opts.plan && !opts.version) throw new ClawpodError('USAGE', 'tenant update needs --plan P or --version V', { hint: `clawpod tenant update ${name} --plan pro` });
  const plan = opts.plan ? loadPlan(ctx.config, opts.plan) : rec.plan;
  const tenant = { ...rec.tenant, spec: { ...rec.tenant.spec, ...(opts.plan ? { plan: opts.plan } : {}), profile: { ...rec.tenant.spec.profile, ...(opts.version ? { version: opts.version } : {}) } } };
  const { tenantAgent } = await import('../fleet/derive.js');
  tenantAgent(tenant, plan, listPlans(ctx.config).map((p) => p.metadata.name));
  const { updateTenant } = await import('../fleet/update.js');
  const { withFleetLock } = await import('../fleet/lock.js');
  const rt = await ctx.runtime();
  const r = await withFleetLock(ctx.config, `tenant update ${name}`, () => updateTenant(rt, ctx.config, tenant, plan!, { say: ctx.say, ...(budgetOf(opts.timeout) ? { budgetMs: budgetOf(opts.timeout)! } : {}) }));
  if (ctx.json) ctx.printJson(r); else ctx.print(`${name}: ${r.from} → ${r.to}, ready in ${r.seconds.toFixed(1)} s`);
}

export async function remove(ctx: Ctx, names: string[], opts: KubeFlags = {}): Promise<void> {
  if (wantsKube(opts)) { await deleteKube(ctx, names, opts); return; }
  const { deleteTenant } = await import('../fleet/local.js');
  const { withFleetLock } = await import('../fleet/lock.js');
  const rt = await ctx.runtime();
  for (const n of names) {
    const gone = await withFleetLock(ctx.config, `tenant delete ${n}`, () => deleteTenant(rt, ctx.config, n, { say: ctx.say }));
    if (ctx.json) ctx.printJson({ tenant: n, removed: gone });
    else ctx.print(`${n}: removed ${gone.join(', ') || 'its record'}`);
  }
}

export async function chat(ctx: Ctx, name: string, words: string[]): Promise<void> {
  const { loadTenant } = await import('../fleet/store.js');
  const rec = loadTenant(ctx.config, name);
  if (!rec) throw new ClawpodError('NOT_FOUND', `no tenant named ${name}`, { hint: '`clawpod tenant ls` lists the tenants' });
  const prompt = words.join(' ');
  if (!prompt.trim()) throw new ClawpodError('USAGE', 'tenant chat needs a message', { hint: `clawpod tenant chat ${name} "hello"` });
  const { tenantEndpoint } = await import('../fleet/local.js');
  const { chatPayload } = await import('../fleet/chat.js');
  const { recordTurn } = await import('../fleet/replay.js');
  const { wakeIfAsleep } = await import('../lifecycle/wake-client.js');
  const { tenantNames } = await import('../fleet/derive.js');
  await wakeIfAsleep(ctx.config, tenantNames(name).agent, ctx.say);
  const ep = await tenantEndpoint(await ctx.runtime(), ctx.config, rec.tenant);
  const a = await chatPayload(ep.baseUrl, ep.token, prompt, { profile: rec.tenant.spec.profile.name, who: `tenant ${name}` });
  // recorded for canary replays of later upgrades: the prompt and the answer's shape, not the answer
  if (!(await recordTurn(ctx.config, name, prompt, a.shape))) ctx.say('(turn not recorded: no control plane answers)');
  if (ctx.json) ctx.printJson(a); else ctx.print(a.answer);
}

export async function plans(ctx: Ctx): Promise<void> {
  const { listPlans, listTenants } = await import('../fleet/store.js');
  const ps = listPlans(ctx.config);
  const ts = listTenants(ctx.config);
  if (ctx.json) { ctx.printJson(ps); return; }
  ctx.print(table([['PLAN', 'CPU', 'MEMORY', 'STATE', 'APP-DATA', 'ISOLATION', 'MODELS', 'BUDGET', 'TENANTS'], ...ps.map((p) => [
    p.metadata.name, String(p.spec.resources.cpu ?? 'profile'), String(p.spec.resources.memory ?? 'profile'), String(p.spec.volumes.state), String(p.spec.volumes.appData),
    p.spec.isolation, p.spec.models.join(',') || '-',
    p.spec.budget ? [p.spec.budget.tokens !== undefined ? `${p.spec.budget.tokens} tokens` : '', p.spec.budget.requests !== undefined ? `${p.spec.budget.requests} requests` : ''].filter(Boolean).join(', ') + ` / ${String(p.spec.budget.period)}` : '-',
    String(ts.filter((t) => t.tenant.spec.plan === p.metadata.name).length),
  ])]));
}
