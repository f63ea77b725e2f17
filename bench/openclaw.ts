// Benchmark: an OpenClaw gateway from request to healthy, three ways interleaved round by round:
//   podman   raw `podman run -d` of the same image (hand-wired: token in env, --allow-unconfigured),
//            timed until /startupz and /healthz say ok — OpenClaw's own start, the baseline;
//   cold     `clawpod run openclaw --name N` with the warm pool empty: create, seed, start, /startupz + /healthz;
//   warm     `clawpod run openclaw --name N` claiming a member of `clawpod pool fill` (filled untimed).
// Both clawpod variants are wired to a model (a control plane with a gateway on TCP and a group per
// instance), so the warm figure includes OpenClaw's config hot reload. Prints p50/p95 and ratios.
//   npm run bench:openclaw     (ROUNDS=5 by default; needs clawpod image build --profile openclaw)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pct } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const IMAGE = 'localhost/clawpod-openclaw:2026.9.6';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-oc-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'),
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'), BENCH_KEY: 'not-a-real-key',
};

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Wall time of a clawpod command that returns once the gateway is healthy. */
function timed(args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout: out }) : reject(new Error(`clawpod ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** The same readiness clawpod waits for: /startupz, then /healthz, each saying ok: true. */
async function healthy(port: number, deadline: number): Promise<void> {
  for (const path of ['/startupz', '/healthz']) {
    for (;;) {
      try {
        const body = (await (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) })).json()) as { ok?: boolean };
        if (body.ok === true) break;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`raw gateway on ${port}: ${path} not ok in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function rawPodman(name: string, port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('podman', ['run', '-d', '--name', name, '--user', '1000:0', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges', '--memory', '2g', '--cpus', '2', '-p', `127.0.0.1:${port}:18789`, '-v', `${name}-state:/home/agent`,
    '-e', 'OPENCLAW_GATEWAY_TOKEN=bench-token', IMAGE, 'openclaw', 'gateway', 'run', '--allow-unconfigured', '--bind', 'lan', '--port', '18789'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`podman run: ${r.stderr}`);
  await healthy(port, Date.now() + 300_000);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}


async function main(): Promise<void> {
  if (spawnSync('podman', ['image', 'exists', IMAGE], { env }).status !== 0) throw new Error(`${IMAGE} is missing: clawpod image build --profile openclaw`);
  const cp = join(dir, 'cp.yaml');
  // a model the gateways are wired to; no call reaches it during the bench
  writeFileSync(cp, 'apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec:\n  listen: 127.0.0.1:0\n  gateway: {listen: "0.0.0.0:0"}\n  models:\n    m: {provider: anthropic, model: bench-model, baseUrl: "http://127.0.0.1:9", apiKey: {source: env, secretRef: {name: BENCH_KEY}}}\n');
  const serve = spawn(process.execPath, [BIN, 'serve', '-f', cp], { env, stdio: 'ignore' });
  const serveJson = join(dir, 'data', 'control', 'serve.json');
  for (let i = 0; i < 200 && !existsSync(serveJson); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(serveJson)) throw new Error(`clawpod serve did not start within 10 s (no ${serveJson})`);
  const cold: number[] = [];
  const warm: number[] = [];
  const raw: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? ['podman', 'cold', 'warm'] : ['warm', 'cold', 'podman'];
      for (const which of order) {
        const name = `bench-${which}-${i}`;
        if (which === 'podman') {
          raw.push(await rawPodman(name, 28789));
          spawnSync('podman', ['rm', '-f', name], { env });
          spawnSync('podman', ['volume', 'rm', '-f', `${name}-state`], { env });
          continue;
        }
        if (cli(['group', 'add', name, '--model', 'm']).code !== 0) throw new Error('group add failed');
        if (which === 'warm') {
          const f = cli(['pool', 'fill', 'openclaw', '--size', '1']);
          if (f.code !== 0) throw new Error(`pool fill: ${f.stderr}`);
        }
        const r = await timed(['run', 'openclaw', '--name', name]);
        if ((which === 'warm') !== r.stdout.includes('(warm pool:')) throw new Error(`${name}: expected ${which === 'warm' ? 'a claim' : 'a cold start'}: ${r.stdout}`);
        (which === 'warm' ? warm : cold).push(r.ms);
        cli(['rm', '-f', name, '--volumes']);
      }
      process.stderr.write(`round ${i + 1}/${ROUNDS}: podman ${raw.at(-1)!.toFixed(0)} ms, cold ${cold.at(-1)!.toFixed(0)} ms, warm ${warm.at(-1)!.toFixed(0)} ms\n`);
    }
  } finally {
    cli(['pool', 'rm', 'openclaw']);
    serve.kill('SIGTERM');
  }
  const row = (name: string, xs: number[]) => `${name.padEnd(34)} p50 ${(pct(xs, 50) / 1000).toFixed(2).padStart(6)} s   p95 ${(pct(xs, 95) / 1000).toFixed(2).padStart(6)} s`;
  console.log(`OpenClaw gateway, request → healthy, ${ROUNDS} interleaved rounds`);
  console.log(row('podman run -d (raw, same probes)', raw));
  console.log(row('clawpod run openclaw (cold)', cold));
  console.log(row('clawpod run openclaw (warm pool)', warm));
  console.log(`ratio cold/podman p50 ${(pct(cold, 50) / pct(raw, 50)).toFixed(2)}   warm/podman p50 ${(pct(warm, 50) / pct(raw, 50)).toFixed(2)}   (goal: warm p50 <= 2 s)`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
