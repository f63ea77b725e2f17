// Discovery strategies with a fake outside world (no sockets are touched here).
import { describe, expect, it } from 'vitest';
import { discover, ROOTFUL_PODMAN_SOCKET, DOCKER_SOCKET, type DiscoveryEnv } from '../../src/runtime/discovery.js';
import { loadConfig } from '../../src/config.js';
import type { ProbeResult } from '../../src/runtime/probe.js';
import { ClawpodError } from '../../src/errors.js';

function fakeEnv(opts: { env?: Record<string, string>; sockets?: Record<string, ProbeResult | 'dead'>; podman?: boolean; startOk?: boolean }): DiscoveryEnv & { started: string[] } {
  const started: string[] = [];
  const sockets = { ...(opts.sockets ?? {}) };
  return {
    config: loadConfig({ HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000', ...(opts.env ?? {}) }, { uid: 0 }),
    started,
    probe: async (p) => { const s = sockets[p]; return s === 'dead' || s === undefined ? undefined : s; },
    exists: (p) => p in sockets,
    which: (b) => (opts.podman ? `/usr/bin/${b}` : undefined),
    startPodmanService: async (_bin, sock) => {
      started.push(sock);
      if (!opts.startOk) throw new ClawpodError('RUNTIME_UNAVAILABLE', 'did not answer');
      return { kind: 'podman', version: '4.3.1' };
    },
  };
}

const podman: ProbeResult = { kind: 'podman', version: '4.3.1' };
const docker: ProbeResult = { kind: 'docker', version: '20.10' };

describe('runtime discovery', () => {
  it('prefers an explicit CONTAINER_HOST and fails loudly when it is dead', async () => {
    const ok = await discover(fakeEnv({ env: { CONTAINER_HOST: 'unix:///x.sock' }, sockets: { '/x.sock': podman, [ROOTFUL_PODMAN_SOCKET]: podman } }));
    expect(ok).toMatchObject({ socketPath: '/x.sock', foundBy: 'env CONTAINER_HOST' });
    await expect(discover(fakeEnv({ env: { CONTAINER_HOST: 'unix:///x.sock' }, sockets: { [ROOTFUL_PODMAN_SOCKET]: podman } })))
      .rejects.toThrow('no container runtime answers at unix:///x.sock (from CONTAINER_HOST)');
  });

  it('refuses non-unix addresses with a hint', async () => {
    await expect(discover(fakeEnv({ env: { DOCKER_HOST: 'tcp://1.2.3.4:2375' } }))).rejects.toThrow('is not a unix socket address');
  });

  it('tries rootful podman, rootless podman, then docker, in that order', async () => {
    const rootless = '/run/user/1000/podman/podman.sock';
    expect((await discover(fakeEnv({ sockets: { [ROOTFUL_PODMAN_SOCKET]: podman, [rootless]: podman, [DOCKER_SOCKET]: docker } }))).foundBy).toBe('rootful podman socket');
    expect((await discover(fakeEnv({ sockets: { [ROOTFUL_PODMAN_SOCKET]: 'dead', [rootless]: podman } }))).foundBy).toBe('rootless podman socket');
    expect((await discover(fakeEnv({ sockets: { [DOCKER_SOCKET]: docker } }))).kind).toBe('docker');
  });

  it('honours CLAWPOD_RUNTIME', async () => {
    const e = fakeEnv({ env: { CLAWPOD_RUNTIME: 'docker' }, sockets: { [ROOTFUL_PODMAN_SOCKET]: podman, [DOCKER_SOCKET]: docker }, podman: true });
    expect((await discover(e)).kind).toBe('docker');
    await expect(discover(fakeEnv({ env: { CLAWPOD_RUNTIME: 'lxc' } }))).rejects.toThrow('CLAWPOD_RUNTIME=lxc is not a runtime');
  });

  it('starts a Podman service when Podman is installed but nothing answers', async () => {
    const e = fakeEnv({ podman: true, startOk: true });
    const found = await discover(e);
    expect(found).toMatchObject({ foundBy: 'start-podman-service', socketPath: ROOTFUL_PODMAN_SOCKET });
    expect(e.started).toEqual([ROOTFUL_PODMAN_SOCKET]);
  });

  it('lists everything it tried when nothing is found', async () => {
    const err = await discover(fakeEnv({ sockets: { [ROOTFUL_PODMAN_SOCKET]: 'dead' } })).catch((x: unknown) => x as ClawpodError);
    expect(err).toBeInstanceOf(ClawpodError);
    expect(err.code).toBe('RUNTIME_UNAVAILABLE');
    expect(err.details).toEqual([
      `rootful podman socket: ${ROOTFUL_PODMAN_SOCKET}: socket exists but nothing answers`,
      'rootless podman socket: /run/user/1000/podman/podman.sock: no socket',
      `docker socket: ${DOCKER_SOCKET}: no socket`,
      'start-podman-service: podman: not installed',
    ]);
    expect(err.hint).toContain('apt-get install -y podman runc');
  });
});
