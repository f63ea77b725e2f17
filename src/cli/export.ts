// clawpod export: an agent spec as Kubernetes objects (kube), a Kustomize base + overlay
// (kustomize) or a file for `podman kube play` (podman). Notes on what does not carry over go
// to stderr; the objects to stdout, or to -o.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { loadAgents } from '../spec/load.js';

interface Opts { file: string; format: string; output?: string; namespace?: string; openshift?: boolean; mode: string; gatewayNamespace?: string; overlay?: string; storageClass?: string }

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function check(opts: Opts): void {
  const fail = (what: string, hint: string) => { throw new ClawpodError('USAGE', what, { hint }); };
  if (!['kube', 'kustomize', 'podman'].includes(opts.format)) fail(`--format ${opts.format} is not a format clawpod exports`, 'use --format kube, kustomize or podman');
  if (!['session', 'persistent'].includes(opts.mode)) fail(`--mode ${opts.mode} is not a mode`, 'use --mode session (a Job) or --mode persistent (a StatefulSet)');
  for (const [flag, v] of [['--namespace', opts.namespace], ['--gateway-namespace', opts.gatewayNamespace], ['--overlay', opts.overlay]] as const) {
    if (v !== undefined && !DNS_LABEL.test(v)) fail(`${flag} ${v} is not a DNS label`, `use lowercase letters, digits and "-", e.g. ${flag} agents`);
  }
  if (opts.format === 'kustomize' && !opts.output) fail('--format kustomize writes a folder', 'add -o DIR (it gets base/ and overlays/)');
  if (opts.format === 'podman' && (opts.openshift || opts.namespace)) fail(`--format podman takes no ${opts.openshift ? '--openshift' : '--namespace'}`, 'drop it, or export --format kube');
}

export default async function exportVerb(ctx: Ctx, opts: Opts): Promise<void> {
  check(opts);
  const loaded = await loadAgents(opts.file, ctx.config.dataDir);
  const { exportAgents } = await import('../kube/export.js');
  const r = exportAgents(loaded.map((l) => l.agent), {
    format: opts.format as 'kube',
    mode: opts.mode as 'session',
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.openshift ? { openshift: true } : {}),
    ...(opts.gatewayNamespace ? { gatewayNamespace: opts.gatewayNamespace } : {}),
    ...(opts.overlay ? { overlay: opts.overlay } : {}),
    ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
  });
  const written: string[] = [];
  if (opts.output) {
    for (const [rel, text] of r.files) {
      const path = rel === '' ? opts.output : join(opts.output, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      written.push(path);
    }
  }
  // on stderr with --json too: a dropped security setting is never silent
  for (const w of r.warnings) ctx.say(`warning: ${w}`);
  if (ctx.json) {
    ctx.printJson({ format: opts.format, mode: opts.mode, files: written, ...(opts.output ? {} : { text: r.files.get('') }), notes: r.notes, warnings: r.warnings });
    return;
  }
  for (const n of r.notes) ctx.say(`note: ${n}`);
  if (!opts.output) process.stdout.write(r.files.get('') ?? '');
  else for (const w of written) ctx.print(w);
}
