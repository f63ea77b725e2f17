// Benchmark: `clawpod run` against the engine's own `podman run` of the same container, interleaved
// round by round (order rotated), one untimed warm-up of each first. Two parts (PARTS=true,ready):
//  true  — the issue's form: the whole process of a cold `clawpod run --rm` of a hardened `/bin/true`
//          against `podman run --rm` with the same flags (derived from the ContainerSpec clawpod plans:
//          src/bench-lib/engine-args.ts), spawn → exit;
//  ready — spawn → first byte of stdout of `node -e 'console.log("ready")'`: clawpod run with the
//          validated-spec cache hit, with a new spec text every round (the cache never hits), podman run.
// Prints p50/p95 of each and the ratios.
//   npm run bench     (ROUNDS=20; needs the agent image: clawpod image build)
//   CLAWPOD_BIN=/other/bin/clawpod.js node dist/bench/run-vs-podman.js   (another build, e.g. before a change)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { engineRunArgs } from '../src/bench-lib/engine-args.js';
import { timeProcess } from '../src/bench-lib/spawn-timing.js';
import { pct } from '../src/bench-lib/stats.js';
import { plannedContainer, writeSubject, type Subject } from '../src/bench-lib/subject.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = process.env.CLAWPOD_BIN ?? join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const PARTS = (process.env.PARTS ?? 'true,ready').split(',');
const TAG = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'),
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'),
};
const log = (s: string) => process.stderr.write(`${s}\n`);

/** `podman run --rm` of the container clawpod plans for the subject, under another name. */
const podmanArgs = (s: Subject, name: string) => engineRunArgs(plannedContainer(s, name), 'podman');

const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;
const row = (name: string, xs: number[]) => `${name.padEnd(30)} p50 ${ms(pct(xs, 50))}   p95 ${ms(pct(xs, 95))}`;
const ratio = (xs: number[], base: number[]) => `p50 ${(pct(xs, 50) / pct(base, 50)).toFixed(2)}   p95 ${(pct(xs, 95) / pct(base, 95)).toFixed(2)}`;

/** Runs each variant once per round, in an order rotated every round; returns the samples by variant. */
async function interleave(label: string, variants: Record<string, (round: number) => Promise<number>>): Promise<Record<string, number[]>> {
  const names = Object.keys(variants);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await variants[n]!(-1); // warm-up: page cache, image layers, the Podman service
  for (let i = 0; i < ROUNDS; i++) {
    const order = names.map((_, k) => names[(k + i) % names.length]!);
    for (const n of order) out[n]!.push(await variants[n]!(i));
    log(`${label} round ${i + 1}/${ROUNDS}: ${names.map((n) => `${n} ${out[n]!.at(-1)!.toFixed(0)} ms`).join(', ')}`);
  }
  return out;
}

async function partTrue(): Promise<void> {
  const s = writeSubject(dir, `bench-true-${TAG}`, 'runc', ['/bin/true']);
  const raw = podmanArgs(s, s.name);
  const r = await interleave('true', {
    clawpod: async () => (await timeProcess(process.execPath, [BIN, 'run', '--rm', '-f', s.file], env)).totalMs,
    podman: async (i) => (await timeProcess('podman', podmanArgs(s, `${s.name}-raw${i + 1}`), env)).totalMs,
  });
  console.log(`\ncold run --rm of a hardened /bin/true, whole process (spawn → exit), ${ROUNDS} interleaved rounds`);
  console.log(`podman ${raw.join(' ')}`);
  console.log(row('clawpod run --rm', r.clawpod!));
  console.log(row('podman run --rm', r.podman!));
  console.log(`ratio clawpod/podman            ${ratio(r.clawpod!, r.podman!)}   (goal: p50 <= 1.15)`);
}

async function partReady(): Promise<void> {
  const cmd = ['node', '-e', 'console.log("ready")'];
  const s = writeSubject(dir, `bench-ready-${TAG}`, 'runc', cmd);
  const fresh = join(dir, 'fresh.yaml');
  const first = async (cmd: string, args: string[]) => {
    const t = await timeProcess(cmd, args, env);
    if (t.firstOutputMs === undefined) throw new Error(`${cmd} ${args.join(' ')} printed nothing`);
    return t.firstOutputMs;
  };
  const r = await interleave('ready', {
    clawpod: () => first(process.execPath, [BIN, 'run', '--rm', '-f', s.file]),
    'clawpod (new spec)': (i) => {
      // a comment changes the text, so the validated-spec cache misses
      writeFileSync(fresh, `# round ${i} ${Date.now()}\n${s.text}`);
      return first(process.execPath, [BIN, 'run', '--rm', '-f', fresh]);
    },
    podman: (i) => first('podman', podmanArgs(s, `${s.name}-raw${i + 1}`)),
  });
  console.log(`\nrun --rm of node -e 'console.log("ready")', spawn → first output, ${ROUNDS} interleaved rounds`);
  console.log(row('clawpod run', r.clawpod!));
  console.log(row('clawpod run (new spec)', r['clawpod (new spec)']!));
  console.log(row('podman run', r.podman!));
  console.log(`ratio clawpod/podman            ${ratio(r.clawpod!, r.podman!)}   (goal: p50 <= 1.15)`);
  console.log(`ratio clawpod (new spec)/podman ${ratio(r['clawpod (new spec)']!, r.podman!)}`);
}

async function main(): Promise<void> {
  console.log(`clawpod ${BIN}; node ${process.version}; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (process.env.NODE_EXTRA_CA_CERTS) console.log(`note: NODE_EXTRA_CA_CERTS is set; Node 20 reads those certificates at every start, in every clawpod run measured here`);
  try {
    if (PARTS.includes('true')) await partTrue();
    if (PARTS.includes('ready')) await partReady();
  } finally {
    // an interrupted round can leave a container behind: remove everything named for this run
    const left = spawnSync('podman', ['ps', '-a', '--filter', `name=bench-(true|ready)-${TAG}`, '--format', '{{.Names}}'], { env, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    if (left.length) spawnSync('podman', ['rm', '-f', ...left], { env });
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
