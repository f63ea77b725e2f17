// The hardening clawpod promises, read back from the engine (inspect) and felt from inside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_READ_SCRIPT, cgroupLimits, readerFrom } from '../../src/runtime/cgroup.js';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('hd');
const env = scratchEnv();
const name = `${P}a`;
let inspect: {
  security: { user: string; readOnlyRootfs: boolean; capDrop: string[]; capAdd: string[]; securityOpt: string[] };
  resources: { nanoCpus: number; memoryBytes: number; pidsLimit: number };
  mounts: { type: string; target: string }[];
  engine: { Config: { Labels: Record<string, string> }; HostConfig: { NetworkMode: string } };
};

beforeAll(async () => {
  const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(name, [
    'command: [sleep, "600"]',
    'resources: {cpu: 500m, memory: 96Mi, pids: 50}',
    'labels: {owner: alice}',
  ].join('\n')));
  const r = await clawpod(['run', '-d', '-f', spec], { env });
  expect(r.code, r.stderr).toBe(0);
  inspect = JSON.parse((await clawpod(['inspect', name], { env })).stdout);
});
afterAll(() => cleanup(P));

describe('hardening visible in inspect', () => {
  it('runs as non-root with every capability dropped and no new privileges', () => {
    expect(inspect.security.user).toBe('1000:1000');
    // Docker keeps "ALL"; Podman expands it to the names of its default set
    const dropped = inspect.security.capDrop.map((c) => c.toUpperCase().replace(/^CAP_/, ''));
    if (!dropped.includes('ALL')) expect(dropped).toEqual(expect.arrayContaining(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'NET_BIND_SERVICE', 'NET_RAW', 'SETGID', 'SETUID', 'SYS_CHROOT']));
    expect(inspect.security.capAdd).toEqual([]);
    expect(inspect.security.securityOpt.join(' ')).toMatch(/no-new-privileges/);
    expect(inspect.security.readOnlyRootfs).toBe(true);
  });

  it('has /tmp on tmpfs, the workspace volume, limits, labels and no network', () => {
    expect(inspect.mounts).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'tmpfs', target: '/tmp' }),
      expect.objectContaining({ type: 'volume', target: '/workspace' }),
    ]));
    expect(inspect.resources).toEqual({ nanoCpus: 500_000_000, memoryBytes: 96 * 1024 * 1024, pidsLimit: 50 });
    expect(inspect.engine.Config.Labels).toMatchObject({ owner: 'alice', 'dev.clawpod.managed': 'true', 'dev.clawpod.agent': name });
    expect(inspect.engine.HostConfig.NetworkMode).toBe('none');
  });

  it('is felt from inside: read-only rootfs, writable /tmp, no capabilities, memory limit, no network interface', async () => {
    const ro = podman(['exec', name, 'sh', '-c', 'touch /etc/x']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(podman(['exec', name, 'sh', '-c', 'touch /tmp/x && grep -E "^(CapEff|NoNewPrivs)" /proc/self/status']).stdout)
      .toMatch(/CapEff:\s+0000000000000000\nNoNewPrivs:\s+1/);
    // cgroup v2 (memory.max, pids.max) or v1 (memory/memory.limit_in_bytes), whichever the host has
    const limits = cgroupLimits(readerFrom(podman(['exec', name, 'sh', '-c', CGROUP_READ_SCRIPT]).stdout));
    expect(limits).toMatchObject({ memoryBytes: 96 * 1024 * 1024, pids: 50 });
    expect(podman(['exec', name, 'sh', '-c', 'ip link 2>/dev/null || cat /proc/net/dev']).stdout).not.toMatch(/eth0/);
  });
});
