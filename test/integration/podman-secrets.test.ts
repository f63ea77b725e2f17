// exposeAs: podman — the value travels as a Podman secret, is mounted at /run/secrets/NAME
// (0400, the agent's uid) with the usual hardening, and is gone with the agent.
import { afterAll, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('ps');
afterAll(() => cleanup(P));

it('delivers a secret as a Podman secret and removes it with the agent', async () => {
  const value = `ps-${P}-value-xyz`;
  const env = scratchEnv({ PS_TOKEN: value });
  const name = `${P}a`;
  const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(name, [
    IDLE_COMMAND,
    'resources: {memory: 64Mi, pids: 40}',
    'secrets: [{name: TOKEN, source: env, secretRef: {name: PS_TOKEN}, exposeAs: podman}]',
  ].join('\n')));
  const r = await clawpod(['run', '-d', '-f', spec], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(podman(['secret', 'ls', '--format', '{{.Name}}']).stdout).toContain(`clawpod-${name}-TOKEN`);
  expect(podman(['exec', name, 'sh', '-c', 'stat -c "%a %u" /run/secrets/TOKEN; id -u; touch /x 2>&1 | grep -c Read-only']).stdout).toBe('400 1000\n1000\n1\n');
  expect(podman(['exec', name, 'cat', '/run/secrets/TOKEN']).stdout).toBe(value);
  const inspect = JSON.parse((await clawpod(['inspect', name], { env })).stdout);
  expect(inspect.security).toMatchObject({ user: '1000:1000', readOnlyRootfs: true });
  expect(inspect.resources).toMatchObject({ memoryBytes: 64 * 1024 * 1024, pidsLimit: 40 });
  expect(JSON.stringify(inspect)).not.toContain(value);
  expect((await clawpod(['rm', '-f', '--volumes', name], { env })).code).toBe(0);
  expect(podman(['secret', 'ls', '--format', '{{.Name}}']).stdout).not.toContain(`clawpod-${name}-TOKEN`);
});

it('refuses mixing file and podman delivery, naming the field', async () => {
  const spec = writeSpec(tmpDir(), 'b.yaml', agentYaml(`${P}b`, 'secrets: [{name: A, secretRef: {name: X}}, {name: B, secretRef: {name: Y}, exposeAs: podman}]'));
  const r = await clawpod(['validate', spec]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('spec.secrets[1].exposeAs');
});
