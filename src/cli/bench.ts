// `clawpod bench`: time to first reply, clawpod against the raw engine (src/bench-lib/bench.ts).
// A table on stdout (one JSON object with the global --json), progress on stderr, `--json FILE`
// the same report as a file. Everything it makes is removed at the end, after a failure or Ctrl-C.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ClawpodError } from '../errors.js';
import { PATH_CHOICES, runBench, sweep, TIER_CHOICES, type BenchOptions, type BenchReport, type PathChoice } from '../bench-lib/bench.js';
import { Cleanup } from '../bench-lib/cleanup.js';
import { RawEngine } from '../bench-lib/raw-engine.js';
import { which } from '../runtime/connect.js';
import type { IsolationTier } from '../runtime/runtime.js';

interface Opts { rounds?: string; paths?: string; tiers?: string; json?: string | boolean }

const ROUNDS_DEFAULT = 10;
const ROUNDS_MAX = 1000;

function listOption<T extends string>(flag: string, value: string, choices: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((s) => !(choices as readonly string[]).includes(s));
  if (bad !== undefined || items.length === 0) {
    throw new ClawpodError('USAGE', `${flag} ${JSON.stringify(value)}: ${bad === undefined ? 'names nothing' : `"${bad}" is not one of ${choices.join(', ')}`}`, {
      hint: `give a comma-separated list of ${choices.join(', ')}, e.g. ${flag} ${choices.slice(0, 2).join(',')}`,
    });
  }
  return [...new Set(items)] as T[];
}

/** The options, checked before anything is made. */
export function benchOptions(opts: Opts): BenchOptions & { jsonFile: string | undefined } {
  const r = opts.rounds ?? String(ROUNDS_DEFAULT);
  if (!/^\d+$/.test(r) || Number(r) < 1 || Number(r) > ROUNDS_MAX) {
    throw new ClawpodError('USAGE', `--rounds ${JSON.stringify(r)} is not a round count`, { hint: `give a whole number from 1 to ${ROUNDS_MAX}, e.g. --rounds ${ROUNDS_DEFAULT}` });
  }
  const jsonFile = typeof opts.json === 'string' ? resolve(opts.json) : undefined;
  if (jsonFile && !existsSync(dirname(jsonFile))) {
    throw new ClawpodError('USAGE', `--json ${opts.json}: the folder ${dirname(jsonFile)} does not exist`, { hint: 'create it first, or write the file somewhere that exists, e.g. --json bench.json' });
  }
  return {
    rounds: Number(r),
    paths: opts.paths === undefined ? PATH_CHOICES : listOption<PathChoice>('--paths', opts.paths, PATH_CHOICES),
    tiers: opts.tiers === undefined ? undefined : listOption<IsolationTier>('--tiers', opts.tiers, TIER_CHOICES),
    jsonFile,
  };
}

const fmt = (s: { p50: number; p95: number; p99: number }) => `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)} / ${s.p99.toFixed(0)}`;

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const engine = m.engine.kind;
  const lines = [
    `clawpod bench: time to first reply, ${r.rounds} round${r.rounds === 1 ? '' : 's'} each, ms as p50 / p95 / p99`,
    '',
    table([['PATH', 'TIER', 'CLAWPOD', `${engine.toUpperCase()} (RAW)`, 'RATIO P50'], ...r.rows.map((x) => [x.path, x.tier, fmt(x.clawpod), fmt(x.raw), x.ratioP50.toFixed(2)])]),
    '',
    ...[...new Map(r.rows.map((x) => [x.path, x])).values()].map((x) => `${x.path}: clawpod = ${x.clawpodDoes}; raw = ${x.rawDoes}`),
    ...r.notRun.map((n) => `not measured: ${n.path === 'all' ? '' : `${n.path}, `}${n.tier}: ${n.reason}`),
    `machine: ${m.cpus} CPU (${m.cpuModel}), ${m.os} ${m.kernel}, ${engine} ${m.engine.version}, node ${m.node}, clawpod ${m.clawpod}, load average ${m.loadAverage.join(' ')}`,
  ];
  return lines.join('\n');
}

export default async function bench(ctx: Ctx, opts: Opts): Promise<number> {
  const o = benchOptions(opts);
  const rt = await ctx.runtime();
  const socketPath = (rt as { socketPath?: string }).socketPath;
  if (rt.kind === 'kubernetes' || !socketPath) {
    throw new ClawpodError('USAGE', `clawpod bench measures a local Podman or Docker, and the runtime here is ${rt.kind}`, { hint: 'run it on the machine of the engine (no --kube, --context)' });
  }
  const engineBin = which(rt.kind === 'podman' ? ctx.config.podmanBin : 'docker', ctx.config.path);
  if (!engineBin) {
    throw new ClawpodError('USAGE', `the ${rt.kind} CLI is not installed here, and the raw baseline is its own \`${rt.kind} run\``, { hint: `install it (${rt.kind === 'podman' ? 'apt-get install -y podman' : 'the docker CLI'}) or run clawpod bench where it is` });
  }
  const script = process.argv[1]!;
  const cleanup = new Cleanup();
  const abort = new AbortController();
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-'));
  const env = {
    rt, raw: new RawEngine(socketPath), config: ctx.config, dir, prefix: `bench-${randomBytes(2).toString('hex')}-`, cleanup, signal: abort.signal,
    engine: { kind: rt.kind, bin: engineBin, env: { ...process.env, ...(ctx.config.containersConf ? { CONTAINERS_CONF: ctx.config.containersConf } : {}) } },
    // the children measure the engine this process found, whatever they would find themselves
    cli: { node: process.execPath, script, globals: ['--host', rt.endpoint], env: process.env },
  };
  cleanup.add(`folder ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  cleanup.add(`containers named ${env.prefix}*`, () => sweep(env));
  const interrupt = () => { ctx.say('interrupted: removing what the bench made'); abort.abort(); };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let report: BenchReport | undefined;
  try {
    report = await runBench(env, o, ctx.say);
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    const left = await cleanup.run();
    for (const l of left) ctx.say(`could not remove ${l}`);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (!report) { ctx.say('clawpod bench was interrupted; what it made was removed'); return 130; }
  if (o.jsonFile) writeFileSync(o.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  if (ctx.json === true) ctx.printJson(report); else ctx.print(formatReport(report));
  return report.notRun.some((n) => n.failed) ? 1 : 0;
}
