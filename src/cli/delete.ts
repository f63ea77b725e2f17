// clawpod delete: removes an agent's objects from the cluster (found by clawpod's labels); its
// claims stay unless --volumes, like `clawpod rm --volumes`.
import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { loadAgents } from '../spec/load.js';

interface Opts { file?: string; context?: string; namespace?: string; volumes?: boolean }

export default async function deleteVerb(ctx: Ctx, names: string[], opts: Opts): Promise<void> {
  if (opts.file && names.length) throw new ClawpodError('USAGE', 'give either -f FILE or agent names, not both', { hint: 'clawpod delete -f agent.yaml, or clawpod delete NAME' });
  const targets = opts.file ? (await loadAgents(opts.file, ctx.config.dataDir)).map((l) => l.agent.metadata.name) : names;
  if (targets.length === 0) throw new ClawpodError('USAGE', 'nothing to delete', { hint: 'clawpod delete -f agent.yaml, or clawpod delete NAME [--namespace N]' });
  const { deleteAgents } = await import('../kube/delete.js');
  const r = await deleteAgents(targets, {
    ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    volumes: opts.volumes ?? false,
    onProgress: (l) => { if (!ctx.json) ctx.say(l); },
  });
  if (ctx.json) { ctx.printJson(r); return; }
  ctx.print(`${targets.join(', ')}: ${r.deleted.length} objects deleted from namespace ${r.namespace}${r.kept.length ? `, ${r.kept.length} claims kept` : ''}`);
}
