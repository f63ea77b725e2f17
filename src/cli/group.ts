import type { Ctx } from './context.js';
import { table } from './context.js';
import { ControlClient } from '../control/client.js';

interface GroupView { name: string; model: string; queued: number; session: { id: string; phase: string; container: string | null } | null }

export async function list(ctx: Ctx): Promise<void> {
  const groups = await ControlClient.fromConfig(ctx.config).call<GroupView[]>('GET', '/v1/groups');
  if (ctx.json) { ctx.printJson(groups); return; }
  ctx.print(table([['GROUP', 'MODEL', 'SESSION', 'CONTAINER', 'QUEUED'],
    ...groups.map((g) => [g.name, g.model, g.session ? `${g.session.id} (${g.session.phase})` : '-', g.session?.container ?? '-', String(g.queued)])]));
}

export async function add(ctx: Ctx, name: string, opts: { model: string; system?: string }): Promise<void> {
  const g = await ControlClient.fromConfig(ctx.config).call('PUT', `/v1/groups/${encodeURIComponent(name)}`, { model: opts.model, ...(opts.system ? { system: opts.system } : {}) });
  if (ctx.json) ctx.printJson(g); else ctx.print(name);
}

export async function revoke(ctx: Ctx, name: string, opts: { reason?: string }): Promise<void> {
  const r = await ControlClient.fromConfig(ctx.config).call<{ revoked: number }>('POST', `/v1/groups/${encodeURIComponent(name)}/revoke`, opts.reason ? { reason: opts.reason } : {});
  if (ctx.json) ctx.printJson(r); else ctx.print(`revoked ${r.revoked} token${r.revoked === 1 ? '' : 's'} of group ${name}`);
}

interface UsageView { group: string; periodStart: string; periodEnd: string; requests: number; inputTokens: number; outputTokens: number; budget: { tokens?: number; requests?: number } | null }

export async function usage(ctx: Ctx, name: string): Promise<void> {
  const u = await ControlClient.fromConfig(ctx.config).call<UsageView>('GET', `/v1/groups/${encodeURIComponent(name)}/usage`);
  if (ctx.json) { ctx.printJson(u); return; }
  const of = (n: number, max?: number) => (max === undefined ? String(n) : `${n} of ${max}`);
  ctx.print(`group ${u.group}, ${u.periodStart} → ${u.periodEnd}: ${of(u.requests, u.budget?.requests)} requests, ${of(u.inputTokens + u.outputTokens, u.budget?.tokens)} tokens (${u.inputTokens} in, ${u.outputTokens} out)`);
}

export async function token(ctx: Ctx, name: string): Promise<void> {
  const r = await ControlClient.fromConfig(ctx.config).call<{ token: string }>('POST', `/v1/groups/${encodeURIComponent(name)}/tokens`);
  if (ctx.json) ctx.printJson(r); else ctx.print(r.token);
}
