// clawpod apply: an agent spec → the cluster of the kubeconfig (server-side apply, field manager
// "clawpod"), then wait until the agent is ready. Progress on stderr; --json prints the result.
import type { Ctx } from './context.js';
import { ClawpodError } from '../errors.js';
import { parseDuration } from '../spec/quantity.js';
import { loadAgents } from '../spec/load.js';
import { traceCommand, type CommandTrace } from '../otel/command.js';

interface Opts {
  file: string; context?: string; namespace?: string; dryRun?: string | boolean; mode: string;
  wait?: string | boolean; timeout: string; createNamespace?: boolean; openshift?: boolean; gatewayNamespace?: string; storageClass?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function flags(opts: Opts): { dryRun: boolean; wait: boolean; timeoutMs: number } {
  const fail = (what: string, hint: string): never => { throw new ClawpodError('USAGE', what, { hint }); };
  if (!['session', 'persistent'].includes(opts.mode)) fail(`--mode ${opts.mode} is not a mode`, 'use --mode session (a Job) or --mode persistent (a StatefulSet)');
  if (opts.namespace !== undefined && !DNS_LABEL.test(opts.namespace)) fail(`--namespace ${opts.namespace} is not a DNS label`, 'use lowercase letters, digits and "-"');
  const dr = opts.dryRun;
  if (dr !== undefined && dr !== true && dr !== 'server' && dr !== 'none') fail(`--dry-run=${String(dr)} is not supported`, dr === 'client' ? 'for a client-side render use clawpod export -f FILE' : 'use --dry-run=server');
  const w = opts.wait;
  const wait = w === undefined || w === true || !['false', 'no', '0'].includes(String(w));
  const t = parseDuration(opts.timeout);
  if (!t.ok) fail(`--timeout ${opts.timeout} is not a duration`, `use ${t.expected}`);
  return { dryRun: dr === true || dr === 'server', wait, timeoutMs: t.ok ? t.value : 0 };
}

/** OpenShift by its API groups; an unreachable cluster is reported by the apply that follows. */
async function detect(ctx: Ctx, opts: Opts, say: (l: string) => void): Promise<boolean> {
  const [{ openCluster }, { detectOpenShift }] = await Promise.all([import('../kube/cluster.js'), import('../kube/openshift.js')]);
  const c = openCluster({ ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  const found = await detectOpenShift(c.kc).catch(() => false);
  if (found) say(`OpenShift detected at ${c.server}: uid/gid left to the restricted SCC, ports exposed with a Route (--no-openshift to turn off)`);
  return found;
}

/** Traced as `clawpod apply` when an OTLP endpoint is set (docs/tracing.md). */
export default function applyVerb(ctx: Ctx, opts: Opts): Promise<void> {
  return traceCommand(ctx.config, 'clawpod apply', ctx.say, (t) => apply(ctx, opts, t));
}

async function apply(ctx: Ctx, opts: Opts, t: CommandTrace): Promise<void> {
  const f = flags(opts);
  t.set({ 'clawpod.mode': opts.mode, 'clawpod.dry_run': f.dryRun, 'clawpod.wait': f.wait });
  const loaded = await t.phase('spec.load', () => loadAgents(opts.file, ctx.config.dataDir));
  const [{ renderAgent }, { applyAgents }] = await Promise.all([import('../kube/render.js'), import('../kube/apply.js')]);
  const say = (l: string) => { if (!ctx.json) ctx.say(l); };
  const openshift = opts.openshift ?? await t.phase('cluster.detect', () => detect(ctx, opts, say));
  const objects = [];
  const notes: string[] = [];
  const warnings: string[] = [];
  for (const { agent } of loaded) {
    const r = renderAgent(agent, {
      mode: opts.mode as 'session',
      ...(openshift ? { openshift: true } : {}),
      ...(opts.gatewayNamespace ? { gatewayNamespace: opts.gatewayNamespace } : {}),
      ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
    });
    objects.push(...r.objects);
    notes.push(...r.notes.map((n) => `${agent.metadata.name}: ${n}`));
    warnings.push(...r.warnings.map((w) => `${agent.metadata.name}: ${w}`));
  }
  // before anything is sent, on stderr with --json too: what was dropped from the spec, and why
  for (const w of warnings) ctx.say(`warning: ${w}`);
  const result = await applyAgents(objects, {
    ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    dryRun: f.dryRun,
    wait: f.wait,
    createNamespace: opts.createNamespace ?? false,
    ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
    timeoutMs: f.timeoutMs,
    onProgress: say,
    phase: t.phase,
  });
  t.set({ 'clawpod.agents': loaded.length, 'clawpod.objects': result.applied.length, 'k8s.namespace.name': result.namespace });
  // the Secret is not applied (no value passes through clawpod): the note says how to create it
  const ns = result.namespace;
  const hints = notes.map((n) => n.replace('kubectl create secret generic', `kubectl -n ${ns} create secret generic`));
  if (ctx.json) {
    ctx.printJson({ ...result, notes: hints, warnings });
    return;
  }
  for (const n of hints) ctx.say(`note: ${n}`);
  const names = loaded.map((l) => l.agent.metadata.name).join(', ');
  ctx.print(result.dryRun
    ? `${names}: ${result.applied.length} objects valid on ${result.server} (server dry run: nothing stored)`
    : `${names}: ${result.applied.length} objects applied in namespace ${ns}${result.ready ? ', ready' : ''}`);
}
