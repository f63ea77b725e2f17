import type { Ctx } from './context.js';
import { targetRuntime, wantsCluster, type ClusterTarget } from '../runtime/connect.js';
import { ClawpodError } from '../errors.js';
import { findAgent } from '../ops/find.js';
import { ControlClient } from '../control/client.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { learnAgentSecrets, redactingWriter } from '../ops/redacted-output.js';

export default async function exec(ctx: Ctx, name: string, command: string[], opts: { interactive?: boolean } & ClusterTarget): Promise<number> {
  const rt = await targetRuntime(ctx.config, opts, () => ctx.runtime());
  let d = await findAgent(rt, name);
  // a paused or suspended agent is woken by the daemon that enforces its idle tiers (it counts as activity)
  if (!wantsCluster(opts) && (d.state === 'paused' || d.state === 'exited' || d.state === 'stopped')) d = await wakeForExec(ctx, rt, d);
  if (d.state !== 'running') {
    throw new ClawpodError('USAGE', `agent ${name} is ${d.state}, not running`, {
      hint: wantsCluster(opts) ? `its Pod is not running: clawpod apply -f SPEC waits until it is (kubectl get pods -l app.kubernetes.io/instance=${name})` : `start it with \`clawpod start ${name}\``,
    });
  }
  const touched = wantsCluster(opts) ? undefined : touch(ctx, d.name);
  await learnAgentSecrets(ctx.config, d);
  const w = redactingWriter(process);
  const r = await rt.exec(d.id, {
    cmd: command[0] === '--' ? command.slice(1) : command,
    ...(opts.interactive ? { stdin: process.stdin } : {}),
    onOutput: (c) => w.write(c),
  });
  w.flush();
  await touched;
  return r.exitCode;
}

async function wakeForExec(ctx: Ctx, rt: Runtime, d: ContainerDetails): Promise<ContainerDetails> {
  let client: ControlClient | undefined;
  try { client = ControlClient.fromConfig(ctx.config); } catch { client = undefined; }
  const said = client ? await client.call<{ name: string; state: string }[]>('GET', '/v1/agents').catch(() => undefined) : undefined;
  const state = said?.find((a) => a.name === d.name)?.state;
  // what the lifecycle paused or suspended it wakes (and counts the exec as activity); an agent stopped by hand stays stopped
  if (client && said && (state === 'paused' || state === 'suspended')) await client.call('POST', `/v1/agents/${encodeURIComponent(d.name)}/wake`);
  else if (d.state === 'paused') await rt.unpauseContainer(d.id);
  else return d;
  return (await rt.inspectContainer(d.id)) ?? d;
}

/** Exec is activity: the daemon's idle clock for the agent starts again (nothing when no daemon runs). */
async function touch(ctx: Ctx, name: string): Promise<void> {
  try { await ControlClient.fromConfig(ctx.config).call('POST', `/v1/agents/${encodeURIComponent(name)}/activity`); } catch { /* no daemon */ }
}
