import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { parseDuration } from '../spec/quantity.js';
import { upgradeAgent } from '../ops/upgrade.js';

interface Opts { version?: string; image?: string; timeout?: string }

export default async function upgrade(ctx: Ctx, name: string, opts: Opts): Promise<void> {
  let budgetMs: number | undefined;
  if (opts.timeout) {
    const t = parseDuration(opts.timeout);
    if (!t.ok) throw new ClawpodError('USAGE', `--timeout ${opts.timeout} is not a duration`, { hint: `use ${t.expected}` });
    budgetMs = t.value;
  }
  const r = await upgradeAgent(await ctx.runtime(), ctx.config, name, {
    ...(opts.version ? { version: opts.version } : {}), ...(opts.image ? { image: opts.image } : {}), ...(budgetMs ? { budgetMs } : {}), say: ctx.say,
  });
  if (ctx.json) ctx.printJson(r);
  else ctx.print(`${r.name}: ${r.from} → ${r.to}, healthy in ${r.seconds.toFixed(1)} s${r.url ? `  ${r.url}` : ''}`);
}
