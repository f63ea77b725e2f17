import type { Ctx } from './context.js';
import { targetRuntime, wantsCluster, type ClusterTarget } from '../runtime/connect.js';
import { ClawpodError } from '../errors.js';
import { findAgent } from '../ops/find.js';
import { learnAgentSecrets, redactingWriter } from '../ops/redacted-output.js';

export default async function exec(ctx: Ctx, name: string, command: string[], opts: { interactive?: boolean } & ClusterTarget): Promise<number> {
  const rt = await targetRuntime(ctx.config, opts, () => ctx.runtime());
  const d = await findAgent(rt, name);
  if (d.state !== 'running') {
    throw new ClawpodError('USAGE', `agent ${name} is ${d.state}, not running`, {
      hint: wantsCluster(opts) ? `its Pod is not running: clawpod apply -f SPEC waits until it is (kubectl get pods -l app.kubernetes.io/instance=${name})` : `start it with \`clawpod start ${name}\``,
    });
  }
  await learnAgentSecrets(ctx.config, d);
  const w = redactingWriter(process);
  const r = await rt.exec(d.id, {
    cmd: command[0] === '--' ? command.slice(1) : command,
    ...(opts.interactive ? { stdin: process.stdin } : {}),
    onOutput: (c) => w.write(c),
  });
  w.flush();
  return r.exitCode;
}
