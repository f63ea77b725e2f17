// Finding (found while fixing B2): warm-pool members were found by their labels alone. A container
// made outside clawpod — or by another data dir's clawpod — wearing the pool's labels was listed,
// would be claimed by the next `clawpod run openclaw` (which hands the instance's gateway and model
// tokens to it), and was removed by `clawpod pool rm`. The attack: plant such a container, then
// list, run and drain; it must be left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, clawpod, podman, scratchEnv, uniquePrefix } from '../helpers/cli.js';

const P = uniquePrefix('pl');
const env = scratchEnv();
const fake = `openclaw-pool-${P}`;

beforeAll(() => {
  const made = podman(['run', '-d', '--name', fake,
    '--label', 'dev.clawpod.managed=true', '--label', 'dev.clawpod.role=pool',
    '--label', 'dev.clawpod.agent=openclaw-pool', '--label', `dev.clawpod.instance=${fake}`,
    'localhost/clawpod-agent:latest', 'sleep', '300']);
  expect(made.code, made.stderr).toBe(0);
});
afterAll(() => { podman(['rm', '-f', '-t', '0', fake]); cleanup(P); });

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
});
