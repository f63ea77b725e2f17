import type { Ctx } from './context.js';
import { targetRuntime, wantsCluster, type ClusterTarget } from '../runtime/connect.js';
import { ClawpodError } from '../errors.js';
import { findAgent } from '../ops/find.js';
import { keepActive, wakeIfAsleep } from '../lifecycle/wake-client.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { unpauseIfPaused } from '../runtime/facets.js';
import { learnAgentSecrets, redactingWriter } from '../ops/redacted-output.js';

export default async function exec(ctx: Ctx, name: string, command: string[], opts: { interactive?: boolean } & ClusterTarget): Promise<number> {
  const rt = await targetRuntime(ctx.config, opts, () => ctx.runtime());
  let d = await findAgent(rt, name);
  // a paused or suspended agent is woken by the daemon that enforces its idle tiers (it counts as activity)
  if (!wantsCluster(opts)) d = await wakeForExec(ctx, rt, d);
  if (d.state !== 'running') {
    throw new ClawpodError('USAGE', `agent ${name} is ${d.state}, not running`, {
      hint: wantsCluster(opts) ? `its Pod is not running: clawpod apply -f SPEC waits until it is (kubectl get pods -l app.kubernetes.io/instance=${name})` : `start it with \`clawpod start ${name}\``,
    });
  }
  await learnAgentSecrets(ctx.config, d);
  const w = redactingWriter(process);
  const stopKeeping = wantsCluster(opts) ? () => undefined : keepActive(ctx.config, d.name);
  const r = await rt.exec(d.id, {
    cmd: command[0] === '--' ? command.slice(1) : command,
    ...(opts.interactive ? { stdin: process.stdin } : {}),
    onOutput: (c) => w.write(c),
  });
  w.flush();
  stopKeeping();
  return r.exitCode;
}

async function wakeForExec(ctx: Ctx, rt: Runtime, d: ContainerDetails): Promise<ContainerDetails> {
  const woke = await wakeIfAsleep(ctx.config, d.name, ctx.say);
  // no daemon: nothing would pause it again, and nothing else needs telling
  if (woke !== 'woken' && d.state === 'paused') await unpauseIfPaused(rt, d);
  else if (woke !== 'woken') return d;
  return (await rt.inspectContainer(d.id)) ?? d;
}
