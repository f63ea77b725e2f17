import type { Ctx } from './context.js';
import { collectExpired } from '../lifecycle/gc.js';

export default async function gc(ctx: Ctx, opts: { kube?: boolean; context?: string; activatorNamespace?: string } = {}): Promise<void> {
  if (opts.kube || opts.context) {
    const { collectExpiredKube } = await import('../lifecycle/kube-gc.js');
    const { dropGroup } = await import('../fleet/local.js');
    const gone = await collectExpiredKube({
      ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}),
      ...(opts.activatorNamespace ? { activatorNamespace: opts.activatorNamespace } : {}),
    }, { say: ctx.say, dropGroup: (t) => dropGroup(ctx.config, t) });
    if (ctx.json) { ctx.printJson({ removed: gone }); return; }
    ctx.print(gone.length ? gone.map((g) => `removed expired tenant ${g.name}: namespace ${g.namespace} (expired ${g.expiredAt})`).join('\n') : 'no expired tenants');
    return;
  }
  const removed = await collectExpired(await ctx.runtime(), ctx.config, { say: ctx.say });
  if (ctx.json) { ctx.printJson({ removed }); return; }
  if (!removed.length) { ctx.print('no expired agents'); return; }
  for (const r of removed) ctx.print(`removed expired ${r.name}: ${r.removed.join(', ') || 'nothing was left'}`);
}
