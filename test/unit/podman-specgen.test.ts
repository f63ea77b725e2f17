// What Podman is asked for: a user namespace for runc-tier agents (not gVisor, whose gofer cannot
// reach root-only volume folders from inside one), and `U` only on what clawpod made for the container.
import { describe, expect, it } from 'vitest';
import { podmanSpecgen } from '../../src/runtime/podman-specgen.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';

const base: ContainerSpec = {
  name: 'a', image: 'img', env: {}, user: '1000:1000', labels: {}, ports: [],
  mounts: [
    { kind: 'volume', name: 'clawpod-a-workspace', target: '/workspace', readOnly: false },
    { kind: 'bind', source: '/dev/shm/clawpod/secrets/a', target: '/run/secrets', readOnly: true, agentOwned: true },
    { kind: 'bind', source: '/home/u/project', target: '/project', readOnly: false },
    { kind: 'tmpfs', target: '/tmp', sizeBytes: 1024 },
  ],
  resources: { cpus: 1, memoryBytes: 2 ** 20, pids: 64 }, network: 'none', isolation: 'runc',
  security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
};

type Body = { userns?: unknown; idmappings?: unknown; mounts: { destination: string; options: string[] }[]; volumes: { Options: string[] }[]; oci_runtime?: string };
const gen = (s: ContainerSpec, rt?: string) => podmanSpecgen(s, rt) as unknown as Body;

describe('podmanSpecgen', () => {
  it('maps the agent\'s ids to a fixed host range above every account (not userns=auto, which deadlocks Podman 4.3), and re-owns only clawpod\'s own folders', () => {
    const b = gen(base);
    const map = [{ container_id: 0, host_id: 0x70000000, size: 65536 }];
    expect(b.userns).toEqual({ nsmode: 'private' });
    expect(b.idmappings).toEqual({ UIDMap: map, GIDMap: map });
    expect(b.mounts.find((m) => m.destination === '/run/secrets')!.options).toContain('U');
    expect(b.mounts.find((m) => m.destination === '/project')!.options).not.toContain('U');
    expect(b.volumes[0]!.Options).toEqual(['U']);
  });

  it('gives a gVisor container no engine user namespace and no U', () => {
    const b = gen({ ...base, isolation: 'gvisor' }, 'runsc');
    expect(b.userns).toBeUndefined();
    expect(b.idmappings).toBeUndefined();
    expect(b.mounts.flatMap((m) => m.options)).not.toContain('U');
    expect(b.oci_runtime).toBe('runsc');
  });

  it('asks for nothing when the spec wants no user namespace', () => {
    const b = gen({ ...base, security: { ...base.security, userNamespace: false } });
    expect(b.userns).toBeUndefined();
    expect(b.volumes[0]!.Options).toEqual([]);
  });
});
