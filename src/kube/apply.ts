// `clawpod apply`: rendered objects → a cluster by server-side apply (field manager "clawpod",
// strict field validation), in the renderer's dependency order, then a wait until the agent is
// ready. The namespace must exist (createNamespace creates it, as `helm --create-namespace`);
// the Secret NAME-secrets is never created here (its values are not clawpod's to read).
import { ClawpodError } from '../errors.js';
import { apiError, httpCode, openCluster, refName, type Cluster, type ClusterOptions, type ObjectRef } from './cluster.js';
import { checkStorageClass } from './storage.js';
import type { KubeObject } from './types.js';
import { waitReady } from './wait.js';
import { untraced, type Phase } from '../otel/phases.js';

export interface ApplyOptions extends ClusterOptions {
  /** Spans of the apply and of the wait for Ready when the command is traced (src/otel/command.ts). */
  readonly phase?: Phase;
  /** Server-side dry run (`dryRun=All`): validated and admitted by the server, nothing stored. */
  readonly dryRun?: boolean;
  /** The StorageClass the claims name (checked before anything is applied); absent: the cluster's default. */
  readonly storageClass?: string;
  /** Create the namespace when it is missing (default false: a typo should not make a namespace). */
  readonly createNamespace?: boolean;
  /** Wait until the workload is ready (default true; never on a dry run). */
  readonly wait?: boolean;
  /** How long to wait for readiness. */
  readonly timeoutMs: number;
  /** Progress lines ("job/x: waiting for pods (0/1 active)"); stderr in the CLI. */
  readonly onProgress?: (line: string) => void;
}

export interface ApplyResult {
  readonly server: string;
  readonly context: string;
  readonly namespace: string;
  readonly dryRun: boolean;
  /** "kind/name" of every object applied, in order. */
  readonly applied: string[];
  /** True when waited and ready; undefined when not waited. */
  readonly ready?: boolean;
}

async function ensureNamespace(c: Cluster, opts: ApplyOptions, say: (l: string) => void): Promise<void> {
  try {
    await c.api.getPath(`/api/v1/namespaces/${c.namespace}`);
    return;
  } catch (e) {
    const code = httpCode(e);
    if (code === 403) return; // may not read namespaces, may still apply in one: the apply says
    if (code !== 404) throw apiError(e, c, { action: 'read', object: `namespace/${c.namespace}`, done: [] });
  }
  if (!opts.createNamespace || opts.dryRun) {
    throw new ClawpodError('NOT_FOUND', `namespace ${c.namespace} does not exist on ${c.server} (context ${c.context})${opts.dryRun && opts.createNamespace ? '; a dry run does not create it' : ''}`, {
      hint: `kubectl create namespace ${c.namespace}, or add --create-namespace (or pick another with --namespace)`,
      details: ['nothing was applied'],
    });
  }
  try {
    await c.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: c.namespace, labels: { 'app.kubernetes.io/managed-by': 'clawpod' } } }, false);
  } catch (e) {
    throw apiError(e, c, { action: 'apply', object: `namespace/${c.namespace}`, done: [] });
  }
  say(`namespace/${c.namespace} created`);
}

/** Applies `objects` in order into the cluster of `opts`; see ApplyOptions for what is waited for. */
export async function applyAgents(objects: readonly KubeObject[], opts: ApplyOptions): Promise<ApplyResult> {
  const say = opts.onProgress ?? (() => undefined);
  const c = openCluster(opts);
  const dryRun = opts.dryRun ?? false;
  await ensureNamespace(c, opts, say);
  if (opts.storageClass) await checkStorageClass(c, opts.storageClass);
  const phase = opts.phase ?? untraced;
  const applied: string[] = [];
  const inNs = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: c.namespace } }) as KubeObject);
  await phase('apply', async () => {
    for (const o of inNs) {
      const ref = refName(o);
      try {
        await c.api.apply(o as ObjectRef, dryRun);
      } catch (e) {
        throw apiError(e, c, { action: 'apply', object: ref, done: applied });
      }
      applied.push(ref);
      say(`${ref} ${dryRun ? 'valid (server dry run, not stored)' : 'applied'}`);
    }
  });
  const result = { server: c.server, context: c.context, namespace: c.namespace, dryRun, applied };
  if (dryRun || opts.wait === false) return result;
  await phase('wait.ready', () => waitReady(c, inNs, { timeoutMs: opts.timeoutMs, onProgress: say, applied }));
  return { ...result, ready: true };
}
