import type { Ctx } from './context.js';
import { table } from './context.js';
import { LABELS } from '../spec/defaults.js';
import { claimedSpec } from '../ops/claims.js';

/** A claimed warm-pool member (renamed, labels still the pool's) shows the agent it now is. */
function agentOf(ctx: Ctx, c: { name: string; labels: Readonly<Record<string, string>> }): string {
  const label = c.labels[LABELS.agent] ?? '';
  if (c.labels[LABELS.role] !== 'pool' || c.name === c.labels[LABELS.instance]) return label;
  return claimedSpec(ctx.config, c.name)?.agent.metadata.name ?? label;
}

export default async function ps(ctx: Ctx, opts: { all?: boolean }): Promise<void> {
  const rt = await ctx.runtime();
  const list = (await rt.listContainers({ labels: { [LABELS.managed]: 'true' }, all: opts.all ?? false }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const now = Date.now();
  const rows = list.map((c) => {
    const exp = c.labels[LABELS.expiresAt];
    return {
      name: c.name, agent: agentOf(ctx, c), state: c.state, image: c.image,
      ports: c.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}/${p.protocol}`),
      created: c.createdAt, expiresAt: exp ?? null, expired: exp ? Date.parse(exp) <= now : false,
    };
  });
  if (ctx.json) { ctx.printJson(rows); return; }
  ctx.print(table([
    ['NAME', 'AGENT', 'STATE', 'IMAGE', 'PORTS', 'EXPIRES'],
    ...rows.map((r) => [r.name, r.agent, r.state, r.image, r.ports.join(',') || '-', r.expiresAt ? (r.expired ? 'expired (clawpod gc)' : r.expiresAt) : '-']),
  ]));
}
