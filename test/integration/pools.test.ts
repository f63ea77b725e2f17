// Warm pools of any spec on real Podman: `pool fill --spec` starts idle hardened members; `clawpod
// run -d -f` claims one (the claimer's secret arrives as a file, which the member did not have), and
// the pool refills in the background; a changed spec starts cold and then drains and rebuilds the
// pool; concurrent claimers never share a member; `pool rm` leaves nothing. Then `clawpod serve`
// keeping spec.pools filled: at start, after a member is lost, and a pool it cannot fill is a log
// line and a lifecycle event, not the daemon's end.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, leftovers, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec, type CliResult } from '../helpers/cli.js';
import { startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('wp');
const SECRET = `claimer-secret-${P}`;
const dir = tmpDir();
const env = scratchEnv({ CLAWPOD_DATA_DIR: join(dir, 'data'), WP_TOKEN: SECRET });
const spec = (extra = '') => agentYaml(P, `command: [sleep, infinity]\nsecrets: [{name: API_TOKEN, source: env, secretRef: {name: WP_TOKEN}}]${extra}`);
const F = writeSpec(dir, 'pool.yaml', spec());
let plane: Plane | undefined;

const run = (args: string[]): Promise<CliResult> => clawpod(args, { env, timeoutMs: 180_000 });
const ok = (r: CliResult) => { expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0); return r; };
const members = async (pool = P) => JSON.parse(ok(await run(['--json', 'pool', 'ls', pool])).stdout) as { name: string; state: string; hash: string; current: boolean }[];
const claimedFrom = (r: CliResult) => /\(warm pool: (\S+)\)/.exec(r.stdout)?.[1];
/** The host folder a container's /run/secrets comes from. */
const secretsSource = (name: string) => (JSON.parse(podman(['inspect', name]).stdout)[0].Mounts as { Destination: string; Source: string }[]).find((m) => m.Destination === '/run/secrets')?.Source;

afterAll(async () => {
  await plane?.stop();
  cleanup(P);
});

