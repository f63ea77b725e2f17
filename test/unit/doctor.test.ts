// doctor judges isolation by what a probe container saw from inside, not by configuration:
// a registered runsc whose container reports the host's kernel is a failure.
import { describe, expect, it } from 'vitest';
import { runDoctor, type DoctorProbes } from '../../src/ops/doctor.js';
import type { TierProbe } from '../../src/ops/isolation-probe.js';
import { hostUidOf } from '../../src/ops/isolation-probe.js';

const HOST = '6.1.0-host';
const LIMITS = { version: 1 as const, memoryBytes: 128 * 2 ** 20, pids: 64 };

function probes(kind: 'podman' | 'docker', probe: (tier: string) => TierProbe | { error: string }): DoctorProbes {
  return {
    nodeVersion: '20.20.0', which: (b) => (b === kind ? `/usr/bin/${b}` : undefined), version: () => undefined, cgroupV2: true,
    containersConf: undefined, readFile: () => undefined,
    discover: async () => ({ kind, version: '4.3.1', socketPath: '/run/x.sock', foundBy: 'test' }),
    info: async () => ({ kind, version: '4.3.1', apiVersion: '1.41', ociRuntimes: { runc: '', runsc: '' }, cgroupVersion: '2', defaultRuntime: 'crun' }),
    hasImage: async () => true, usableRuntime: () => true, hostKernel: HOST,
    probeTier: async (_e, tier) => probe(tier),
  };
}

const byName = async (p: DoctorProbes) => Object.fromEntries((await runDoctor(p)).map((c) => [c.name, c]));

describe('doctor isolation checks', () => {
  it('fails gVisor when the runsc container runs on the host kernel, passes it on gVisor\'s own', async () => {
    const fake = (kernel: string) => probes('podman', (t) => ({ kernel: t === 'gvisor' ? kernel : HOST, uidMap: '0 2147483647 65536', runtime: t === 'gvisor' ? 'runsc' : 'runc', limits: LIMITS }));
    expect((await byName(fake(HOST)))['tier gvisor']).toMatchObject({ status: 'fail', detail: expect.stringContaining('not the gVisor user-space kernel') });
    expect((await byName(fake('4.4.0')))['tier gvisor']).toMatchObject({ status: 'ok', detail: expect.stringContaining('kernel 4.4.0') });
  });

  it('reports every tier: runc ok with its runtime, gvisor with whether it can have a network, an unregistered tier refused with its fix', async () => {
    const p = probes('podman', (t) => ({ kernel: t === 'runc' ? HOST : '4.4.0', uidMap: '0 2147483647 65536', runtime: t === 'runc' ? 'runc' : 'runsc', limits: LIMITS }));
    const r = await byName(p);
    expect(r['tier runc']).toMatchObject({ status: 'ok', detail: expect.stringContaining('runtime runc') });
    expect(r['tier gvisor']).toMatchObject({ status: 'ok', detail: expect.stringContaining('network: bridge refused (runsc-net not registered)') });
    expect(r['tier microvm']).toMatchObject({ status: 'warn', detail: expect.stringContaining('clawpod-microvm is not registered'), fix: expect.stringContaining('setup.sh') });
    const net = await byName({ ...p, info: async () => ({ kind: 'podman', version: '4.3.1', apiVersion: '1.41', ociRuntimes: { runc: '', runsc: '', 'runsc-net': '' } }) });
    expect(net['tier gvisor']!.detail).toContain('network: bridge through runsc-net');
    const broken = await byName(probes('podman', (t) => (t === 'gvisor' ? { error: 'exit status 128' } : { kernel: HOST, uidMap: '0 2147483647 65536', runtime: 'runc', limits: LIMITS })));
    expect(broken['tier gvisor']).toMatchObject({ status: 'fail', detail: expect.stringContaining('exit status 128') });
  });

  it('reports the user namespace from the uid map, and warns on Docker without userns-remap', async () => {
    const mapped = await byName(probes('podman', () => ({ kernel: HOST, uidMap: '0 2147483647 65536', runtime: 'runc', limits: LIMITS })));
    expect(mapped['user namespace']).toMatchObject({ status: 'ok', detail: expect.stringContaining('host uid 2147484647') });
    const identity = await byName(probes('docker', () => ({ kernel: HOST, uidMap: '0 0 4294967295', runtime: 'runc', limits: LIMITS })));
    expect(identity['user namespace']).toMatchObject({ status: 'warn', fix: expect.stringContaining('userns-remap') });
  });

  it('fails the user namespace with the subuid fix when the probe cannot run, and reports cgroups and limits', async () => {
    const r = await byName(probes('podman', () => ({ error: 'could not find enough available IDs' })));
    expect(r['user namespace']).toMatchObject({ status: 'fail', fix: expect.stringContaining('/etc/subuid') });
    const ok = await byName(probes('podman', () => ({ kernel: HOST, uidMap: '0 2147483647 65536', runtime: 'runc', limits: LIMITS })));
    expect(ok.cgroups!.detail).toMatch(/v2.*crun/);
    expect(ok.limits!.status).toBe('ok');
  });

  it('hostUidOf maps through the uid map', () => {
    expect(hostUidOf('0 2147483647 1024', 1000)).toBe(2147484647);
    expect(hostUidOf('0 0 4294967295', 1000)).toBe(1000);
    expect(hostUidOf('0 100000 10', 1000)).toBeUndefined();
  });
});
