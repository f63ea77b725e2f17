import type { Ctx } from './context.js';
import { formatError, isClawpodError, type ClawpodError } from '../errors.js';
import { loadAgents } from '../spec/load.js';
import type { LoadedAgent } from '../spec/parse.js';

/** Checks every file (not just up to the first bad one); exits with the first error's code. */
export default async function validate(ctx: Ctx, files: string[]): Promise<number> {
  const valid: { file: string; agents: LoadedAgent[] }[] = [];
  const invalid: { file: string; error: ClawpodError }[] = [];
  for (const file of files) {
    // no cache: an explicit validation always runs the validator
    try { valid.push({ file, agents: await loadAgents(file, undefined) }); } catch (e) {
      if (!isClawpodError(e)) throw e;
      invalid.push({ file, error: e });
    }
  }
  if (ctx.json) {
    ctx.printJson({
      valid: invalid.length === 0,
      agents: valid.flatMap((v) => v.agents.map((l) => ({ file: v.file, name: l.agent.metadata.name, spec: l.agent }))),
      errors: invalid.map((i) => ({ file: i.file, ...i.error.toJSON() })),
    });
  } else {
    for (const v of valid) for (const l of v.agents) ctx.print(`${v.file}: agent ${l.agent.metadata.name} is valid`);
  }
  // one fix line at the end: it is the same for every spec error
  invalid.forEach(({ error }, i) => process.stderr.write(formatError(error, { hint: i === invalid.length - 1 })));
  return invalid[0]?.error.exitCode ?? 0;
}
