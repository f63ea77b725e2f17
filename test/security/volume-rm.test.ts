// A clawpod verb must not become a way to delete volumes clawpod did not make. Performed as a user
// (or a copied script) would: a volume of another tool — plain, or dressed in clawpod's labels and
// its naming scheme — handed to `clawpod volume rm` and to `clawpod rm --volumes`. Each must
// survive. (Before `volume rm` existed, `rm --volumes` only ever reached a live agent's volume.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawpod, podman, scratchEnv, uniquePrefix } from '../helpers/cli.js';

const P = uniquePrefix('svr');
const env = scratchEnv();
const run = (...a: string[]) => clawpod(a, { env });
const exists = (v: string) => podman(['volume', 'exists', v]).code === 0;
const labels = (instance: string) => ['--label', 'dev.clawpod.managed=true', '--label', `dev.clawpod.agent=${instance}`, '--label', `dev.clawpod.instance=${instance}`, '--label', 'dev.clawpod.role=workspace'];
const plain = `${P}-db-data`;
const dressed = `${P}-victim`;
const lookalike = `clawpod-${P}x-workspace`;

beforeAll(async () => {
  // this data folder has been in use (its records began) before the foreign volumes appear
  expect((await run('volume', 'ls')).code).toBe(0);
  await new Promise((r) => setTimeout(r, 1100)); // the engine's creation time has whole seconds
  expect(podman(['volume', 'create', plain]).code).toBe(0);
  expect(podman(['volume', 'create', ...labels(`${P}v`), dressed]).code).toBe(0);
  expect(podman(['volume', 'create', ...labels(`${P}x`), lookalike]).code).toBe(0);
}, 30_000);

afterAll(() => { podman(['volume', 'rm', '-f', plain, dressed, lookalike]); });

describe('volume removal is limited to what clawpod made', () => {
  it('`clawpod volume rm` (and -f) refuses a plain volume, one with forged labels, and a look-alike name', async () => {
    for (const v of [plain, dressed, lookalike]) {
      for (const args of [['volume', 'rm', v], ['volume', 'rm', '-f', v]]) {
        const r = await run(...args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(6);
        expect(r.stderr).toContain(`volume ${v} is not clawpod's`);
        expect(exists(v)).toBe(true);
      }
    }
  }, 60_000);

  it('`clawpod rm --volumes` of a removed agent leaves a look-alike volume alone', async () => {
    const r = await run('rm', '--volumes', `${P}x`);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`volume ${lookalike} is not clawpod's: it carries clawpod's labels, but clawpod's records`);
    expect(exists(lookalike)).toBe(true);
  }, 30_000);

  it('`clawpod volume ls` does not list them', async () => {
    const r = await run('--json', 'volume', 'ls');
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((v) => v.name);
    expect(names).not.toContain(plain);
    expect(names).not.toContain(dressed);
    expect(names).not.toContain(lookalike);
    expect(r.stderr).toMatch(/not listed: \d+ volumes? with clawpod's labels/);
  }, 30_000);
});
