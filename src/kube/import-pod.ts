// A Pod spec (of a Pod, Deployment, StatefulSet or Job) → the fields of an Agent spec. Every
// field read is marked on the Tracked manifest; what clawpod cannot carry is named in a warning.
import { DEFAULTS } from '../spec/defaults.js';
import { parseCpu, parseMemory } from '../spec/quantity.js';
import type { AgentInput } from '../spec/schema.js';
import { TIERS } from '../runtime/isolation.js';
import { CONTAINER_NAME, KUBE_DEFAULTS } from './defaults.js';
import type { Path, Tracked } from './tracked.js';

type SpecIn = NonNullable<AgentInput['spec']>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface PodContext {
  /** Where the PodSpec is, e.g. ["spec", "template", "spec"]. */
  readonly podPath: Path;
  /** StatefulSet volumeClaimTemplates (name → its path in the manifest). */
  readonly claimTemplates: ReadonlyMap<string, Path>;
  /** Sizes of PVC documents of the same file, by name. */
  readonly claimSizes: ReadonlyMap<string, string>;
  /** The workload's name, for the ServiceAccount check. */
  readonly name: string;
  readonly warn: (path: Path, what: string) => void;
}

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GVISOR = /^(gvisor|runsc)([-.].*)?$/;

/** The agent's container: the one named "agent", else the first. */
function pickContainer(t: Tracked, ctx: PodContext): number {
  const n = t.len([...ctx.podPath, 'containers']);
  for (let i = 0; i < n; i++) if (t.peek([...ctx.podPath, 'containers', i, 'name']) === CONTAINER_NAME) return i;
  return 0;
}

/** Take `path` silently when it holds `expected` (what clawpod itself writes), else leave it to be listed. */
function expect(t: Tracked, path: Path, ...expected: unknown[]): void {
  const v = t.peek(path);
  if (v === undefined || expected.some((e) => JSON.stringify(e) === JSON.stringify(v))) t.take(path);
}

