// `clawpod volume ls|rm` and `rm --volumes` of an already-removed agent, through the built CLI on
// real Podman: the volume `rm` keeps is listed and can be deleted; one in use is refused (and -f
// removes the agent using it); a volume clawpod did not make is never deleted.
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('vol');
const env = scratchEnv();
const dir = tmpDir();
const A = `${P}a`;
const B = `${P}b`;
const specOf = (name: string) => writeSpec(dir, `${name}.yaml`, agentYaml(name, 'image: localhost/clawpod-agent:latest\nresources: {cpu: 250m, memory: 128Mi, pids: 64}'));
const run = (...a: string[]) => clawpod(a, { env });
const volumeOf = (name: string) => `clawpod-${name}-workspace`;
const exists = (v: string) => podman(['volume', 'exists', v]).code === 0;
interface Row { name: string; agent: string; instance: string; created: string | null; inUseBy: string[]; recorded: boolean }
const ls = async (): Promise<Row[]> => JSON.parse((await run('--json', 'volume', 'ls')).stdout) as Row[];

afterAll(() => {
  cleanup(P);
  podman(['volume', 'rm', '-f', `${P}-plain`]);
});

describe('clawpod volume', () => {
  it('lists the volume `rm` kept; `rm --volumes NAME` then deletes it', async () => {
    expect((await run('run', '-d', '-f', specOf(A))).code).toBe(0);
    const listed = (await ls()).find((v) => v.name === volumeOf(A));
    expect(listed).toMatchObject({ agent: A, instance: A, inUseBy: [A], recorded: true });
    expect(listed?.created).toMatch(/^\d{4}-/);

    const rm = await run('rm', '-f', A);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stderr).toContain(`kept workspace volume ${volumeOf(A)}`);
    expect((await ls()).find((v) => v.name === volumeOf(A))).toMatchObject({ agent: A, inUseBy: [] });
    const human = await run('volume', 'ls');
    expect(human.stdout).toMatch(/^NAME\s+AGENT\s+INSTANCE\s+CREATED\s+IN USE BY\n/);
    expect(human.stdout).toMatch(new RegExp(`^${volumeOf(A)}\\s+${A}\\s+${A}\\s+\\d{4}-\\S+\\s+-$`, 'm'));

    const gone = await run('--json', 'rm', '--volumes', A);
    expect(gone.code, gone.stderr).toBe(0);
    expect(JSON.parse(gone.stdout)).toEqual([{ name: A, volumeRemoved: volumeOf(A) }]);
    expect(exists(volumeOf(A))).toBe(false);
    expect((await ls()).some((v) => v.name === volumeOf(A))).toBe(false);
    // nothing left: the old message again
    const again = await run('rm', '--volumes', A);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain(`no clawpod agent named ${A}`);
  }, 60_000);

  it('refuses to delete a volume in use; -f removes the clawpod agent using it first', async () => {
    expect((await run('run', '-d', '-f', specOf(B))).code).toBe(0);
    const refused = await run('volume', 'rm', volumeOf(B));
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`volume ${volumeOf(B)} is in use by ${B} (running)`);
    expect(refused.stderr).toContain(`clawpod rm -f ${B}`);
    expect(exists(volumeOf(B))).toBe(true);
    expect(podman(['container', 'exists', B]).code).toBe(0);

    const forced = await run('--json', 'volume', 'rm', '-f', volumeOf(B));
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual([{ name: volumeOf(B), agentsRemoved: [B] }]);
    expect(exists(volumeOf(B))).toBe(false);
    expect(podman(['container', 'exists', B]).code).not.toBe(0);
  }, 60_000);

  it('refuses a volume clawpod did not make, and a missing one', async () => {
    expect(podman(['volume', 'create', `${P}-plain`]).code).toBe(0);
    const r = await run('volume', 'rm', `${P}-plain`);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`volume ${P}-plain is not clawpod's: it carries no clawpod labels`);
    expect(r.stderr).toContain(`podman volume rm ${P}-plain`);
    expect(exists(`${P}-plain`)).toBe(true);
    expect((await ls()).some((v) => v.name === `${P}-plain`)).toBe(false);
    const missing = await run('volume', 'rm', `${P}-nothing`);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain(`no volume named ${P}-nothing`);
  }, 30_000);
});
