import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { loadAgentFile } from '../spec/parse.js';
import { createAgent, undoCreate, type RunResult } from '../ops/run.js';

interface Opts { file: string; name?: string; detach?: boolean; rm?: boolean }

function describe(r: RunResult): string {
  const ports = r.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}`).join(', ');
  return `${r.name}${ports ? `  ${ports}` : ''}${r.volume ? `  workspace: ${r.volume}` : ''}`;
}

export default async function run(ctx: Ctx, opts: Opts): Promise<number | void> {
  const loaded = loadAgentFile(opts.file);
  if (loaded.length > 1 && (opts.name || !opts.detach)) {
    throw new ClawpodError('USAGE', `${opts.file} holds ${loaded.length} agents`, { hint: 'run several agents with -d and without --name, or split the file' });
  }
  const rt = await ctx.runtime();
  if (opts.detach) {
    const results: RunResult[] = [];
    for (const l of loaded) {
      const r = await createAgent(rt, ctx.config, l, { ...(opts.name ? { name: opts.name } : {}), say: ctx.say });
      try { await rt.startContainer(r.id); } catch (e) { await undoCreate(rt, ctx.config, r); throw e; }
      results.push(r);
    }
    if (ctx.json) ctx.printJson(results.length === 1 ? results[0] : results);
    else for (const r of results) ctx.print(describe(r));
    return;
  }
  // Attached, like `podman run`: output streams until the agent exits; its exit code is ours.
  const r = await createAgent(rt, ctx.config, loaded[0]!, { ...(opts.name ? { name: opts.name } : {}), say: ctx.say });
  let attached;
  try {
    attached = await rt.attach(r.id);
    await rt.startContainer(r.id);
  } catch (e) { attached?.close(); await undoCreate(rt, ctx.config, r); throw e; }
  const exit = rt.waitContainer(r.id);
  const onSignal = () => { void rt.stopContainer(r.id, 10); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const pump = (async () => {
    for await (const chunk of attached.output) (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
  })();
  const code = await exit;
  await Promise.race([pump, new Promise((res) => setTimeout(res, 500))]);
  attached.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (opts.rm) await rt.removeContainer(r.id, { force: true });
  return code;
}
