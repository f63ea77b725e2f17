import type { Ctx } from './context.js';
import { table } from './context.js';
import { LABELS } from '../spec/defaults.js';
import { agentNameOf } from '../ops/claims.js';
import { sidecarStates } from '../browser/run.js';
import { ControlClient } from '../control/client.js';
import type { AgentStatus } from '../lifecycle/manager.js';

export default async function ps(ctx: Ctx, opts: { all?: boolean }): Promise<void> {
  const rt = await ctx.runtime();
  // paused agents are listed like running ones (as `docker ps` does); -a adds stopped and suspended ones
  const list = (await rt.listContainers({ labels: { [LABELS.managed]: 'true' }, all: true }))
    .filter((c) => opts.all || c.state === 'running' || c.state === 'paused')
    .sort((a, b) => a.name.localeCompare(b.name));
  const now = Date.now();
  const life = new Map((await daemonView(ctx)).map((a) => [a.name, a]));
  const browsers = await sidecarStates(rt);
  const rows = list.map((c) => {
    const exp = c.labels[LABELS.expiresAt];
    const l = life.get(c.name);
    return {
      name: c.name, agent: agentNameOf(ctx.config, c), state: l?.state === 'suspended' ? 'suspended' : c.state, image: c.image,
      ports: c.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}/${p.protocol}`),
      created: c.createdAt, expiresAt: l?.expiresAt ?? exp ?? null, expired: exp ? Date.parse(exp) <= now : false,
      next: l?.next ?? null, idleSeconds: l?.idleSeconds ?? null,
      browser: browsers.get(c.name) ?? null,
    };
  });
  if (ctx.json) { ctx.printJson(rows); return; }
  // the BROWSER column only when some agent has a browser sidecar (spec.browser)
  const withBrowser = rows.some((r) => r.browser);
  ctx.print(table([
    ['NAME', 'AGENT', 'STATE', 'IMAGE', 'PORTS', 'NEXT', 'EXPIRES', ...(withBrowser ? ['BROWSER'] : [])],
    ...rows.map((r) => [r.name, r.agent, r.state, r.image, r.ports.join(',') || '-', r.next ? `${r.next.action} in ${human(r.next.inSeconds)}` : '-', r.expiresAt ? (r.expired ? 'expired (clawpod gc)' : r.expiresAt) : '-', ...(withBrowser ? [r.browser ?? '-'] : [])]),
  ]));
}

/** What the daemon (clawpod serve) knows: suspended agents and each one's next lifecycle step; nothing without one. */
async function daemonView(ctx: Ctx): Promise<AgentStatus[]> {
  try { return await ControlClient.fromConfig(ctx.config).call<AgentStatus[]>('GET', '/v1/agents'); } catch { return []; }
}

export function human(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
