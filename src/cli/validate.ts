import type { Ctx } from './context.js';
import { loadAgentFile } from '../spec/parse.js';

export default async function validate(ctx: Ctx, files: string[]): Promise<void> {
  const results = files.flatMap((f) => loadAgentFile(f).map((l) => ({ file: f, name: l.agent.metadata.name, spec: l.agent })));
  if (ctx.json) ctx.printJson({ valid: true, agents: results });
  else for (const r of results) ctx.print(`${r.file}: agent ${r.name} is valid`);
}
