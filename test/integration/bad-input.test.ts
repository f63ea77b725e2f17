// Bad input: a clear error naming the thing, the value and the fix, a non-zero exit, and
// nothing left behind (no container, no volume, no secret files).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CONF, agentYaml, cleanup, clawpod, leftovers, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('bad');
const env = scratchEnv();
const dir = tmpDir();
afterAll(() => cleanup(P));

async function refused(name: string, yaml: string, extraArgs: string[] = [], e = env) {
  const file = writeSpec(dir, `${name}.yaml`, yaml);
  const r = await clawpod([...extraArgs, 'run', '-d', '-f', file], { env: e });
  expect(r.stdout).toBe('');
  expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
  return { ...r, file };
}

describe('bad input is refused cleanly', () => {
  it('malformed YAML names the file, line and column', async () => {
    const r = await refused('malformed', `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: ${P}a\nspec:\n  image: [unclosed\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/YAML_MALFORMED/);
    expect(r.stderr).toMatch(new RegExp(`${r.file}:\\d+:\\d+`));
  });

  it('an unknown field gets a did-you-mean', async () => {
    const r = await refused('unknown', agentYaml(`${P}a`, 'imgae: localhost/clawpod-agent:latest'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.imgae');
    expect(r.stderr).toContain('did you mean "image"');
  });

  it('a bad quantity names the path, the value and the expected form', async () => {
    const r = await refused('quantity', agentYaml(`${P}a`, 'resources: {memory: 12XB}'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.resources.memory');
    expect(r.stderr).toContain('12XB');
    expect(r.stderr).toMatch(/Mi|Gi/);
  });

  it('a bad name says what names may look like', async () => {
    const r = await refused('name', agentYaml('Bad_Name', 'command: ["true"]'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('metadata.name');
    expect(r.stderr).toContain('Bad_Name');
  });

  it('a blocked mount (~/.ssh) is refused before anything is created', async () => {
    mkdirSync(join(env.HOME!, '.ssh'), { recursive: true });
    writeFileSync(join(env.HOME!, '.ssh', 'id_ed25519'), 'PRIVATE');
    const r = await refused('mount', agentYaml(`${P}a`, `mounts: [{hostPath: ${join(env.HOME!, '.ssh')}, containerPath: /keys, readOnly: true}]`));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MOUNT_BLOCKED');
    expect(r.stderr).toContain('.ssh');
    expect(r.stderr).not.toContain('PRIVATE');
  });

  it('a missing image says how to build it and removes the volume it made', async () => {
    const r = await refused('image', agentYaml(`${P}a`, 'image: localhost/clawpod-no-such-image:1'));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('localhost/clawpod-no-such-image:1');
    expect(r.stderr).toContain('clawpod image build');
  });

  it('a missing secret is named with its source, and no secret file is left', async () => {
    const r = await refused('secret', agentYaml(`${P}a`, `secrets: [{name: API_TOKEN, source: env, secretRef: {name: CLAWPOD_IT_UNSET_${P}}}]`));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('API_TOKEN');
    expect(r.stderr).toContain(`CLAWPOD_IT_UNSET_${P}`);
    expect(existsSync(`/dev/shm/clawpod/secrets/${P}a`)).toBe(false);
  });

  it('a runtime that is not running is named, with the command that starts it', async () => {
    const sock = join(dir, 'nothing.sock');
    const viaFlag = await refused('rt1', agentYaml(`${P}a`, 'command: ["true"]'), ['--host', `unix://${sock}`]);
    expect(viaFlag.code).toBe(3);
    expect(viaFlag.stderr).toContain(sock);
    expect(viaFlag.stderr).toContain('podman system service');
    const viaEnv = await refused('rt2', agentYaml(`${P}a`, 'command: ["true"]'), [], { ...env, CONTAINER_HOST: `unix://${sock}` });
    expect(viaEnv.code).toBe(3);
    expect(viaEnv.stderr).toContain('CONTAINER_HOST');
  });

  it('isolation: gvisor is refused clearly when the engine has no usable runsc', async () => {
    // A private Podman service (same storage) whose containers.conf points runsc at nothing: the
    // engine lists the name but its binary is missing, as on a host where runsc was never installed.
    const conf = writeSpec(dir, 'no-runsc.conf', readFileSync(CONF, 'utf8').replace(/\[engine\.runtimes\][^[]*/s, '')
      + '\n[engine.runtimes]\nrunsc = ["/nonexistent/clawpod-no-runsc"]\n');
    const sock = join(dir, 'no-runsc.sock');
    const svc = spawn('podman', ['system', 'service', '--time=0', `unix://${sock}`], { env: { ...process.env, CONTAINERS_CONF: conf }, stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
      const r = await refused('gvisor', agentYaml(`${P}a`, 'isolation: gvisor\ncommand: ["true"]'), ['--host', `unix://${sock}`]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('ISOLATION_UNAVAILABLE');
      expect(r.stderr).toContain('runsc');
      expect(r.stderr).toContain('apt-get install');
    } finally { svc.kill(); }
  });

  it('validate checks several files and exits non-zero on the bad one', async () => {
    const good = writeSpec(dir, 'good.yaml', agentYaml(`${P}g`, 'command: ["true"]'));
    const bad = writeSpec(dir, 'bad.yaml', agentYaml(`${P}b`, 'resources: {cpu: lots}'));
    const r = await clawpod(['validate', good, bad], { env });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(good);
    expect(r.stderr).toContain('spec.resources.cpu');
  });
});
