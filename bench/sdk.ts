// Benchmark: a program's first command in a new sandbox, through @clawpod/sdk and `clawpod serve`
// on real Podman: Sandbox.create, then exec('echo hi') to its exit, each timed on its own.
//   cold   Sandbox.create({ profile: 'reference' }): created and started (the idle keeper as PID 1)
//   warm   Sandbox.create({ spec, pool }) claiming a member of a warm pool filled from that spec
//          (`command` named, so the members run what the sandbox would); before each warm round the
//          pool is at its size with no refill running, then the claim's own refill runs alongside.
// Rounds interleave (cold, warm, cold, ...); each sandbox is killed after its round (not timed).
//   npm run bench:sdk      (ROUNDS=10; WARM=0 for cold only)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../packages/sdk/src/index.js';
import { pct } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const WARM = process.env.WARM !== '0';
const POOL = 'sdkbench';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-sdk-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'),
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'),
};
const SPEC = `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${POOL}}\nspec:\n  command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clawpod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function startServe(): Promise<{ proc: ChildProcess; url: string; token: string }> {
  const file = join(dir, 'serve.yaml');
  writeFileSync(file, 'apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec: {}\n');
  const proc = spawn(process.execPath, [BIN, 'serve', '-f', file, '--listen', '127.0.0.1:0'], { env, stdio: 'ignore' });
  const served = join(dir, 'data', 'control', 'serve.json');
  for (let i = 0; i < 300 && !existsSync(served); i++) await sleep(50);
  if (!existsSync(served)) throw new Error('clawpod serve did not start in 15 s');
  return { proc, url: (JSON.parse(readFileSync(served, 'utf8')) as { url: string }).url, token: readFileSync(join(dir, 'data', 'control', 'token'), 'utf8').trim() };
}

/** The pool at its size with no refill running: a quiet start for a warm round. */
async function settled(size: number): Promise<void> {
  const marker = join(dir, 'data', 'pools', `${POOL}.refill`);
  const lock = join(dir, 'data', 'pools', `${POOL}.lock`);
  for (let i = 0; i < 600; i++) {
    const ready = (JSON.parse(cli(['--json', 'pool', 'ls', POOL])) as { state: string; current: boolean }[]).filter((m) => m.state === 'running' && m.current).length;
    if (ready >= size && !existsSync(marker) && !existsSync(lock)) return;
    await sleep(100);
  }
  throw new Error(`pool ${POOL} did not settle at ${size} in 60 s`);
}

interface Round { create: number; exec: number; claimed: boolean }

async function round(o: { url: string; token: string }, warm: boolean): Promise<Round> {
  const t0 = performance.now();
  const sb = await Sandbox.create({ ...o, ...(warm ? { spec: SPEC, pool: POOL } : { profile: 'reference' }) });
  const t1 = performance.now();
  const r = await sb.exec('echo hi');
  const t2 = performance.now();
  if (r.stdout !== 'hi\n' || r.exitCode !== 0) throw new Error(`exec said ${JSON.stringify(r)}`);
  await sb.kill();
  return { create: t1 - t0, exec: t2 - t1, claimed: sb.info.claimedFrom === POOL };
}

const line = (name: string, rs: Round[]) => {
  const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(0)} ms, p95 ${pct(xs, 95).toFixed(0)} ms`;
  return `${name.padEnd(5)} create ${f(rs.map((r) => r.create))} | exec ${f(rs.map((r) => r.exec))} | both ${f(rs.map((r) => r.create + r.exec))}  (${rs.length} rounds${name === 'warm' ? `, ${rs.filter((r) => r.claimed).length} claimed` : ''})`;
};

const serve = await startServe();
try {
  const o = { url: serve.url, token: serve.token };
  if (WARM) {
    writeFileSync(join(dir, 'pool.yaml'), SPEC);
    cli(['pool', 'fill', '--spec', join(dir, 'pool.yaml'), '--size', '2']);
  }
  await round(o, false); // the first create pays for loading code paths once
  const cold: Round[] = [];
  const warm: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    cold.push(await round(o, false));
    if (WARM) { await settled(2); warm.push(await round(o, true)); }
  }
  console.log(line('cold', cold));
  if (WARM) console.log(line('warm', warm));
} finally {
  if (WARM) { await settled(0).catch(() => undefined); spawnSync(process.execPath, [BIN, 'pool', 'rm', POOL], { env }); }
  const exited = new Promise((r) => serve.proc.once('exit', r));
  serve.proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
