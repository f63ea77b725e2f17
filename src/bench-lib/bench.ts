// `clawpod bench`: time to first reply on this machine, clawpod against the raw engine, for each
// isolation tier that works here and each path (cold, wake from pause and from stop, warm claim).
// Each pair is timed round by round, which side goes first alternating, after one untimed round.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { messageOf } from '../errors.js';
import { gvisorCheck } from '../ops/doctor.js';
import { removeAgent } from '../ops/lifecycle.js';
import { probeTier } from '../ops/isolation-probe.js';
import { usableOciRuntime } from '../runtime/engine-driver.js';
import type { IsolationTier, RuntimeInfo } from '../runtime/runtime.js';
import { DEFAULTS } from '../spec/defaults.js';
import { coldPair, wakePairs, warmPair, type BenchEnv, type Pair, type PathName } from './paths.js';
import { summarize, type Summary } from './stats.js';

export const PATH_CHOICES = ['cold', 'wake', 'warm'] as const;
export const TIER_CHOICES = ['runc', 'gvisor', 'microvm'] as const;
export type PathChoice = typeof PATH_CHOICES[number];

export interface BenchOptions {
  readonly rounds: number;
  readonly paths: readonly PathChoice[];
  /** undefined: every tier that works here. */
  readonly tiers: readonly IsolationTier[] | undefined;
}

export interface Side extends Summary { readonly samples: readonly number[] }

export interface Row {
  readonly path: PathName;
  readonly tier: IsolationTier;
  readonly clawpod: Side;
  readonly raw: Side;
  /** clawpod's p50 over the raw engine's. */
  readonly ratioP50: number;
  readonly clawpodDoes: string;
  readonly rawDoes: string;
}

export interface NotRun { readonly path: PathName | 'all'; readonly tier: IsolationTier; readonly reason: string; readonly failed: boolean }

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly os: string;
  readonly kernel: string;
  readonly memoryBytes: number;
  readonly loadAverage: readonly number[];
  readonly engine: { readonly kind: string; readonly version: string; readonly apiVersion: string; readonly cgroupVersion?: string };
  readonly node: string;
  readonly clawpod: string;
}

export interface BenchReport {
  readonly date: string;
  readonly rounds: number;
  readonly unit: 'ms';
  readonly machine: Machine;
  readonly rows: readonly Row[];
  readonly notRun: readonly NotRun[];
}

export function clawpodVersion(config: Config): string {
  try { return (JSON.parse(readFileSync(join(config.packageRoot, 'package.json'), 'utf8')) as { version: string }).version; } catch { return 'unknown'; }
}

function machine(config: Config, info: RuntimeInfo): Machine {
  const cpu = cpus();
  return {
    cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', os: type(), kernel: release(), memoryBytes: totalmem(), loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    engine: { kind: info.kind, version: info.version, apiVersion: info.apiVersion, ...(info.cgroupVersion ? { cgroupVersion: info.cgroupVersion } : {}) },
    node: process.version, clawpod: clawpodVersion(config),
  };
}

/** gVisor counts only when a container under runsc proves it (what `clawpod doctor` checks). */
async function gvisorWorks(env: BenchEnv, info: RuntimeInfo): Promise<string | undefined> {
  if (!usableOciRuntime(info, 'runsc')) return `runsc is not registered with ${info.kind} (see \`clawpod doctor\`)`;
  const check = gvisorCheck(await probeTier(env.rt, DEFAULTS.image, 'gvisor', DEFAULTS.user), release());
  return check.status === 'ok' ? undefined : check.detail;
}

/** The microVM tier counts when its runtime is registered (every create then checks it ran under it). */
function microvmWorks(info: RuntimeInfo): string | undefined {
  return usableOciRuntime(info, 'clawpod-microvm') ? undefined : `clawpod-microvm is not registered with ${info.kind} (./scripts/setup.sh registers it; docs/runtimes.md)`;
}

