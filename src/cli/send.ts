import type { Ctx } from './context.js';
import { ControlClient } from '../control/client.js';
import { followAnswer } from './answer.js';

export default async function send(ctx: Ctx, group: string, words: string[], opts: { wait?: boolean }): Promise<number> {
  const client = ControlClient.fromConfig(ctx.config);
  const text = words.join(' ');
  if (opts.wait === false) {
    const m = await client.call<{ id: string }>('POST', `/v1/groups/${encodeURIComponent(group)}/messages`, { text });
    if (ctx.json) ctx.printJson(m); else ctx.print(m.id);
    return 0;
  }
  const events: unknown[] = [];
  const r = await followAnswer(client.send(group, text), {
    text: (s) => { if (!ctx.json) process.stdout.write(s); },
    note: (s) => { if (!ctx.json) ctx.say(s); },
    ...(ctx.json ? { json: (e: unknown) => events.push(e) } : {}),
  });
  if (ctx.json) ctx.printJson({ id: r.id, status: r.status, text: r.text, ...(r.reason ? { reason: r.reason } : {}), events });
  else {
    if (r.text && !r.text.endsWith('\n')) process.stdout.write('\n');
    if (r.status === 'failed') ctx.say(`message ${r.id} failed: ${r.reason}`);
  }
  return r.status === 'done' ? 0 : 1;
}
