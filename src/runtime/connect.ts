// Composition of discovery with the real world: sockets, PATH, and starting a Podman service.
import { accessSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { discover, type DiscoveryEnv, type Endpoint } from './discovery.js';
import { probeSocket, type ProbeResult } from './probe.js';
import type { EngineRuntime, Runtime } from './runtime.js';
import { traced } from '../trace.js';

export function which(bin: string, pathVar: string): string | undefined {
  if (bin.includes('/')) return existsSync(bin) ? bin : undefined;
  for (const dir of pathVar.split(delimiter)) {
    const p = join(dir, bin);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

async function startPodmanService(config: Config, podmanBin: string, socketPath: string): Promise<ProbeResult> {
  mkdirSync(dirname(socketPath), { recursive: true });
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = join(config.dataDir, 'podman-service.log');
  const log = openSync(logFile, 'a');
  process.stderr.write(`clawpod: no Podman API socket answered; starting \`podman system service\` on ${socketPath} (log: ${logFile})\n`);
  // loaded here: a command that finds a socket answering (nearly all) never spawns anything
  const { spawn } = await import('node:child_process');
  const child = spawn(podmanBin, ['system', 'service', '--time=0', `unix://${socketPath}`], {
    detached: true,
    stdio: ['ignore', log, log],
    env: podmanEnv(config),
  });
  child.unref();
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !exited) {
    const r = await probeSocket(socketPath, 1000);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new ClawpodError('RUNTIME_UNAVAILABLE', `started \`${podmanBin} system service\` on ${socketPath}, but it ${exited ? 'exited' : 'did not answer within 15 s'}`, {
    hint: `read ${logFile}; \`clawpod doctor\` checks the Podman setup`,
  });
}

export function discoveryEnv(config: Config, explicitHost?: string): DiscoveryEnv {
  return {
    config,
    ...(explicitHost ? { explicitHost } : {}),
    probe: (p) => probeSocket(p),
    exists: (p) => existsSync(p),
    which: (b) => which(b, config.path),
    startPodmanService: (bin, sock) => startPodmanService(config, bin, sock),
  };
}

/** The environment a podman CLI started by clawpod gets (the API service, a runtime's create service). */
function podmanEnv(config: Config): Record<string, string> {
  return { PATH: config.path, HOME: config.home, ...(config.containersConf ? { CONTAINERS_CONF: config.containersConf } : {}), ...(config.xdgRuntimeDir ? { XDG_RUNTIME_DIR: config.xdgRuntimeDir } : {}) };
}

/** `config`: lets the Podman driver run the podman CLI (needed for isolation tiers other than the default). */
export async function driverFor(endpoint: Endpoint, config?: Config): Promise<EngineRuntime> {
  const url = `unix://${endpoint.socketPath}`;
  if (endpoint.kind === 'podman') {
    const { PodmanDriver } = await import('./podman-driver.js');
    const bin = config ? which(config.podmanBin, config.path) : undefined;
    // kept runtime services' sockets live next to the secrets folder, in clawpod's private run folder
    return new PodmanDriver(url, endpoint.socketPath, config && bin ? { podmanBin: bin, env: podmanEnv(config), serviceDir: join(dirname(config.secretsDir), 'runtimes') } : undefined);
  }
  const { DockerDriver } = await import('./docker-driver.js');
  return new DockerDriver(url, endpoint.socketPath);
}

/** A cluster as the runtime (`clawpod serve` with spec.runtime.kind kubernetes; logs/exec with --context/-n). */
export async function connectKubernetes(config: Config, o: { context?: string; namespace?: string; serviceAccount?: string; storageClass?: string }): Promise<Runtime> {
  const { KubernetesDriver } = await import('./kubernetes-driver.js');
  return new KubernetesDriver({ ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}), ...o });
}

/** Where `clawpod logs/exec NAME` look: `--kube`, `--context` or `-n` mean the kubeconfig's cluster, as kubectl's flags do. */
export interface ClusterTarget { readonly kube?: boolean; readonly context?: string; readonly namespace?: string }

export function wantsCluster(t: ClusterTarget): boolean {
  return Boolean(t.kube || t.context || t.namespace);
}

/** The cluster when `t` names one, else `local()` (the discovered Podman/Docker). */
export function targetRuntime(config: Config, t: ClusterTarget, local: () => Promise<Runtime>): Promise<Runtime> {
  if (!wantsCluster(t)) return local();
  return connectKubernetes(config, { ...(t.context ? { context: t.context } : {}), ...(t.namespace ? { namespace: t.namespace } : {}) });
}

/** Discover and connect: the usual way a command gets its Runtime. */
export async function connectRuntime(config: Config, explicitHost?: string): Promise<EngineRuntime> {
  const endpoint = await traced('discovery', () => discover(discoveryEnv(config, explicitHost)));
  return traced('driver loaded', () => driverFor(endpoint, config));
}
