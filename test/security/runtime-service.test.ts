// R1: a gVisor container is created through a `podman --runtime runsc system service` that clawpod
// keeps for a minute on a socket in its run folder (CLAWPOD_RUN_DIR/runtimes), so the next create
// skips starting one. Whoever could plant that folder, or write into it, could answer on the socket
// in the engine's place and be handed the agent's whole create request. The folder must be ours
// alone (0700, not a link, not group/other-writable) or nothing is created.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, CONF, leftovers, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('rts');
const dir = tmpDir();
afterAll(() => cleanup(P));

const hasRunsc = spawnSync('sh', ['-c', 'command -v runsc']).status === 0 && existsSync(CONF) && /^runsc\s*=/m.test(readFileSync(CONF, 'utf8'));

/** The pids of processes whose command line names `needle` (the kept services of one run folder). */
function servicesOn(needle: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle) ? [Number(pid)] : []; } catch { return []; }
  });
}

describe('the kept runtime service', () => {
  it('lives in a private folder of the run folder and is reused by the next gVisor create', async (ctx) => {
    need(ctx, hasRunsc, 'runsc registered with Podman', 'apt-get install -y runsc, then ./scripts/setup.sh');
    const run = join(tmpDir(), 'run');
    const env = scratchEnv({ CLAWPOD_RUN_DIR: run });
    const spec = writeSpec(dir, 'ok.yaml', agentYaml(`${P}ok`, 'isolation: gvisor\ncommand: [/bin/true]\nworkspace: {enabled: false}'));
    try {
      for (let i = 0; i < 2; i++) {
        const r = await clawpod(['run', '--rm', '-f', spec], { env });
        expect(r.code, r.stderr).toBe(0);
      }
      const folder = join(run, 'runtimes');
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(readdirSync(folder).filter((f) => f.endsWith('.sock'))).toHaveLength(1);
      expect(servicesOn(folder)).toHaveLength(1); // the second run found the first one's service
    } finally {
      for (const pid of servicesOn(join(run, 'runtimes'))) process.kill(pid, 'SIGTERM');
    }
  });

  it('is refused, with nothing created, when its folder is a planted link or writable by others', async (ctx) => {
    need(ctx, hasRunsc, 'runsc registered with Podman', 'apt-get install -y runsc, then ./scripts/setup.sh');
    const cases: [string, (folder: string) => void, RegExp][] = [
      ['link', (folder) => { const elsewhere = join(tmpDir(), 'attacker'); mkdirSync(elsewhere); symlinkSync(elsewhere, folder); }, /is a symlink/],
      ['writable', (folder) => { mkdirSync(folder, { mode: 0o700 }); chmodSync(folder, 0o777); }, /writable by group or others/],
    ];
    for (const [what, plant, message] of cases) {
      const run = join(tmpDir(), 'run');
      mkdirSync(run, { mode: 0o700 });
      const folder = join(run, 'runtimes');
      plant(folder);
      const env = scratchEnv({ CLAWPOD_RUN_DIR: run });
      const name = `${P}${what.slice(0, 4)}`;
      const spec = writeSpec(dir, `${what}.yaml`, agentYaml(name, 'isolation: gvisor\ncommand: [/bin/true]\nworkspace: {enabled: false}'));
      const r = await clawpod(['run', '--rm', '-f', spec], { env });
      expect(r.stderr, what).toMatch(/UNSAFE_PATH/);
      expect(r.stderr).toContain(folder);
      expect(r.stderr).toMatch(message);
      expect(leftovers(name).containers).toEqual([]);
      // nothing was put where the attacker pointed, and no service was started for it
      if (what === 'link') expect(readdirSync(readlinkSync(folder))).toEqual([]);
      expect(servicesOn(folder)).toEqual([]);
    }
  });
});