describe('a warm pool of any spec', () => {
  const before: string[] = [];

  it('fills: idle hardened members, one progress line each, no secret of anyone\'s inside', async () => {
    const r = ok(await run(['pool', 'fill', '--spec', F, '--size', '2']));
    expect(r.stderr.match(/ready \(\d of 2/g)).toHaveLength(2);
    const m = await members();
    expect(m.map((x) => x.state)).toEqual(['running', 'running']);
    for (const x of m) {
      expect(x.name).toMatch(new RegExp(`^${P}-pool-[0-9a-f]{6}$`));
      const d = JSON.parse(podman(['inspect', x.name]).stdout)[0];
      expect(d.HostConfig.ReadonlyRootfs).toBe(true);
      expect(d.Config.User).toBe('1000:1000');
      expect(d.Config.Labels['dev.clawpod.pool-spec']).toBe(x.hash);
      expect(podman(['exec', x.name, 'ls', '-A', '/run/secrets']).stdout.trim()).toBe('');
      before.push(x.name);
    }
    const pools = JSON.parse(ok(await run(['--json', 'pool', 'ls'])).stdout) as { name: string; ready: number; size: number }[];
    expect(pools.find((p) => p.name === P)).toMatchObject({ ready: 2, size: 2 });
  });

  it('is claimed by clawpod run -d: the claimer\'s secret is a file inside, every verb sees the instance, the pool refills', async () => {
    const r = ok(await run(['--json', 'run', '-d', '-f', F]));
    const claimed = JSON.parse(r.stdout) as { name: string; claimed: string | null; id: string };
    expect(claimed.name).toBe(P);
    expect(before).toContain(claimed.claimed);
    expect(podman(['exec', P, 'cat', '/run/secrets/API_TOKEN']).stdout).toBe(SECRET);
    // clawpod's own verbs: the value is redacted in exec output, the agent is the claimer's
    expect(ok(await run(['exec', P, '--', 'cat', '/run/secrets/API_TOKEN'])).stdout).not.toContain(SECRET);
    expect((JSON.parse(ok(await run(['--json', 'ps'])).stdout) as { name: string; agent: string }[]).find((x) => x.name === P)?.agent).toBe(P);
    expect(JSON.parse(ok(await run(['inspect', P])).stdout)).toMatchObject({ agent: P, spec: { metadata: { name: P } } });
    // the background refill makes a new member in place of the claimed one
    const refilled = await waitFor('the refill', async () => { const m = await members(); return m.length === 2 && m.every((x) => x.state === 'running') ? m : undefined; }, 60_000);
    expect(refilled.map((x) => x.name)).not.toContain(claimed.claimed);
    before.splice(0, 2, ...refilled.map((x) => x.name));
  });

  it('starts a changed spec cold, saying why; filling with it drains the old members and rebuilds', async () => {
    const F2 = writeSpec(dir, 'pool2.yaml', spec('\nenv: [{name: MODE, value: two}]'));
    const cold = ok(await run(['run', '-d', '-f', F2]));
    expect(claimedFrom(cold)).toBeUndefined();
    expect(cold.stderr).toContain('differs from the pool\'s in env');
    expect((await members()).map((x) => x.name).sort()).toEqual([...before].sort());
    const fill = ok(await run(['--json', 'pool', 'fill', '--spec', F2]));
    const f = JSON.parse(fill.stdout) as { removed: string[]; started: string[]; ready: number };
    expect(f.removed.sort()).toEqual([...before].sort());
    expect(f.started).toHaveLength(2);
    const m = await members();
    expect(m.map((x) => x.name).sort()).toEqual([...f.started].sort());
    for (const old of before) expect(podman(['container', 'exists', old]).code).not.toBe(0);
  });

  it('never hands one member to two concurrent claimers: eight claims on a pool of six', async () => {
    const F2 = join(dir, 'pool2.yaml');
    ok(await run(['pool', 'fill', '--spec', F2, '--size', '6']));
    // distinct names: two runs of one spec without --name may pick the same NAME-i, claimed or cold alike
    const rs = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => run(['--json', 'run', '-d', '--name', `${P}c${i}`, '-f', F2])));
    const got = rs.map((r) => JSON.parse(ok(r).stdout) as { name: string; id: string; claimed: string | null });
    expect(new Set(got.map((g) => g.name)).size).toBe(8);
    expect(new Set(got.map((g) => g.id)).size).toBe(8);
    for (const g of got) expect(JSON.parse(podman(['inspect', g.id]).stdout)[0].Name).toBe(g.name);
    const claims = got.map((g) => g.claimed).filter((c): c is string => c !== null);
    expect(claims.length).toBeGreaterThanOrEqual(1);
    expect(new Set(claims).size).toBe(claims.length);
    for (const g of got) expect(podman(['exec', g.name, 'cat', '/run/secrets/API_TOKEN']).stdout).toBe(SECRET);
  });

  it('pool rm leaves nothing of the pool: members, volumes, secrets folders, records', async () => {
    const m = await members();
    const folders = m.map((x) => secretsSource(x.name)!);
    expect(folders.every(Boolean)).toBe(true);
    const r = JSON.parse(ok(await run(['--json', 'pool', 'rm', P])).stdout) as { removed: string[] };
    expect(r.removed.length).toBeGreaterThanOrEqual(m.length);
    expect(await members()).toEqual([]);
    expect(leftovers(`${P}-pool-`).containers).toEqual([]);
    // a removed member's volume goes; a claimed one's is its instance's state and stays with it
    for (const n of r.removed) expect(podman(['volume', 'exists', `clawpod-${n}-workspace`]).code).not.toBe(0);
    for (const f of folders) expect(existsSync(f)).toBe(false);
    expect(readdirSync(join(dir, 'data', 'pools')).filter((n) => n.startsWith(`${P}.`) && !n.endsWith('.lock'))).toEqual([]);
    // the claimed instances are instances: they stay until removed like any other
    expect(podman(['container', 'exists', P]).code).toBe(0);
  });
});

describe('clawpod serve with spec.pools', () => {
  it('fills at start, refills a lost member, and reports a pool it cannot fill without stopping', async () => {
    const G = writeSpec(dir, 'served.yaml', agentYaml(`${P}s`, 'command: [sleep, infinity]\nworkspace: {enabled: false}'));
    plane = await startPlane(['apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', '  pools:', `    - {spec: ${G}, size: 1}`, '    - {spec: ./missing.yaml, size: 1}'].join('\n'));
    const ls = async () => JSON.parse(ok(await clawpod(['--json', 'pool', 'ls', `${P}s`], { env: plane!.env })).stdout) as { name: string; state: string }[];
    const first = await waitFor('the first member', async () => (await ls()).find((m) => m.state === 'running'), 30_000);
    await waitFor('the failure line', () => plane!.output().includes('missing.yaml: fill failed'), 30_000);
    const events = await plane.client.call<{ type: string; data: { message: string } }[]>('GET', '/v1/lifecycle/events');
    expect(events.find((e) => e.type === 'pool_fill_failed')?.data.message).toContain('missing.yaml');
    // a member lost behind clawpod's back: the next check forgets it (its secrets folder goes) and starts another
    const folder = secretsSource(first.name)!;
    podman(['rm', '-f', '-t', '0', first.name]);
    const next = await waitFor('a new member', async () => (await ls()).find((m) => m.state === 'running' && m.name !== first.name), 30_000);
    expect(next.name).toMatch(new RegExp(`^${P}s-pool-`));
    expect(existsSync(folder)).toBe(false);
    expect(plane.output()).toContain(`forgot ${first.name} (its container is gone)`);
    expect(plane.proc.exitCode).toBeNull();
    await plane.stop();
    plane = undefined;
  });
});
