// Finding: `isolation: gvisor` silently ran under runc (Podman 4.3's API ignores a per-container
// runtime), while `clawpod inspect` and `doctor` said gVisor. The attack is the spec author's
// trust: ask for gVisor, then look from inside whether the kernel is gVisor's, and from the engine
// whether the runtime is runsc. A container whose runtime differs from its tier must be refused.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';
import { agentYaml, cleanup, clawpod, CONF, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('iso');
const env = scratchEnv();
const dir = tmpDir();
const SOCK = '/run/podman/podman.sock';
afterAll(() => cleanup(P));

// setup.sh installs runsc and registers it in the project's containers.conf
const hasRunsc = spawnSync('sh', ['-c', 'command -v runsc']).status === 0 && existsSync(CONF) && /^runsc\s*=/m.test(readFileSync(CONF, 'utf8'));

function driver(): PodmanDriver {
  const c = loadConfig({ ...process.env, CONTAINERS_CONF: CONF });
  return new PodmanDriver(`unix://${SOCK}`, SOCK, { podmanBin: 'podman', env: { PATH: c.path, HOME: c.home, CONTAINERS_CONF: CONF } });
}

describe('isolation: gvisor really runs under gVisor', () => {
  it('an agent asking for gvisor runs on gVisor\'s kernel, and the engine says runsc', async (ctx) => {
    need(ctx, hasRunsc, 'runsc registered with Podman', 'apt-get install -y runsc, then ./scripts/setup.sh');
    const name = `${P}g`;
    const spec = writeSpec(dir, 'g.yaml', agentYaml(name, 'isolation: gvisor\ncommand: [sleep, "600"]'));
    const r = await clawpod(['run', '-d', '-f', spec], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(podman(['inspect', name, '--format', '{{.OCIRuntime}}']).stdout.trim()).toBe('runsc');
    const kernel = podman(['exec', name, 'uname', '-r']).stdout.trim();
    expect(kernel).not.toBe(release());
    expect(podman(['exec', name, 'dmesg']).stdout).toMatch(/Starting gVisor/);
    const inspect = JSON.parse((await clawpod(['inspect', name], { env })).stdout) as { security: { ociRuntime: string } };
    expect(inspect.security.ociRuntime).toBe('runsc');
  });

  it('a container created under runc while the spec asks gvisor is refused and removed', async () => {
    const name = `${P}m`;
    const made = podman(['create', '--name', name, '--runtime', 'runc', 'localhost/clawpod-agent:latest', 'true']);
    expect(made.code, made.stderr).toBe(0);
    const id = made.stdout.trim();
    const err = await driver().verifyIsolation(id, { isolation: 'gvisor', name }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ISOLATION_MISMATCH', message: expect.stringContaining('"runc"') });
    expect(podman(['container', 'exists', id]).code).toBe(1);
  });

  it('a container under runsc is refused for the runc tier too (every tier is checked)', async (ctx) => {
    need(ctx, hasRunsc, 'runsc registered with Podman', 'apt-get install -y runsc, then ./scripts/setup.sh');
    const name = `${P}n`;
    const made = podman(['create', '--name', name, '--runtime', 'runsc', '--network', 'none', 'localhost/clawpod-agent:latest', 'true']);
    expect(made.code, made.stderr).toBe(0);
    const err = await driver().verifyIsolation(made.stdout.trim(), { isolation: 'runc', name }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ISOLATION_MISMATCH' });
    expect(podman(['container', 'exists', name]).code).toBe(1);
  });

  it('gvisor with network: bridge never falls back to runc: it runs under runsc-net, on gVisor\'s kernel', async (ctx) => {
    need(ctx, hasRunsc && /^runsc-net\s*=/m.test(readFileSync(CONF, 'utf8')), 'runsc-net registered with Podman', 'apt-get install -y runsc, then ./scripts/setup.sh');
    const name = `${P}b`;
    const spec = writeSpec(dir, 'b.yaml', agentYaml(name, 'isolation: gvisor\nnetwork: bridge\ncommand: [sleep, "600"]'));
    const r = await clawpod(['run', '-d', '-f', spec], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(podman(['inspect', name, '--format', '{{.OCIRuntime}}']).stdout.trim()).toBe('runsc-net');
    expect(podman(['exec', name, 'uname', '-r']).stdout.trim()).not.toBe(release());
  });
});