function quantity(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function resources(t: Tracked, c: Path, ctx: PodContext, spec: Mutable<SpecIn>): void {
  const r = [...c, 'resources'];
  const res: { cpu?: string; memory?: string } = {};
  for (const k of ['cpu', 'memory'] as const) {
    const limit = quantity(t.peek([...r, 'limits', k]));
    const request = quantity(t.peek([...r, 'requests', k]));
    const value = limit ?? request;
    if (value === undefined) continue;
    const ok = (k === 'cpu' ? parseCpu(value) : parseMemory(value)).ok;
    if (!ok) { ctx.warn([...r, limit !== undefined ? 'limits' : 'requests', k], `${value} is not a ${k} quantity clawpod takes; the default ${k === 'cpu' ? DEFAULTS.cpu : DEFAULTS.memory} applies`); }
    else res[k] = value;
    t.take([...r, limit !== undefined ? 'limits' : 'requests', k]);
    if (limit !== undefined && request !== undefined) {
      t.take([...r, 'requests', k]);
      if (request !== limit) ctx.warn([...r, 'requests', k], `request ${request} dropped: clawpod sets the limit (${limit}) only`);
    }
  }
  if (Object.keys(res).length > 0) spec.resources = res;
}

function user(t: Tracked, c: Path, ctx: PodContext, spec: Mutable<SpecIn>): void {
  const pod = [...ctx.podPath, 'securityContext'];
  const ctr = [...c, 'securityContext'];
  const pick = (k: string) => t.num([...ctr, k]) ?? t.num([...pod, k]);
  // read both levels: the container's wins, the pod's is then redundant
  const uid = pick('runAsUser');
  const gid = pick('runAsGroup');
  for (const k of ['runAsUser', 'runAsGroup']) { if (typeof t.peek([...pod, k]) === 'number') t.take([...pod, k]); }
  if (uid === 0) ctx.warn([...ctr, 'runAsUser'], 'uid 0 dropped: clawpod never runs agents as root; the default user 1000:1000 applies');
  else if (uid !== undefined) spec.user = gid !== undefined ? `${uid}:${gid}` : String(uid);
  else if (gid !== undefined) ctx.warn([...pod, 'runAsGroup'], `runAsGroup ${gid} without runAsUser dropped: spec.user needs a uid`);
  const fsGroup = t.peek([...pod, 'fsGroup']);
  if (fsGroup === undefined || fsGroup === gid || fsGroup === uid) t.take([...pod, 'fsGroup']);
  expect(t, [...pod, 'fsGroupChangePolicy'], 'OnRootMismatch', 'Always');
  // what clawpod always does; anything else is listed (clawpod cannot turn its hardening off)
  for (const sc of [pod, ctr]) {
    expect(t, [...sc, 'runAsNonRoot'], true);
    expect(t, [...sc, 'seccompProfile'], { type: 'RuntimeDefault' });
  }
  expect(t, [...ctr, 'privileged'], false);
  expect(t, [...ctr, 'allowPrivilegeEscalation'], false);
  expect(t, [...ctr, 'readOnlyRootFilesystem'], true);
  expect(t, [...ctr, 'capabilities'], { drop: ['ALL'] });
}

function env(t: Tracked, c: Path, ctx: PodContext, spec: Mutable<SpecIn>, workspacePath: string | undefined): void {
  const out: { name: string; value: string }[] = [];
  const secrets = (spec.secrets ??= []) as Mutable<NonNullable<SpecIn['secrets']>>;
  for (let i = 0; i < t.len([...c, 'env']); i++) {
    const p = [...c, 'env', i];
    const name = t.peek([...p, 'name']);
    if (typeof name !== 'string') continue;
    const value = t.peek([...p, 'value']);
    const secretKey = t.peek([...p, 'valueFrom', 'secretKeyRef', 'key']);
    if (t.keys([...p, 'valueFrom']).length === 0) {
      t.take(p);
      if (name === 'WORKSPACE' && value === workspacePath) continue; // clawpod sets it itself
      if (!ENV_NAME.test(name)) { ctx.warn(p, `variable ${name} dropped: not a name clawpod accepts`); continue; }
      out.push({ name, value: typeof value === 'string' ? value : value === undefined ? '' : String(value) });
    } else if (typeof secretKey === 'string' && t.keys([...p, 'valueFrom']).length === 1 && FILE_NAME.test(name)) {
      t.take(p);
      secrets.push({ name, source: 'env', secretRef: { name }, exposeAs: 'env' });
      ctx.warn(p, `variable ${name} from Secret key ${String(t.peek([...p, 'valueFrom', 'secretKeyRef', 'name']))}/${secretKey} → spec.secrets ${name} (source env: clawpod run reads the host variable ${name}; no value is imported)`);
    }
    // other valueFrom kinds (configMapKeyRef, fieldRef, resourceFieldRef) stay unread and are listed
  }
  spec.env = out;
}

function ports(t: Tracked, c: Path, ctx: PodContext, spec: Mutable<SpecIn>): void {
  const out: Mutable<NonNullable<SpecIn['ports']>> = [];
  for (let i = 0; i < t.len([...c, 'ports']); i++) {
    const p = [...c, 'ports', i];
    const containerPort = t.peek([...p, 'containerPort']);
    const proto = t.peek([...p, 'protocol']) ?? 'TCP';
    if (typeof containerPort !== 'number' || (proto !== 'TCP' && proto !== 'UDP')) continue; // SCTP: listed
    const protocol = proto === 'UDP' ? 'udp' : 'tcp';
    t.take([...p, 'containerPort']);
    t.take([...p, 'protocol']);
    const port: Mutable<(typeof out)[number]> = { containerPort, protocol };
    const name = t.str([...p, 'name']);
    // "tcp-8080" is the name clawpod makes up when the spec has none
    if (name !== undefined && name !== `${protocol}-${containerPort}`) port.name = name;
    const hostPort = t.num([...p, 'hostPort']);
    if (hostPort !== undefined) port.hostPort = hostPort;
    const hostIP = t.str([...p, 'hostIP']);
    if (hostIP !== undefined) port.hostIP = hostIP;
    out.push(port);
  }
  spec.ports = out;
}

function volumeSource(t: Tracked, podPath: Path, name: string): { path: Path; kind: string } | undefined {
  for (let i = 0; i < t.len([...podPath, 'volumes']); i++) {
    const p = [...podPath, 'volumes', i];
    if (t.peek([...p, 'name']) !== name) continue;
    const kind = t.keys(p).find((k) => k !== 'name') ?? 'unknown';
    return { path: p, kind };
  }
  return undefined;
}

function volumes(t: Tracked, c: Path, ctx: PodContext, spec: Mutable<SpecIn>): void {
  const n = t.len([...c, 'volumeMounts']);
  const claimMounts: { vm: Path; mountPath: string; claim: string; size: string | undefined; volumeName: string; src: Path }[] = [];
  const mounts: Mutable<NonNullable<SpecIn['mounts']>> = [];
  const secrets = (spec.secrets ??= []) as Mutable<NonNullable<SpecIn['secrets']>>;
  for (let i = 0; i < n; i++) {
    const vm = [...c, 'volumeMounts', i];
    const name = t.peek([...vm, 'name']);
    const mountPath = t.peek([...vm, 'mountPath']);
    if (typeof name !== 'string' || typeof mountPath !== 'string') continue;
    const readOnly = t.peek([...vm, 'readOnly']) === true;
    const tmpl = ctx.claimTemplates.get(name);
    if (tmpl) {
      claimMounts.push({ vm, mountPath, claim: name, size: quantity(t.peek([...tmpl, 'spec', 'resources', 'requests', 'storage'])), volumeName: name, src: tmpl });
      continue;
    }
    const src = volumeSource(t, ctx.podPath, name);
    if (!src) continue;
    if (src.kind === 'emptyDir' && mountPath === '/tmp') {
      t.take(vm); t.take(src.path); // clawpod's own tmpfs /tmp
    } else if (src.kind === 'persistentVolumeClaim') {
      const claim = String(t.peek([...src.path, 'persistentVolumeClaim', 'claimName']));
      claimMounts.push({ vm, mountPath, claim, size: ctx.claimSizes.get(claim), volumeName: name, src: src.path });
    } else if (src.kind === 'hostPath') {
      t.take(vm); t.take(src.path);
      mounts.push({ hostPath: String(t.peek([...src.path, 'hostPath', 'path'])), containerPath: mountPath, type: 'data', ...(readOnly ? { readOnly: true } : {}) });
      ctx.warn(vm, `hostPath ${String(t.peek([...src.path, 'hostPath', 'path']))} → spec.mounts (a node's folder becomes this machine's; the mount allowlist checks it at run time)`);
    } else if (src.kind === 'secret' && mountPath === DEFAULTS.secretsMountPath && t.len([...src.path, 'secret', 'items']) > 0) {
      t.take(vm); t.take(src.path);
      for (let k = 0; k < t.len([...src.path, 'secret', 'items']); k++) {
        const key = String(t.peek([...src.path, 'secret', 'items', k, 'key']));
        const file = String(t.peek([...src.path, 'secret', 'items', k, 'path']));
        if (!FILE_NAME.test(file)) { ctx.warn([...src.path, 'secret', 'items', k], `secret file ${file} dropped: not a file name clawpod accepts`); continue; }
        secrets.push({ name: file, source: 'env', secretRef: { name: key }, exposeAs: 'file' });
      }
      ctx.warn(src.path, `secret volume ${String(t.peek([...src.path, 'secret', 'secretName']))} → spec.secrets exposed as files (source env: clawpod run reads host variables named by the keys; no value is imported)`);
    } else {
      t.take(vm); t.take(src.path);
      ctx.warn(vm, `volume ${name} (${src.kind}) at ${mountPath} dropped: clawpod mounts a workspace, host folders (spec.mounts) and secrets only`);
    }
  }
  // the workspace: the claim named "workspace", else the one at /workspace, else the first
  const ws = claimMounts.find((m) => m.volumeName === 'workspace') ?? claimMounts.find((m) => m.mountPath === DEFAULTS.workspaceMountPath) ?? claimMounts[0];
  for (const m of claimMounts) {
    t.take(m.vm); t.take(m.src);
    if (m !== ws) ctx.warn(m.vm, `claim ${m.claim} at ${m.mountPath} dropped: it has no host folder to mount here (add a spec.mounts entry by hand)`);
  }
  spec.workspace = ws
    ? { enabled: true, mountPath: ws.mountPath, ...(ws.size !== undefined && ws.size !== KUBE_DEFAULTS.workspaceSize ? { size: ws.size } : {}) }
    : { enabled: false };
  spec.mounts = mounts;
}

/** The Agent spec fields of the Pod spec at ctx.podPath. */
export function importPodSpec(t: Tracked, ctx: PodContext): SpecIn {
  const spec: Mutable<SpecIn> = {};
  const pp = ctx.podPath;
  const idx = pickContainer(t, ctx);
  const c = [...pp, 'containers', idx];
  for (let i = 0; i < t.len([...pp, 'containers']); i++) {
    if (i !== idx) { t.take([...pp, 'containers', i]); ctx.warn([...pp, 'containers', i], `container ${String(t.peek([...pp, 'containers', i, 'name']))} dropped: an agent is one container`); }
  }
  t.take([...c, 'name']);
  const image = t.str([...c, 'image']);
  if (image !== undefined) spec.image = image;
  expect(t, [...c, 'imagePullPolicy'], 'IfNotPresent');
  const command = t.peek([...c, 'command']);
  if (Array.isArray(command) && command.length > 0) { t.take([...c, 'command']); spec.command = command.map(String); }
  const args = t.peek([...c, 'args']);
  if (Array.isArray(args)) { t.take([...c, 'args']); spec.args = args.map(String); }

  volumes(t, c, ctx, spec);
  const workspacePath = spec.workspace?.enabled ? spec.workspace.mountPath : undefined;
  const workingDir = t.str([...c, 'workingDir']);
  if (workingDir !== undefined && workingDir !== workspacePath) spec.workingDir = workingDir;
  env(t, c, ctx, spec, workspacePath);
  ports(t, c, ctx, spec);
  resources(t, c, ctx, spec);
  user(t, c, ctx, spec);

  const rc = t.str([...pp, 'runtimeClassName']);
  if (rc !== undefined && GVISOR.test(rc)) spec.isolation = 'gvisor';
  else if (rc !== undefined) ctx.warn([...pp, 'runtimeClassName'], `runtime class ${rc} dropped: clawpod isolates with runc or gvisor`);
  // the tier's own supplementary groups (kube/security.ts tierGroups) come back with the isolation
  const groups = TIERS[spec.isolation ?? 'runc'].groups;
  if (groups) expect(t, [...pp, 'securityContext', 'supplementalGroups'], [...groups]);

  // what clawpod writes itself, or harmless: taken silently when it is the expected value
  expect(t, [...pp, 'automountServiceAccountToken'], false);
  expect(t, [...pp, 'serviceAccountName'], ctx.name, 'default');
  expect(t, [...pp, 'serviceAccount'], ctx.name, 'default');
  t.take([...pp, 'enableServiceLinks']);
  t.take([...pp, 'restartPolicy']);
  expect(t, [...pp, 'terminationGracePeriodSeconds'], DEFAULTS.stopTimeoutSeconds, 30);
  // defaults a cluster fills in (kubectl get -o yaml)
  expect(t, [...pp, 'dnsPolicy'], 'ClusterFirst');
  expect(t, [...pp, 'schedulerName'], 'default-scheduler');
  expect(t, [...c, 'terminationMessagePath'], '/dev/termination-log');
  expect(t, [...c, 'terminationMessagePolicy'], 'File');
  expect(t, [...pp, 'priority'], 0);
  expect(t, [...pp, 'preemptionPolicy'], 'PreemptLowerPriority');
  t.take([...pp, 'nodeName']); // where the scheduler put it
  return spec;
}

