// clawpod import: Kubernetes manifests (Pod, Deployment, StatefulSet, Job) → Agent spec YAML
// that `clawpod run -f` runs. Warnings (what was dropped or changed) go to stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Ctx } from './context.js';
import { ClawpodError, messageOf } from '../errors.js';
import { decodeUtf8 } from '../spec/utf8.js';

export default async function importVerb(ctx: Ctx, file: string, opts: { output?: string }): Promise<void> {
  let bytes: Buffer;
  try { bytes = file === '-' ? readFileSync(0) : readFileSync(file); } catch (e) {
    throw new ClawpodError('FILE_NOT_FOUND', `cannot read ${file}: ${messageOf(e)}`, { hint: 'give the path of a manifest file (- reads stdin)', cause: e });
  }
  const [{ importManifests }, { toYaml }] = await Promise.all([import('../kube/import.js'), import('../kube/export.js')]);
  const r = importManifests(decodeUtf8(bytes, file), file);
  const yaml = `# clawpod import ${file}\n${r.agents.map(toYaml).join('---\n')}`;
  if (opts.output) writeFileSync(opts.output, yaml);
  if (ctx.json) {
    ctx.printJson({ agents: r.agents, warnings: r.warnings, ...(opts.output ? { file: opts.output } : {}) });
    return;
  }
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (opts.output) ctx.print(opts.output);
  else process.stdout.write(yaml);
}
