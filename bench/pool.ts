// Benchmark: warm pools through the CLI, on real Podman.
//   claim    `clawpod run -d --name N -f pool.yaml` claiming a member, then `clawpod exec N -- echo ready`,
//            timed from spawning the run to the first byte of the exec's output; interleaved with
//   cold     the same two commands for a spec of another name (no pool: created and started).
//            Before each warm round the pool is back at its size and no refill is running, so a
//            round starts quiet; the claim's own background refill then runs alongside its exec.
//   burst    a pool of BURST members (filled, timed), then BURST `clawpod run -d` claims at once,
//            CONCURRENCY processes at a time (default all): wall time, claims/s, p50/p95/p99 of each;
//            then the pool filled again and BURST claims at once in this one process (claimWarm and
//            the refill request, as clawpod serve's API does): the claims without a CLI start each.
// The spec: `command: [sleep, infinity]`, a workspace volume, one secret delivered as a file.
//   npm run bench:pool      (ROUNDS=20, BURST=100, CONCURRENCY=BURST by default; ROUNDS=0 runs the burst alone)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pct } from './common.js';
import { loadConfig } from '../src/config.js';
import { claimWarm } from '../src/ops/pool.js';
import { requestRefill } from '../src/ops/pool-refill.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { loadAgents } from '../src/spec/load.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const BURST = Number(process.env.BURST ?? 100);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? BURST);
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-pool-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'), BENCH_TOKEN: 'bench-secret-value',
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'),
};
const spec = (name: string) => {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  command: [sleep, infinity]\n  secrets: [{name: API_TOKEN, source: env, secretRef: {name: BENCH_TOKEN}}]\n`);
  return f;
};

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const must = (args: string[]) => { const r = cli(args); if (r.code !== 0) throw new Error(`clawpod ${args.join(' ')}: ${r.stderr}`); return r; };

/** ms from spawning `clawpod ARGS` until it exits 0 (or, with `firstByte`, until its first stdout byte); its stdout. */
function timed(args: string[], firstByte = false): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let first: number | undefined;
    p.stdout.on('data', (d: Buffer) => { first ??= Number(process.hrtime.bigint() - t0) / 1e6; out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve({ ms: firstByte && first !== undefined ? first : Number(process.hrtime.bigint() - t0) / 1e6, stdout: out }) : reject(new Error(`clawpod ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Run, then exec: the time until the command inside answers. */
async function runThenExec(file: string, name: string): Promise<{ ms: number; claimed: boolean }> {
  const run = await timed(['--json', 'run', '-d', '--name', name, '-f', file]);
  const exec = await timed(['exec', name, '--', 'echo', 'ready'], true);
  if (!exec.stdout.startsWith('ready')) throw new Error(`${name}: exec said ${exec.stdout}`);
  return { ms: run.ms + exec.ms, claimed: (JSON.parse(run.stdout) as { claimed: string | null }).claimed !== null };
}

/** The pool at its size with no refill running: a quiet start for a round. */
async function settled(pool: string, size: number): Promise<void> {
  const marker = join(dir, 'data', 'pools', `${pool}.refill`);
  const lock = join(dir, 'data', 'pools', `${pool}.lock`);
  for (let i = 0; i < 600; i++) {
    const ready = (JSON.parse(must(['--json', 'pool', 'ls', pool]).stdout) as { state: string; current: boolean }[]).filter((m) => m.state === 'running' && m.current).length;
    if (ready >= size && !existsSync(marker) && !existsSync(lock)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pool ${pool} did not settle at ${size} in 60 s`);
}

/** `clawpod rm -f --volumes`, eight at a time: containers, volumes, secret files and records. */
async function removeAll(names: string[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < names.length) await timed(['rm', '-f', '--volumes', names[next++]!]).catch(() => undefined);
  }));
}

const row = (name: string, xs: number[]) => `${name.padEnd(44)} p50 ${pct(xs, 50).toFixed(0).padStart(5)} ms   p95 ${pct(xs, 95).toFixed(0).padStart(5)} ms   (n=${xs.length})`;

async function main(): Promise<void> {
  const made: string[] = [];
  const warm: number[] = [];
  const cold: number[] = [];
  const pool = spec('bp');
  const coldSpec = spec('bc');
  try {
    must(['pool', 'fill', '--spec', pool, '--size', '2']);
    for (let i = 0; i < ROUNDS; i++) {
      for (const which of i % 2 === 0 ? ['warm', 'cold'] : ['cold', 'warm']) {
        const name = `${which === 'warm' ? 'bp' : 'bc'}-r${i}`;
        await settled('bp', 2); // no refill running: each round starts quiet
        const r = await runThenExec(which === 'warm' ? pool : coldSpec, name);
        made.push(name);
        if (r.claimed !== (which === 'warm')) throw new Error(`${name}: expected ${which === 'warm' ? 'a claim' : 'a cold start'}`);
        (which === 'warm' ? warm : cold).push(r.ms);
      }
      process.stderr.write(`round ${i + 1}/${ROUNDS}: claim → output ${warm.at(-1)!.toFixed(0)} ms, cold → output ${cold.at(-1)!.toFixed(0)} ms\n`);
    }
    await settled('bp', 2);
    await removeAll(made.splice(0));

    const t0 = Date.now();
    must(['pool', 'fill', '--spec', pool, '--size', String(BURST)]);
    const fillS = (Date.now() - t0) / 1000;
    process.stderr.write(`filled ${BURST} members in ${fillS.toFixed(1)} s; ${BURST} claims, ${CONCURRENCY} at a time\n`);
    const each: number[] = [];
    let claimed = 0;
    const b0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, BURST) }, async () => {
      while (next < BURST) {
        const name = `bb-${next++}`;
        made.push(name);
        const r = await timed(['--json', 'run', '-d', '--name', name, '-f', pool]);
        each.push(r.ms);
        if ((JSON.parse(r.stdout) as { claimed: string | null }).claimed) claimed++;
      }
    }));
    const wallS = (Date.now() - b0) / 1000;

    // the same burst in one process, as clawpod serve's API claims (POST /v1/agents, sandboxes): no CLI start per claim.
    // The first burst's instances go first: every agent's init takes a session keyring under the one
    // mapped uid, and kernel.keys.maxkeys (200 by default; scripts/setup.sh raises it) bounds how many run at once
    await removeAll(made.splice(0));
    must(['pool', 'fill', '--spec', pool, '--size', String(BURST)]);
    const config = loadConfig(env);
    const rt = await connectRuntime(config);
    const [loaded] = await loadAgents(pool, undefined);
    const inProc: number[] = [];
    let inClaimed = 0;
    const p0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: BURST }, async (_, i) => {
      const name = `bb-p${i}`;
      made.push(name);
      const c = await claimWarm(rt, config, { pool: 'bp', name, loaded: loaded!, say: () => undefined });
      if (c) { inClaimed++; requestRefill(config, rt, 'bp', () => undefined); }
      inProc.push(Number(process.hrtime.bigint() - p0) / 1e6);
    }));
    const inWallS = Number(process.hrtime.bigint() - p0) / 1e9;
    if (ROUNDS > 0) {
      console.log(`Warm pools through the CLI, ${ROUNDS} interleaved rounds (spec: sleep infinity, a workspace volume, one secret file)`);
      console.log(row('claim: run -d (warm) + exec → first output', warm));
      console.log(row('cold:  run -d + exec → first output', cold));
      console.log(`ratio claim/cold p50 ${(pct(warm, 50) / pct(cold, 50)).toFixed(2)}`);
    }
    console.log(`burst: ${BURST} members filled in ${fillS.toFixed(1)} s (${(BURST / fillS).toFixed(1)} members/s)`);
    console.log(`burst: ${BURST} claims (${CONCURRENCY} at a time): ${claimed} claimed, ${BURST - claimed} cold; wall ${wallS.toFixed(1)} s, ${(BURST / wallS).toFixed(1)} claims/s`);
    console.log(row('burst: each clawpod run -d', each) + `   p99 ${pct(each, 99).toFixed(0)} ms`);
    console.log(`burst in one process (claimWarm, as the API does): ${inClaimed} of ${BURST} claimed; wall ${inWallS.toFixed(1)} s, ${(BURST / inWallS).toFixed(1)} claims/s`);
    console.log(row('burst in one process: each claim done after', inProc) + `   p99 ${pct(inProc, 99).toFixed(0)} ms`);
  } finally {
    cli(['pool', 'rm', 'bp']);
    await removeAll(made);
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
