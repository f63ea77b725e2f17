import type { Ctx } from './context.js';
import { loadControlPlane } from '../control/config.js';
import { controlDir, startControlPlane } from '../control/server.js';

export default async function serveVerb(ctx: Ctx, opts: { file?: string; listen?: string; maxConcurrent?: number }): Promise<number> {
  const loaded = loadControlPlane(opts.file);
  const cp = opts.maxConcurrent ? { ...loaded, config: { ...loaded.config, spec: { ...loaded.config.spec, maxConcurrent: opts.maxConcurrent } } } : loaded;
  const r = cp.config.spec.runtime;
  const rt = r.kind === 'kubernetes'
    ? await import('../runtime/connect.js').then((m) => m.connectKubernetes(ctx.config, {
      ...(r.context ? { context: r.context } : {}), ...(r.namespace ? { namespace: r.namespace } : {}), serviceAccount: r.serviceAccount, ...(r.storageClass ? { storageClass: r.storageClass } : {}),
    }))
    : await ctx.runtime();
  const running = await startControlPlane(ctx.config, rt, cp, ctx.say, opts.listen);
  const s = cp.config.spec;
  ctx.say(`clawpod control plane on ${running.url} (runtime ${rt.kind} at ${rt.endpoint}; at most ${s.maxConcurrent} containers; groups: ${s.groups.map((g) => g.name).join(', ') || 'none yet'})`);
  ctx.say(`token and state in ${controlDir(ctx.config)}; try: clawpod send GROUP "hello"`);
  ctx.say(`dashboard: ${running.url}/ui/`);
  // only when this start made the token: later starts never print it
  if (running.newToken) ctx.say(`admin token (shown this once; kept in ${controlDir(ctx.config)}/token): ${running.newToken}`);
  await new Promise<void>((resolve) => {
    const stop = () => { ctx.say('stopping: closing session containers'); resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.stop();
  return 0;
}
