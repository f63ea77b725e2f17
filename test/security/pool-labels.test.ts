// Finding (found while fixing B2): warm-pool members were found by their labels alone. A container
// made outside clawpod — or by another data dir's clawpod — wearing the pool's labels was listed,
// would be claimed by the next `clawpod run openclaw` (which hands the instance's gateway and model
// tokens to it), and was removed by `clawpod pool rm`. The attack: plant such a container, then
// list, run and drain; it must be left alone. Pools of any spec hand the claimer's own secrets to
// the member, so the same holds with the pool's name and its spec's hash copied onto the planted
// container, and the member's secrets folder on the host is checked before anything is written in:
// a folder swapped for a link (to a place its planter reads) gets no secret.
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('pl');
const SECRET = `pool-secret-${P}`;
const dir = tmpDir();
const env = scratchEnv({ CLAWPOD_DATA_DIR: join(dir, 'data'), PL_TOKEN: SECRET });
const fake = `openclaw-pool-${P}`;
const forged = `${P}f-pool-abcdef`;
const spec = (name: string) => writeSpec(dir, `${name}.yaml`, agentYaml(name, 'command: [sleep, infinity]\nworkspace: {enabled: false}\nsecrets: [{name: API_TOKEN, source: env, secretRef: {name: PL_TOKEN}}]'));
const plant = (name: string, labels: Record<string, string>) => {
  const made = podman(['run', '-d', '--name', name, ...Object.entries({ 'dev.clawpod.managed': 'true', 'dev.clawpod.role': 'pool', 'dev.clawpod.instance': name, ...labels }).flatMap(([k, v]) => ['--label', `${k}=${v}`]), 'localhost/clawpod-agent:latest', 'sleep', '300']);
  expect(made.code, made.stderr).toBe(0);
};

beforeAll(() => plant(fake, { 'dev.clawpod.agent': 'openclaw-pool' }));
afterAll(() => { podman(['rm', '-f', '-t', '0', fake, forged]); cleanup(P); rmSync(dir, { recursive: true, force: true }); });

describe('a container wearing the warm pool\'s labels', () => {
  it('is not listed as a member and not removed by pool rm', async () => {
    const ls = await clawpod(['--json', 'pool', 'ls', 'openclaw'], { env });
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as { name: string }[]).map((m) => m.name)).not.toContain(fake);
    const rm = await clawpod(['--json', 'pool', 'rm', 'openclaw'], { env });
    expect(rm.code, rm.stderr).toBe(0);
    expect((JSON.parse(rm.stdout) as { removed: string[] }).removed).not.toContain(fake);
    expect(podman(['container', 'exists', fake]).code).toBe(0);
  });

  it('is never claimed, even with the pool\'s name and its spec\'s hash forged on it: the claimer starts cold and its secret stays out', async () => {
    const pool = `${P}f`;
    const f = spec(pool);
    const fill = await clawpod(['--json', 'pool', 'fill', '--spec', f, '--size', '0'], { env });
    expect(fill.code, fill.stderr).toBe(0);
    const { hash } = JSON.parse(fill.stdout) as { hash: string };
    plant(forged, { 'dev.clawpod.agent': `${pool}-pool`, 'dev.clawpod.pool': pool, 'dev.clawpod.pool-spec': hash });
    const r = await clawpod(['--json', 'run', '-d', '-f', f], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: pool, claimed: null });
    expect(r.stderr).toContain('no ready member');
    expect(podman(['container', 'exists', forged]).code).toBe(0);
    const inside = podman(['exec', forged, 'cat', '/run/secrets/API_TOKEN']);
    expect(inside.code).not.toBe(0);
    expect(inside.stdout).not.toContain(SECRET);
    expect((await clawpod(['pool', 'rm', pool], { env })).code).toBe(0);
    expect(podman(['container', 'exists', forged]).code).toBe(0);
  });
});

describe('a member\'s secrets folder swapped for a symlink', () => {
  it('gets no secret: the claim is refused, the member removed, the link\'s target left empty', async () => {
    const pool = `${P}s`;
    const f = spec(pool);
    const fill = await clawpod(['--json', 'pool', 'fill', '--spec', f, '--size', '1'], { env });
    expect(fill.code, fill.stderr).toBe(0);
    const member = (JSON.parse(fill.stdout) as { started: string[] }).started[0]!;
    const folder = (JSON.parse(podman(['inspect', member]).stdout)[0].Mounts as { Destination: string; Source: string }[]).find((m) => m.Destination === '/run/secrets')!.Source;
    // whoever could swap it points it at a folder they can read
    const target = join(dir, 'stolen');
    mkdirSync(target);
    rmSync(folder, { recursive: true, force: true });
    symlinkSync(target, folder);
    const r = await clawpod(['run', '-d', '-f', f], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('UNSAFE_PATH');
    expect(readdirSync(target)).toEqual([]);
    expect(podman(['container', 'exists', member]).code).not.toBe(0);
    expect(podman(['container', 'exists', pool]).code).not.toBe(0);
    expect((await clawpod(['pool', 'rm', pool], { env })).code).toBe(0);
  });
});
