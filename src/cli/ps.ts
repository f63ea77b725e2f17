import type { Ctx } from './context.js';
import { table } from './context.js';
import { LABELS } from '../spec/defaults.js';

export default async function ps(ctx: Ctx, opts: { all?: boolean }): Promise<void> {
  const rt = await ctx.runtime();
  const list = (await rt.listContainers({ labels: { [LABELS.managed]: 'true' }, all: opts.all ?? false }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const now = Date.now();
  const rows = list.map((c) => {
    const exp = c.labels[LABELS.expiresAt];
    return {
      name: c.name, agent: c.labels[LABELS.agent] ?? '', state: c.state, image: c.image,
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
