// A real Kubernetes API server for integration tests, envtest-style: scripts/kube-harness.sh
// starts etcd + kube-apiserver (built once from the k8s.io/kubernetes Go module and cached in
// ${CLAWPOD_KUBE_CACHE:-~/.cache/clawpod-kube}) on loopback, with a throw-away CA, an admin
// token (system:masters), a limited token (RBAC only) and --authorization-mode=RBAC.
//
// Cost: the FIRST call on a machine builds kube-apiserver (10-25 minutes on 2 cores, one-time;
// `scripts/kube-harness.sh build` does it ahead of the tests). Once cached, startKube() takes a
// few seconds. See docs/kubernetes-harness.md.
//
// Instead of starting one, the tests can use any cluster: set CLAWPOD_TEST_KUBECONFIG to a
// kubeconfig (kind, k3d, OpenShift Local...). Its current context is used and stop() is a no-op.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { IN_CI } from './prereq.js';

import { KUBE_HARNESS } from './kube-harness-path.js';
import { parseEnv, runScript } from './harness.js';

export { KUBE_HARNESS };

/**
 * Thrown when no API server can be had on this machine (no Go/proxy to build, no etcd...). Tests skip
 * on it — except with CI=true, where startKube throws a plain Error instead: set-up must provide it.
 */
export class KubeUnavailableError extends Error {
  constructor(public readonly reason: string) {
    super(`Kubernetes API server unavailable: ${reason}`);
    this.name = 'KubeUnavailableError';
  }
}

export interface Kube {
  /** Path of an admin kubeconfig (user clawpod-admin in system:masters). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** Admin bearer token. */
  token: string;
  /** PEM file of the CA that signed the serving cert (empty for an external cluster). */
  ca: string;
  /** Kubeconfig/token of `clawpod-limited`: authenticated, but allowed nothing until a test binds a Role. */
  limitedKubeconfig?: string;
  limitedToken?: string;
  /** Kubernetes release of the server (from the harness), or 'external'. */
  version: string;
  /** Whether kube-controller-manager runs (Jobs/StatefulSets get Pods). */
  controllerManager: boolean;
  /** Whether Pods really run: kube-scheduler + a kubelet on containerd (node "localhost"). */
  nodes: boolean;
  /** The node's IPv4 address: what Pods reach this machine at (e.g. a gateway listening on it). */
  nodeIp?: string;
  /** Folder with logs (apiserver.log, etcd.log) while it runs. */
  dir: string;
  stop(): Promise<void>;
}

export interface StartKubeOptions {
  /** hostPath PersistentVolumes the node offers (class local; default 16): the harness has no provisioner. */
  pvs?: number;
  /** Also run kube-controller-manager (built too on first use). Default false. */
  controllerManager?: boolean;
  /**
   * Also run a node: kube-scheduler, containerd and a kubelet (implies controllerManager), with
   * localhost/clawpod-agent:latest imported from Podman, a default StorageClass and hostPath PVs.
   * Needs root; the harness installs containerd and the CNI plugins with apt-get when missing.
   */
  nodes?: boolean;
  /** Images imported from Podman into the node (default: localhost/clawpod-agent:latest). */
  images?: readonly string[];
  /** Build the binaries if they are not cached (default true; CLAWPOD_KUBE_BUILD=0 turns it off, then tests skip). */
  build?: boolean;
  /** Print the harness's progress lines (build heartbeat) to stderr. Default true. */
  progress?: boolean;
}

const run = (args: string[], env: NodeJS.ProcessEnv, progress: boolean) => runScript(KUBE_HARNESS, args, env, progress);


