import { createInterface } from 'node:readline';
import type { Ctx } from './context.js';
import { ControlClient } from '../control/client.js';
import { followAnswer } from './answer.js';

/** An interactive conversation with a group: each line is a message; the answer streams back. */
export default async function chat(ctx: Ctx, group: string): Promise<number> {
  const client = ControlClient.fromConfig(ctx.config);
  await client.call('GET', '/v1/health');
  const tty = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  if (tty) ctx.say(`chatting with group ${group} (Ctrl-D to leave)`);
  let failures = 0;
  // the async iterator buffers lines, so piped input (several lines at once) loses none
  rl.setPrompt('you> ');
  if (tty) rl.prompt();
  for await (const line of rl) {
    if (!line.trim()) { if (tty) rl.prompt(); continue; }
    const r = await followAnswer(client.send(group, line), { text: (s) => process.stdout.write(s), note: (s) => ctx.say(s) });
    if (r.text && !r.text.endsWith('\n')) process.stdout.write('\n');
    if (r.status === 'failed') { failures++; ctx.say(`failed: ${r.reason}`); }
    if (tty) rl.prompt();
  }
  rl.close();
  return failures ? 1 : 0;
}
