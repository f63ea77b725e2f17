// `clawpod doctor` on this host, and on a machine without Podman: the agent image has Node
// but no Podman and no runtime socket, so the bundled CLI runs there as on a bare machine.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, clawpod, podman, scratchEnv } from '../helpers/cli.js';

describe('clawpod doctor', () => {
  it('reports the runtime it found on this host', async () => {
    const r = await clawpod(['--json', 'doctor'], { env: scratchEnv() });
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === 'runtime')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^podman .* at unix:\/\//) });
    expect(checks.find((c) => c.name === 'agent image')?.status).toBe('ok');
    // every isolation tier is reported; setup.sh registers runsc (and runsc-net), so gVisor must be proven here
    expect(checks.find((c) => c.name === 'tier runc')).toMatchObject({ status: 'ok', detail: expect.stringContaining('runtime runc') });
    expect(checks.find((c) => c.name === 'tier gvisor')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/kernel 4\.4\.0.*network: bridge through runsc-net/) });
    expect(checks.some((c) => c.name === 'tier microvm')).toBe(true);
    // every registered tier boots a probe: the microVM's (QEMU, TCG on these VMs) is the slow one, 40-90 s on a loaded machine
  }, 180_000);

  it('on a machine without Podman, says exactly what to install', () => {
    const r = podman(['run', '--rm', '--network', 'none', '-v', `${join(ROOT, 'dist/bundle')}:/clawpod:ro`,
      'localhost/clawpod-agent:latest', 'node', '/clawpod/main.js', 'doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✘ podman\s+podman is not installed/);
    expect(r.stdout).toContain('fix: apt-get install -y podman runc');
    expect(r.stdout).toMatch(/✘ runtime\s+no container runtime found/);
    // every strategy tried is listed, so the user sees where clawpod looked
    expect(r.stdout).toContain('/run/podman/podman.sock');
    expect(r.stdout).toContain('/var/run/docker.sock');
  });
});
