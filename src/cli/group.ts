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
