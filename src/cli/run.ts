import type { Ctx } from './context.js';
import { trace } from '../trace.js';
import { ClawpodError } from '../errors.js';
import { checkAgentName } from '../spec/names.js';
import type { Runtime } from '../runtime/runtime.js';
import { loadAgents, loadProfileAgent } from '../spec/load.js';
import { createAgent, undoCreate, type RunResult } from '../ops/run.js';
import { profileOf } from '../ops/payload.js';
import { startService } from '../ops/service.js';

interface Opts { file?: string; name?: string; detach?: boolean; rm?: boolean }

function describe(r: RunResult): string {
  const ports = r.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}`).join(', ');
  return `${r.name}${ports ? `  ${ports}` : ''}${r.volume ? `  workspace: ${r.volume}` : ''}`;
}

/**
 * The attach stream ends when the agent exits. Podman's wait endpoint answers a few hundred ms
 * later (it polls); inspect already shows the exit code, so poll that briefly, then fall back to wait.
 */
async function exitCodeAfterOutput(rt: Runtime, id: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const d = await rt.inspectContainer(id);
    if (!d) return 0;
    if (d.state !== 'running' && d.state !== 'created' && d.exitCode !== undefined) return d.exitCode;
    await new Promise((res) => setTimeout(res, 10));
  }
  return rt.waitContainer(id);
}

export default async function run(ctx: Ctx, profileName: string | undefined, opts: Opts): Promise<number | void> {
  trace('run: verb loaded');
  // before any spec is read or anything created: the name reaches paths and engine objects
  if (opts.name !== undefined) checkAgentName(opts.name, '--name');
  if (!profileName && !opts.file) throw new ClawpodError('USAGE', 'nothing to run: give a spec file with -f, or a profile', { hint: 'clawpod run -f agent.yaml, or clawpod run openclaw --name alice' });
  const loaded = profileName ? [await loadProfileAgent(profileName, opts.name, opts.file)] : await loadAgents(opts.file!, ctx.config.dataDir);
  trace('run: spec validated');
  const profile = profileOf(loaded[0]!.agent);
  if (loaded.length === 1 && profile?.service) {
    if (opts.rm) throw new ClawpodError('USAGE', `--rm: ${profile.name} is a service that keeps running`, { hint: 'remove it with `clawpod rm -f NAME` when done' });
    const r = await startService(await ctx.runtime(), ctx.config, loaded[0]!, { ...(opts.name ? { name: opts.name } : {}), say: ctx.say });
    if (ctx.json) ctx.printJson({ ...r.run, url: r.url, startupSeconds: r.seconds, claimed: r.claimed ?? null });
    else {
      ctx.print(`${describe(r.run)}  healthy in ${r.seconds.toFixed(1)} s${r.claimed ? ` (warm pool: ${r.claimed})` : ''}`);
      if (r.url) ctx.print(`open ${r.url}`);
    }
    for (const g of r.run.generated ?? []) ctx.print(`${g.label} of ${r.run.name} (shown once; kept in the vault as ${g.vaultName}): ${g.value}`);
    return;
  }
  if (loaded.length > 1 && (opts.name || !opts.detach)) {
    throw new ClawpodError('USAGE', `${opts.file} holds ${loaded.length} agents`, { hint: 'run several agents with -d and without --name, or split the file' });
  }
  const rt = await ctx.runtime();
  if (opts.detach) {
    const results: RunResult[] = [];
    for (const l of loaded) {
      const r = await createAgent(rt, ctx.config, l, { ...(opts.name ? { name: opts.name } : {}), say: ctx.say });
      try { await rt.startContainer(r.id); } catch (e) { await undoCreate(rt, ctx.config, r); throw e; }
      await r.finish?.commit();
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
  await r.finish?.commit();
  const onSignal = () => { void rt.stopContainer(r.id, 10); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let first = true;
  for await (const chunk of attached.output) {
    if (first) { trace('run: first output'); first = false; }
    (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
  }
  attached.close();
  const code = await exitCodeAfterOutput(rt, r.id);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // the container, its secret files and Podman secrets; the workspace volume stays
  if (opts.rm) await undoCreate(rt, ctx.config, { ...r, volumeCreated: false });
  return code;
}
