// `clawpod doctor`: what was found, what is missing, and the exact fix — as data, so the
// same checks print for humans, as JSON, and run in unit tests with fake probes.
import { DEFAULTS } from '../spec/defaults.js';
import { isClawpodError, messageOf } from '../errors.js';
import type { Endpoint } from '../runtime/discovery.js';
import type { RuntimeInfo } from '../runtime/runtime.js';

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
    if (!p.cgroupV2) {
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
    checks.push({ name: 'oci runtimes', status: 'ok', detail: `${usable.join(', ') || 'default only'}; cgroups v${info.cgroupVersion ?? '?'}` });
    checks.push(usable.includes('runsc')
      ? { name: 'gvisor', status: 'ok', detail: 'runsc available: isolation: gvisor works' }
      : { name: 'gvisor', status: 'warn', detail: 'runsc not available: isolation: gvisor will be refused', fix: 'apt-get install -y runsc, then ./scripts/setup.sh (registers it with Podman)' });
    const img = await p.hasImage(endpoint, DEFAULTS.image);
    checks.push(img
      ? { name: 'agent image', status: 'ok', detail: DEFAULTS.image }
      : { name: 'agent image', status: 'warn', detail: `${DEFAULTS.image} not built`, fix: 'clawpod image build' });
  }
  return checks;
}