function harnessBuilt(need: readonly string[]): boolean {
  const r = spawnSync('bash', [KUBE_HARNESS, 'paths'], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  const lines = r.stdout.split('\n');
  return need.every((n) => lines.some((l) => l.startsWith(`${n}=`) && !l.endsWith('(not built)')));
}

let kubectlPath: string | undefined;

/**
 * The kubectl the tests use: the harness's own, built from the same k8s.io/kubernetes release as
 * the API server (not whatever is on PATH; Debian's is 1.20). The first call on a machine builds it
 * with the rest (minutes; vitest's global set-up does that ahead). CLAWPOD_TEST_KUBECTL overrides.
 */
export function kubectlBin(): string {
  if (kubectlPath) return kubectlPath;
  const given = process.env.CLAWPOD_TEST_KUBECTL;
  if (given) return (kubectlPath = given);
  // no building allowed (a developer's quick run): the harness's when built, else the one on PATH
  if (process.env.CLAWPOD_KUBE_BUILD === '0' && !harnessBuilt(['kubectl'])) return (kubectlPath = 'kubectl');
  const r = spawnSync('bash', [KUBE_HARNESS, 'kubectl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const path = r.stdout?.trim();
  if (r.status !== 0 || !path) throw new Error(`scripts/kube-harness.sh kubectl failed (exit ${r.status}): no kubectl to run the Kubernetes tests with`);
  return (kubectlPath = path);
}

/** Runs the harness's kubectl synchronously. */
export function kubectlSync(args: readonly string[], input?: string) {
  return spawnSync(kubectlBin(), args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
}

function external(kubeconfig: string): Kube {
  const view = (path: string) =>
    spawnSync(kubectlBin(), ['--kubeconfig', kubeconfig, 'config', 'view', '--raw', '--minify', '-o', `jsonpath={${path}}`], { encoding: 'utf8' }).stdout ?? '';
  return {
    kubeconfig,
    server: view('.clusters[0].cluster.server'),
    token: view('.users[0].user.token'),
    ca: '',
    version: 'external',
    controllerManager: true,
    nodes: true,
    dir: '',
    stop: async () => {},
  };
}

/**
 * startKube for a test file: the cluster, or why to skip (KubeUnavailableError); then namespace `ns`,
 * waiting for its ServiceAccount "default" when the controller manager runs (Pods need it).
 */
export async function startKubeIn(ns: string, opts: StartKubeOptions = {}): Promise<{ kube?: Kube; skip: string }> {
  let kube: Kube;
  try { kube = await startKube(opts); } catch (e) {
    if (e instanceof KubeUnavailableError) return { skip: e.reason };
    throw e;
  }
  const kubectl = (...args: string[]) => kubectlSync(['--kubeconfig', kube.kubeconfig, ...args]);
  const made = kubectl('create', 'namespace', ns);
  if (made.status !== 0) { await kube.stop(); throw new Error(`kubectl create namespace ${ns}: ${made.stderr}`); }
  for (let i = 0; kube.controllerManager && i < 100 && kubectl('-n', ns, 'get', 'serviceaccount', 'default').status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  return { kube, skip: '' };
}

/** Starts etcd + kube-apiserver on loopback (building them first if needed) and waits for /readyz. */
export async function startKube(opts: StartKubeOptions = {}): Promise<Kube> {
  try {
    return await startKubeOrUnavailable(opts);
  } catch (e) {
    // In CI the project's set-up provides everything the harness needs: no skipping there.
    if (IN_CI && e instanceof KubeUnavailableError) throw new Error(`prerequisite missing in CI: a Kubernetes API server (${e.reason})`);
    throw e;
  }
}

async function startKubeOrUnavailable(opts: StartKubeOptions): Promise<Kube> {
  const given = process.env.CLAWPOD_TEST_KUBECONFIG;
  if (given) return external(given);
  if (opts.nodes) {
    const shared = await sharedNode(opts);
    if (shared) return shared;
  }
  const dir = await launch(opts);
  // If the test process dies without calling stop(), do not leave etcd/kube-apiserver behind.
  const onExit = () => { spawnSync('bash', [KUBE_HARNESS, 'stop', dir], { stdio: 'ignore' }); };
  process.once('exit', onExit);
  let stopped = false;
  return fromDir(dir, async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await run(['stop', dir], process.env, false);
  });
}

/** Starts a harness into a new folder and returns that folder (its env file says where everything is). */
async function launch(opts: StartKubeOptions): Promise<string> {
  const nodes = opts.nodes ?? false;
  const controllerManager = nodes || (opts.controllerManager ?? false);
  const need = ['kube-apiserver', ...(controllerManager ? ['kube-controller-manager'] : []), ...(nodes ? ['kube-scheduler', 'kubelet'] : [])];
  const build = opts.build ?? process.env.CLAWPOD_KUBE_BUILD !== '0';
  if (!existsSync(KUBE_HARNESS)) throw new KubeUnavailableError(`${KUBE_HARNESS} is missing`);
  if (!build && !harnessBuilt(need)) {
    throw new KubeUnavailableError(`${need.join(', ')} not built and CLAWPOD_KUBE_BUILD=0; run ${nodes ? 'CLAWPOD_KUBE_NODES=1 ' : ''}scripts/kube-harness.sh build`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'clawpod-k8s-harness-'));
  const env = { ...process.env, CLAWPOD_KUBE_CONTROLLER_MANAGER: controllerManager ? '1' : '0', CLAWPOD_KUBE_NODES: nodes ? '1' : '0', ...(opts.images ? { CLAWPOD_KUBE_NODE_IMAGES: opts.images.join(' ') } : {}), ...(opts.pvs ? { CLAWPOD_KUBE_PV_COUNT: String(opts.pvs) } : {}) };
  const { code, stderr } = await run(['start', dir], env, opts.progress ?? true);
  if (code !== 0) {
    const last = stderr.trim().split('\n').filter((l) => l.includes('unavailable:') || l.includes('error:')).pop() ?? stderr.trim().split('\n').pop() ?? '';
    await run(['stop', dir], { ...process.env, CLAWPOD_KUBE_KEEP_LOGS: '1' }, false);
    if (code === 3) throw new KubeUnavailableError(last.replace(/^\[kube-harness\] unavailable: /, ''));
    throw new Error(`scripts/kube-harness.sh start failed (exit ${code}); logs in ${dir}\n${stderr.slice(-4000)}`);
  }
  return dir;
}

function fromDir(dir: string, stop: () => Promise<void>): Kube {
  const e = parseEnv(join(dir, 'env'));
  return {
    kubeconfig: e.KUBECONFIG!,
    server: e.CLAWPOD_KUBE_SERVER!,
    token: e.CLAWPOD_KUBE_TOKEN!,
    ca: e.CLAWPOD_KUBE_CA!,
    limitedKubeconfig: e.CLAWPOD_KUBE_LIMITED_KUBECONFIG,
    limitedToken: e.CLAWPOD_KUBE_LIMITED_TOKEN,
    version: e.CLAWPOD_KUBE_VERSION ?? 'unknown',
    controllerManager: e.CLAWPOD_KUBE_CONTROLLER_MANAGER === '1',
    nodes: e.CLAWPOD_KUBE_NODES === '1',
    ...(e.CLAWPOD_KUBE_NODE_IP ? { nodeIp: e.CLAWPOD_KUBE_NODE_IP } : {}),
    dir,
    stop,
  };
}

// --- one node for the whole run ----------------------------------------------------------------
// A harness with a node costs ~25 s to start, import the agent image and stop; the files that need
// one run one after another, so they share one (vitest's global set-up hands out the file that
// records its folder, and stops it at the end). Each file gets the cluster as the previous one
// found it: stop() deletes the namespaces and cluster-scoped objects the file made. Files that need
// a cluster WITHOUT a node (Pods that stay Pending, claims with no class) start their own.

/** Enough hostPath PVs for every file of a run: released ones are not reused (reclaim policy Retain). */
const SHARED_PVS = 160;
const CLUSTER_KINDS = 'namespaces,customresourcedefinitions,clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings,validatingwebhookconfigurations,mutatingwebhookconfigurations,priorityclasses,runtimeclasses,ingressclasses';

function sharedFile(): string | undefined {
  try { return inject('sharedKubeFile') || undefined; } catch { return undefined; }
}

function harnessAlive(dir: string): boolean {
  try {
    if (!existsSync(join(dir, 'env'))) return false;
    process.kill(Number(readFileSync(join(dir, 'apiserver.pid'), 'utf8')), 0);
    return true;
  } catch { return false; }
}

async function sharedNode(opts: StartKubeOptions): Promise<Kube | undefined> {
  const file = sharedFile();
  if (!file) return undefined;
  let dir = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (dir && harnessAlive(dir)) {
    const images = opts.images ?? ['localhost/clawpod-agent:latest'];
    const r = await run(['import', dir, ...images], process.env, opts.progress ?? true);
    if (r.code !== 0) throw new Error(`scripts/kube-harness.sh import failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  } else {
    dir = await launch({ ...opts, pvs: Math.max(opts.pvs ?? 0, SHARED_PVS) });
    writeFileSync(file, dir);
  }
  const kubectl = (args: string[]) => spawnSync(kubectlBin(), ['--kubeconfig', join(dir, 'kubeconfig'), ...args], { encoding: 'utf8' });
  const objects = () => new Set(kubectl(['get', CLUSTER_KINDS, '-o', 'name']).stdout.split('\n').filter(Boolean));
  const before = objects();
  let stopped = false;
  return fromDir(dir, async () => {
    if (stopped) return;
    stopped = true;
    const made = [...objects()].filter((o) => !before.has(o));
    const namespaces = made.filter((o) => o.startsWith('namespace/'));
    const rest = made.filter((o) => !o.startsWith('namespace/'));
    if (rest.length) kubectl(['delete', '--ignore-not-found', '--wait=false', ...rest]);
    // the Pods first, at once (their workloads with them, or these would make them again): a namespace
    // deleted while its Pods terminate is looked at again only after about half their grace period
    // (10 s for an agent), which made this wait ~17 s instead of ~6 s (src/fleet/kube.ts does the same)
    for (const ns of namespaces) kubectl(['-n', ns.slice('namespace/'.length), 'delete', 'statefulsets,deployments,jobs,pods', '--all', '--grace-period=0', '--force', '--wait=false']);
    // waited for, so that the next file does not share the node with this one's Pods
    if (namespaces.length) kubectl(['delete', '--ignore-not-found', '--timeout=120s', ...namespaces]);
  });
}
