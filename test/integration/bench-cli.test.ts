// `clawpod bench` as a user runs it, on the real engine: a short run of every path on runc prints
// its table, writes the same report as JSON, and leaves no container, pool or record behind; bad
// options are refused before anything is made.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clawpod, podman, scratchEnv, tmpDir } from '../helpers/cli.js';

const benchNames = () => new Set(podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter((n) => n.startsWith('bench-')));

describe('clawpod bench', () => {
  it('measures cold, wake and warm on runc against podman, as a table and as JSON, and removes what it made', async () => {
    const env = scratchEnv();
    const out = join(tmpDir(), 'bench.json');
    const before = benchNames();
    const r = await clawpod(['bench', '--rounds', '2', '--tiers', 'runc', '--json', out], { env, timeoutMs: 240_000 });
    expect(r.stderr).toMatch(/cold, runc: round 2\/2: clawpod \d+ ms, podman \d+ ms/);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('clawpod bench: time to first reply, 2 rounds each, ms as p50 / p95 / p99');
    expect(r.stdout).toMatch(/PATH\s+TIER\s+CLAWPOD\s+PODMAN \(RAW\)\s+RATIO P50/);
    for (const path of ['cold', 'wake from pause', 'wake from stop', 'warm']) {
      expect(r.stdout).toMatch(new RegExp(`^${path}\\s+runc\\s+\\d+ / \\d+ / \\d+\\s+\\d+ / \\d+ / \\d+\\s+\\d+\\.\\d\\d$`, 'm'));
    }
    expect(r.stdout).toMatch(/^machine: \d+ CPU .* podman \d/m);

    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report).toMatchObject({
      rounds: 2, unit: 'ms', notRun: [],
      machine: { cpus: expect.any(Number), kernel: expect.any(String), node: process.version, clawpod: '0.1.0', engine: { kind: 'podman', version: expect.stringMatching(/^\d/) } },
    });
    expect(report.rows.map((x: { path: string; tier: string }) => `${x.path}/${x.tier}`)).toEqual(['cold/runc', 'wake from pause/runc', 'wake from stop/runc', 'warm/runc']);
    for (const row of report.rows) {
      for (const side of [row.clawpod, row.raw]) {
        expect(side).toMatchObject({ n: 2, p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) });
        expect(side.samples).toHaveLength(2);
        expect(side.samples.every((x: number) => x > 0)).toBe(true);
      }
      expect(row.ratioP50).toBeCloseTo(row.clawpod.p50 / row.raw.p50, 1);
    }

    // nothing left: containers (clawpod's and the raw twins), the pool, instance records
    expect([...benchNames()].filter((n) => !before.has(n))).toEqual([]);
    const data = join(env.HOME!, '.local/share/clawpod');
    for (const sub of ['instances', 'pools', 'claims', 'volumes']) {
      const d = join(data, sub);
      expect(existsSync(d) ? readdirSync(d).filter((f) => f.startsWith('bench-')) : [], sub).toEqual([]);
    }
  });

  it('refuses bad options with the option named and the fix', async () => {
    const env = scratchEnv();
    const cases: [string[], RegExp, RegExp][] = [
      [['--rounds', '0'], /--rounds "0" is not a round count/, /whole number from 1 to 1000/],
      [['--paths', 'cold,fast'], /--paths "cold,fast": "fast" is not one of cold, wake, warm/, /--paths cold,wake/],
      [['--tiers', 'kata'], /--tiers "kata": "kata" is not one of runc, gvisor/, /--tiers runc,gvisor/],
      [['--json', '/nonexistent-dir/x.json'], /--json \/nonexistent-dir\/x.json: the folder \/nonexistent-dir does not exist/, /create it first/],
    ];
    for (const [args, message, hint] of cases) {
      const r = await clawpod(['bench', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/USAGE/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(hint);
    }
  });
});
