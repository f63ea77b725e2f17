// `clawpod doctor`: what was found, what is missing, and the exact fix — as data, so the
// same checks print for humans, as JSON, and run in unit tests with fake probes.
import { DEFAULTS } from '../spec/defaults.js';
import { isClawpodError, messageOf } from '../errors.js';
import type { Endpoint } from '../runtime/discovery.js';
import { TIERS } from '../runtime/isolation.js';
import type { IsolationTier, RuntimeInfo } from '../runtime/runtime.js';
import { hostUidOf, PROBE_LIMITS, type TierProbe } from './isolation-probe.js';

export type Status = 'ok' | 'warn' | 'fail';
export interface Check { readonly name: string; readonly status: Status; readonly detail: string; readonly fix?: string }

export interface DoctorProbes {
  readonly nodeVersion: string;
  which(bin: string): string | undefined;
  version(bin: string): string | undefined;
  cgroupV2: boolean;
  containersConf: string | undefined;
  readFile(path: string): string | undefined;
  discover(): Promise<Endpoint>;
  info(e: Endpoint): Promise<RuntimeInfo>;
  hasImage(e: Endpoint, ref: string): Promise<boolean>;
  usableRuntime(info: RuntimeInfo, name: string): boolean;
  /** The host's kernel release (os.release()), to tell a gVisor kernel from the host's. */
  readonly hostKernel: string;
  /** Runs a tiny container of `tier` for real (src/ops/isolation-probe.ts). */
  probeTier(e: Endpoint, tier: IsolationTier): Promise<TierProbe | { error: string }>;
}

const INSTALL_PODMAN = 'apt-get install -y podman runc   (Fedora/RHEL: dnf install -y podman; macOS: brew install podman && podman machine init && podman machine start)';

export async function runDoctor(p: DoctorProbes): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(p.nodeVersion.split('.')[0]);
  checks.push(major >= 20
    ? { name: 'node', status: 'ok', detail: `Node ${p.nodeVersion}` }
    : { name: 'node', status: 'fail', detail: `Node ${p.nodeVersion} is older than 20.11`, fix: 'install Node 20 or newer' });

  const podman = p.which('podman');
  const docker = p.which('docker');
  checks.push(podman
    ? { name: 'podman', status: 'ok', detail: `${p.version(podman) ?? 'podman'} at ${podman}` }
    : { name: 'podman', status: docker ? 'warn' : 'fail', detail: 'podman is not installed', fix: INSTALL_PODMAN });

  if (podman) {
    const runc = p.which('runc');
    if (p.cgroupV2) checks.push({ name: 'host cgroups', status: 'ok', detail: 'v2 (cgroup2fs): crun or runc, the engine\'s defaults (memory.max, pids.max)' });
    else {
      checks.push(runc
        ? { name: 'runc', status: 'ok', detail: `${runc} (needed: this host has cgroups v1, which crun refuses)` }
        : { name: 'runc', status: 'fail', detail: 'cgroups v1 host without runc (crun refuses cgroups v1)', fix: 'apt-get install -y runc' });
      const conf = p.containersConf ? p.readFile(p.containersConf) : undefined;
      checks.push(conf && /runtime\s*=\s*"runc"/.test(conf)
        ? { name: 'containers.conf', status: 'ok', detail: `${p.containersConf} (runc, lower default ulimits)` }
        : { name: 'containers.conf', status: 'warn', detail: p.containersConf ? `${p.containersConf} does not select runc` : 'no clawpod containers.conf; Podman will pick crun and default rlimits', fix: './scripts/setup.sh writes .clawpod/containers.conf; export CONTAINERS_CONF=$PWD/.clawpod/containers.conf and restart the Podman service' });
    }
  }

  let endpoint: Endpoint | undefined;
  try {
    endpoint = await p.discover();
    checks.push({ name: 'runtime', status: 'ok', detail: `${endpoint.kind} ${endpoint.version} at unix://${endpoint.socketPath} (found by: ${endpoint.foundBy})` });
  } catch (e) {
    const details = isClawpodError(e) ? [e.message, ...e.details].join('; ') : messageOf(e);
    checks.push({ name: 'runtime', status: 'fail', detail: details, fix: isClawpodError(e) && e.hint ? e.hint : INSTALL_PODMAN });
  }
  if (endpoint) {
    const info = await p.info(endpoint);
    const usable = Object.keys(info.ociRuntimes).filter((n) => p.usableRuntime(info, n));
    checks.push({ name: 'oci runtimes', status: 'ok', detail: usable.join(', ') || 'default only' });
    checks.push({ name: 'cgroups', status: 'ok', detail: `v${info.cgroupVersion?.replace(/^v/, '') ?? (p.cgroupV2 ? '2' : '1')}; the engine's default OCI runtime: ${info.defaultRuntime ?? 'not reported'}` });
    const img = await p.hasImage(endpoint, DEFAULTS.image);
    checks.push(img
      ? { name: 'agent image', status: 'ok', detail: DEFAULTS.image }
      : { name: 'agent image', status: 'warn', detail: `${DEFAULTS.image} not built`, fix: 'clawpod image build' });
    if (!img) {
      checks.push({ name: 'isolation', status: 'warn', detail: 'not tried: the probe container uses the agent image', fix: 'clawpod image build, then clawpod doctor' });
    } else {
      // every registered tier's probe at once: a gVisor sandbox or a VM takes seconds to boot on a busy 2-core machine
      const tiers = Object.keys(TIERS) as IsolationTier[];
      const runnable = (t: IsolationTier) => { const want = TIERS[t].request; return !want || usable.includes(want); };
      const probes = await Promise.all(tiers.map((t) => (runnable(t) ? p.probeTier(endpoint!, t) : Promise.resolve(undefined))));
      const runc = probes[tiers.indexOf('runc')]!;
      checks.push(usernsCheck(endpoint.kind, runc));
      if (!('error' in runc)) checks.push(limitsCheck(runc));
      tiers.forEach((t, i) => checks.push(tierCheck(t, probes[i], p.hostKernel, usable)));
    }
  }
  return checks;
}