async function pairsFor(env: BenchEnv, tier: IsolationTier, path: PathChoice): Promise<Pair[]> {
  if (path === 'cold') return [coldPair(env, tier)];
  if (path === 'wake') return wakePairs(env, tier);
  return [await warmPair(env, tier)];
}

const PATH_NAMES: Record<PathChoice, PathName> = { cold: 'cold', wake: 'wake from pause', warm: 'warm' };

/** One pair, `rounds` times after an untimed round; who goes first alternates. */
async function measure(pair: Pair, rounds: number, rawLabel: string, say: (s: string) => void, signal: AbortSignal): Promise<Row> {
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = -1; i < rounds; i++) {
    signal.throwIfAborted();
    await pair.prepare?.();
    const sides = i % 2 === 0 ? [pair.raw, pair.clawpod] : [pair.clawpod, pair.raw];
    const got: number[] = [];
    for (const side of sides) got.push(await side());
    const [c, r] = i % 2 === 0 ? [got[1]!, got[0]!] : [got[0]!, got[1]!];
    if (i < 0) { say(`${pair.path}, ${pair.tier}: warm-up round done`); continue; }
    ours.push(c);
    raw.push(r);
    say(`${pair.path}, ${pair.tier}: round ${i + 1}/${rounds}: clawpod ${c.toFixed(0)} ms, ${rawLabel} ${r.toFixed(0)} ms`);
  }
  const side = (xs: number[]): Side => ({ ...summarize(xs), samples: xs.map((x) => Math.round(x * 10) / 10) });
  const clawpod = side(ours);
  const rawSide = side(raw);
  return { path: pair.path, tier: pair.tier, clawpod, raw: rawSide, ratioP50: Math.round((clawpod.p50 / rawSide.p50) * 100) / 100, clawpodDoes: pair.clawpodDoes, rawDoes: pair.rawDoes };
}

export async function runBench(env: BenchEnv, opts: BenchOptions, say: (s: string) => void): Promise<BenchReport> {
  const info = await env.rt.info();
  const report = { date: new Date().toISOString(), rounds: opts.rounds, unit: 'ms' as const, machine: machine(env.config, info), rows: [] as Row[], notRun: [] as NotRun[] };
  const tiers: IsolationTier[] = [];
  for (const tier of opts.tiers ?? TIER_CHOICES) {
    const why = tier === 'gvisor' ? await gvisorWorks(env, info) : tier === 'microvm' ? microvmWorks(info) : undefined;
    if (why) { report.notRun.push({ path: 'all', tier, reason: why, failed: false }); say(`${tier}: not measured: ${why}`); } else tiers.push(tier);
  }
  for (const tier of tiers) {
    for (const path of opts.paths) {
      let pairs: Pair[];
      try { pairs = await pairsFor(env, tier, path); } catch (e) {
        if (env.signal.aborted) throw e;
        report.notRun.push({ path: PATH_NAMES[path], tier, reason: `could not be set up: ${messageOf(e)}`, failed: true });
        say(`${path}, ${tier}: could not be set up: ${messageOf(e)}`);
        continue;
      }
      for (const pair of pairs) {
        try { report.rows.push(await measure(pair, opts.rounds, env.engine.kind, say, env.signal)); } catch (e) {
          if (env.signal.aborted) throw e;
          report.notRun.push({ path: pair.path, tier, reason: `failed: ${messageOf(e)}`, failed: true });
          say(`${pair.path}, ${tier}: failed: ${messageOf(e)}`);
        }
      }
    }
  }
  return report;
}

/** Whatever carries the bench's prefix when it ends (an interrupted round's container): clawpod's own agents removed as agents. */
export async function sweep(env: Pick<BenchEnv, 'rt' | 'config' | 'prefix'>): Promise<void> {
  for (const c of await env.rt.listContainers({ all: true })) {
    if (!c.name.startsWith(env.prefix)) continue;
    await removeAgent(env.rt, env.config, c.name, { force: true, volumes: true }).catch(() => env.rt.removeContainer(c.id, { force: true }));
  }
}
