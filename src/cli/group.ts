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

interface HistoryView {
  group: string; enabled: boolean; budgetTokens: number; freshAfter: number;
  turns: { seq: number; at: string; user: string; assistant: string }[];
  summaries: { uptoSeq: number; turns: number; at: string; text: string }[];
}

export async function history(ctx: Ctx, name: string): Promise<void> {
  const h = await ControlClient.fromConfig(ctx.config).call<HistoryView>('GET', `/v1/groups/${encodeURIComponent(name)}/history?format=json`);
  if (ctx.json) { ctx.printJson(h); return; }
  if (!h.enabled) ctx.say('memory is off (spec.memory.enabled: false): sessions start without this');
  if (!h.turns.length && !h.summaries.length) { ctx.say(`group ${name} has no stored conversation`); return; }
  for (const s of h.summaries) ctx.print(`-- summary of ${s.turns} turn${s.turns === 1 ? '' : 's'} up to #${s.uptoSeq} (${s.at}):\n${s.text}\n`);
  for (const t of h.turns) {
    ctx.print(`#${t.seq} ${t.at}${h.freshAfter >= t.seq ? ' (before /new)' : ''}\n> ${t.user.replace(/\n/g, '\n> ')}\n${t.assistant}\n`);
  }
}

export async function forget(ctx: Ctx, name: string): Promise<void> {
  const r = await ControlClient.fromConfig(ctx.config).call<{ turns: number; summaries: number }>('DELETE', `/v1/groups/${encodeURIComponent(name)}/history`);
  if (ctx.json) ctx.printJson(r);
  else ctx.print(`forgot ${r.turns} turn${r.turns === 1 ? '' : 's'} and ${r.summaries} summar${r.summaries === 1 ? 'y' : 'ies'} of group ${name}`);
}
