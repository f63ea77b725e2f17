import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { Ctx } from './context.js';
import { runDoctor, type Check } from '../ops/doctor.js';
import { probeTier } from '../ops/isolation-probe.js';
import { DEFAULTS } from '../spec/defaults.js';
import { discover } from '../runtime/discovery.js';
import { discoveryEnv, driverFor, which } from '../runtime/connect.js';
import { usableOciRuntime } from '../runtime/engine-driver.js';

const MARK = { ok: '✔', warn: '!', fail: '✘' } as const;

export default async function doctor(ctx: Ctx): Promise<number> {
  const c = ctx.config;
  const checks: Check[] = await runDoctor({
    nodeVersion: process.versions.node,
    which: (b) => which(b === 'podman' ? c.podmanBin : b, c.path),
    version: (bin) => { try { return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim(); } catch { return undefined; } },
    cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'),
    containersConf: c.containersConf,
    readFile: (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } },
    discover: () => discover(discoveryEnv(c)),
    info: async (e) => (await driverFor(e, c)).info(),
    hasImage: async (e, ref) => (await (await driverFor(e, c)).inspectImage(ref)) !== undefined,
    usableRuntime: usableOciRuntime,
    hostKernel: release(),
    probeTier: async (e, tier) => probeTier(await driverFor(e, c), DEFAULTS.image, tier, DEFAULTS.user),
  });
  if (ctx.json) ctx.printJson({ checks });
  else for (const k of checks) {
    ctx.print(`${MARK[k.status]} ${k.name.padEnd(16)} ${k.detail}`);
    if (k.fix && k.status !== 'ok') ctx.print(`  ${' '.repeat(16)} fix: ${k.fix}`);
  }
  return checks.some((k) => k.status === 'fail') ? 1 : 0;
}