const AGENT_UID = Number(DEFAULTS.user.split(':')[0]);

/** A runc-tier container's uid map says whether the agent's uid is a host account. */
function usernsCheck(kind: string, r: TierProbe | { error: string }): Check {
  if ('error' in r) {
    return { name: 'user namespace', status: 'fail', detail: `a runc-tier container could not run: ${r.error}`, fix: kind === 'podman' ? 'echo containers:2147483647:2147483648 | tee -a /etc/subuid /etc/subgid (./scripts/setup.sh does it)' : 'read the message above' };
  }
  const host = hostUidOf(r.uidMap, AGENT_UID);
  if (host === AGENT_UID) {
    return { name: 'user namespace', status: 'warn', detail: `none: the agent's uid ${AGENT_UID} is host uid ${AGENT_UID}, a host account could read agents' secrets through /proc/PID/root and signal them`, fix: kind === 'docker' ? 'enable user namespaces in dockerd: "userns-remap": "default" in /etc/docker/daemon.json, then restart dockerd' : 'use Podman (clawpod runs agents in a user namespace there)' };
  }
  return { name: 'user namespace', status: 'ok', detail: `agents run in a user namespace of their own: uid ${AGENT_UID} inside is host uid ${host ?? 'unmapped'} (runtime ${r.runtime})` };
}

/** How to get a tier that is not registered; a tier without an entry gets the generic text. */
const TIER_INSTALL: Partial<Record<IsolationTier, string>> = {
  gvisor: 'apt-get install -y runsc, then ./scripts/setup.sh (registers runsc and runsc-net with Podman)',
  microvm: './scripts/setup.sh (builds the microVM and registers clawpod-microvm; docs/runtimes.md)',
};

/**
 * One isolation tier, proven by a probe container (undefined: its runtime is not registered, so
 * `isolation: TIER` is refused up front). runc counts when the probe ran; every other tier must
 * show a kernel of its own from inside, not the host's.
 */
export function tierCheck(tier: IsolationTier, r: TierProbe | { error: string } | undefined, hostKernel: string, usable: readonly string[] = []): Check {
  const def = TIERS[tier];
  const name = `tier ${tier}`;
  const runtime = def.request ?? def.runtimes.join('/');
  if (!r) return { name, status: 'warn', detail: `not available: ${runtime} is not registered with the engine, so isolation: ${tier} is refused`, fix: TIER_INSTALL[tier] ?? `register ${runtime} with the engine` };
  if ('error' in r) return { name, status: 'fail', detail: `${runtime} is registered but a container under it failed: ${r.error}`, fix: `see docs/runtimes.md; or remove ${runtime} from the engine's runtimes so isolation: ${tier} is refused up front` };
  if (!def.request) return { name, status: 'ok', detail: `isolation: ${tier} works: ${def.what}, runtime ${r.runtime}, kernel ${r.kernel}` };
  // a networked twin (gVisor's runsc-net) says whether the tier can have a network here
  const net = def.networkedRequest ? `; network: bridge ${usable.includes(def.networkedRequest) ? `through ${def.networkedRequest}` : `refused (${def.networkedRequest} not registered)`}` : '';
  return r.kernel && r.kernel !== hostKernel
    ? { name, status: 'ok', detail: `isolation: ${tier} works: a container under ${r.runtime} reports kernel ${r.kernel} (the host: ${hostKernel})${net}` }
    : { name, status: 'fail', detail: `a container asked to run under ${runtime} reports the host's kernel ${r.kernel}: it is not ${def.what}`, fix: `check the ${runtime} registration in the engine (containers.conf [engine.runtimes] / daemon.json)` };
}

/** gVisor proven from inside (bench's gate): tierCheck of the gvisor tier. */
export function gvisorCheck(r: TierProbe | { error: string }, hostKernel: string): Check {
  return tierCheck('gvisor', r, hostKernel);
}

/** The limits a container was given, read back from inside through whichever cgroup layout it has. */
function limitsCheck(r: TierProbe): Check {
  const l = r.limits;
  const held = l?.memoryBytes === PROBE_LIMITS.memoryBytes && l.pids === PROBE_LIMITS.pids;
  return held
    ? { name: 'limits', status: 'ok', detail: `memory and pids limits hold inside a container (cgroup v${l.version}: ${l.memoryBytes} bytes, ${l.pids} pids)` }
    : { name: 'limits', status: 'warn', detail: `a container given ${PROBE_LIMITS.memoryBytes} bytes and ${PROBE_LIMITS.pids} pids sees ${l ? `memory ${l.memoryBytes ?? 'unlimited'}, pids ${l.pids ?? 'unlimited'} (cgroup v${l.version})` : 'no cgroup limit files'}`, fix: 'check the engine\'s cgroup manager (containers.conf cgroup_manager) and docs/runtimes.md' };
}
