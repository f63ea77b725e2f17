// Finds a container runtime: an ordered list of named strategies. Each returns an endpoint,
// or undefined when it does not apply; it throws when it applies but is broken (an explicit
// CONTAINER_HOST that does not answer). The final error lists everything tried.
import { ClawpodError } from '../errors.js';
import type { Config } from '../config.js';
import type { ProbeResult } from './probe.js';

export interface Endpoint {
  readonly kind: 'podman' | 'docker';
  readonly socketPath: string;
  readonly version: string;
  /** Name of the strategy that found it. */
  readonly foundBy: string;
}

/** Everything discovery touches in the outside world, injectable for unit tests. */
export interface DiscoveryEnv {
  readonly config: Config;
  readonly explicitHost?: string;
  probe(socketPath: string): Promise<ProbeResult | undefined>;
  exists(path: string): boolean;
  which(bin: string): string | undefined;
  /** Starts `podman system service` on socketPath and waits until it answers. */
  startPodmanService(podmanBin: string, socketPath: string): Promise<ProbeResult>;
}

export interface Attempt { readonly strategy: string; readonly outcome: string }

export interface DiscoveryStrategy {
  readonly name: string;
  find(env: DiscoveryEnv, tried: Attempt[]): Promise<Endpoint | undefined>;
}

export const ROOTFUL_PODMAN_SOCKET = '/run/podman/podman.sock';
export const DOCKER_SOCKET = '/var/run/docker.sock';

export function rootlessPodmanSocket(config: Config): string {
  return `${config.xdgRuntimeDir ?? `/run/user/${config.uid}`}/podman/podman.sock`;
}

function socketFromUrl(url: string, variable: string): string {
  if (url.startsWith('unix://')) return url.slice('unix://'.length);
  if (url.startsWith('/')) return url;
  throw new ClawpodError('RUNTIME_UNAVAILABLE', `${variable}=${url} is not a unix socket address`, {
    hint: `set ${variable} to unix:///path/to/socket (ssh:// and tcp:// endpoints are not supported yet)`,
  });
}

/** An address the user named; if it does not answer, that is an error, not a reason to look elsewhere. */
function explicit(name: string, pick: (env: DiscoveryEnv) => string | undefined, variable: string): DiscoveryStrategy {
  return {
    name,
    async find(env, tried) {
      const url = pick(env);
      if (!url) return undefined;
      const socketPath = socketFromUrl(url, variable);
      const r = await env.probe(socketPath);
      if (!r) {
        tried.push({ strategy: name, outcome: `${variable}=${url}: no answer` });
        throw new ClawpodError('RUNTIME_UNAVAILABLE', `no container runtime answers at ${url} (from ${variable})`, {
          hint: `start the service (podman: \`podman system service --time=0 ${url} &\`; docker: start dockerd) or unset ${variable}`,
        });
      }
      return { ...r, socketPath, foundBy: name };
    },
  };
}

function wellKnown(name: string, path: (c: Config) => string): DiscoveryStrategy {
  return {
    name,
    async find(env, tried) {
      const socketPath = path(env.config);
      if (!env.exists(socketPath)) { tried.push({ strategy: name, outcome: `${socketPath}: no socket` }); return undefined; }
      const r = await env.probe(socketPath);
      if (!r) { tried.push({ strategy: name, outcome: `${socketPath}: socket exists but nothing answers` }); return undefined; }
      return { ...r, socketPath, foundBy: name };
    },
  };
}

const startPodman: DiscoveryStrategy = {
  name: 'start-podman-service',
  async find(env, tried) {
    const bin = env.which(env.config.podmanBin);
    if (!bin) { tried.push({ strategy: 'start-podman-service', outcome: `${env.config.podmanBin}: not installed` }); return undefined; }
    const socketPath = env.config.uid === 0 ? ROOTFUL_PODMAN_SOCKET : rootlessPodmanSocket(env.config);
    const r = await env.startPodmanService(bin, socketPath);
    return { ...r, socketPath, foundBy: 'start-podman-service' };
  },
};

/** The strategies in the order they are tried. */
export const STRATEGIES: readonly DiscoveryStrategy[] = [
  explicit('flag --host', (e) => e.explicitHost, '--host'),
  explicit('env CONTAINER_HOST', (e) => e.config.containerHost, 'CONTAINER_HOST'),
  explicit('env DOCKER_HOST', (e) => e.config.dockerHost, 'DOCKER_HOST'),
  wellKnown('rootful podman socket', () => ROOTFUL_PODMAN_SOCKET),
  wellKnown('rootless podman socket', rootlessPodmanSocket),
  wellKnown('docker socket', () => DOCKER_SOCKET),
  startPodman,
];

const KINDS = ['podman', 'docker'] as const;

export async function discover(env: DiscoveryEnv, strategies: readonly DiscoveryStrategy[] = STRATEGIES): Promise<Endpoint> {
  const want = env.config.runtime;
  if (want !== undefined && !(KINDS as readonly string[]).includes(want)) {
    throw new ClawpodError('USAGE', `CLAWPOD_RUNTIME=${want} is not a runtime clawpod can drive locally`, { hint: `set CLAWPOD_RUNTIME to one of: ${KINDS.join(', ')}, or unset it` });
  }
  const tried: Attempt[] = [];
  for (const s of strategies) {
    if (want === 'docker' && s.name === 'start-podman-service') continue;
    const found = await s.find(env, tried);
    if (!found) continue;
    if (want && found.kind !== want) { tried.push({ strategy: s.name, outcome: `${found.socketPath}: ${found.kind}, but CLAWPOD_RUNTIME=${want}` }); continue; }
    return found;
  }
  throw new ClawpodError('RUNTIME_UNAVAILABLE', 'no container runtime found', {
    details: tried.map((t) => `${t.strategy}: ${t.outcome}`),
    hint: want === 'docker'
      ? 'start the Docker daemon (systemctl start docker) or set DOCKER_HOST=unix:///path/docker.sock'
      : 'install Podman (Debian/Ubuntu: apt-get install -y podman runc) — clawpod starts its API service itself — or start Docker',
  });
}
