// Benchmark: fleets on this machine (Podman).
//  A. request → healthy for one tenant vs the same payload without a tenant, interleaved round by round:
//       `clawpod tenant create T --plan P --profile X`  (network, app-data volume, gateway group + the payload)
//       `clawpod run X --name N`                          (the payload alone, its group made untimed)
//     for X = openclaw (the issue's comparison) and X = runner (a fast payload: the tenant's own cost shows).
//  B. `clawpod fleet upgrade` of 20 runner tenants, --max-unavailable 5: total wall time and each
//     tenant's unavailability (old payload stopped → new one passing its probes and a chat round trip).
// The model is a scripted Anthropic-wire server in this process (a provider cannot be reached here).
//   npm run build && ROUNDS=5 node dist/bench/fleet-local.js      (needs the openclaw image for A)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModelServer, pct } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TENANTS = Number(process.env.TENANTS ?? 20);
const OPENCLAW = 'localhost/clawpod-openclaw:2026.9.6';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-fleet-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'),
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'), BENCH_KEY: 'not-a-real-key',
};

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clawpod ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`clawpod ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const modelServer = (): Promise<Server> => benchModelServer('ok from the bench model', '0.0.0.0');

const row = (name: string, xs: number[]) => `${name.padEnd(46)} p50 ${(pct(xs, 50) / 1000).toFixed(2).padStart(6)} s   p95 ${(pct(xs, 95) / 1000).toFixed(2).padStart(6)} s`;

function fleetYaml(profile: string, tenants: readonly string[], version?: string): string {
  return `apiVersion: clawpod.dev/v1alpha1\nkind: Plan\nmetadata: {name: bench}\nspec: {models: [m], volumes: {appDataPath: /data}}\n`
    + tenants.map((t) => `---\napiVersion: clawpod.dev/v1alpha1\nkind: Tenant\nmetadata: {name: ${t}}\nspec: {plan: bench, profile: {name: ${profile}${version ? `, version: ${version}` : ''}}}\n`).join('');
}

async function partA(profile: string): Promise<void> {
  const run: number[] = [];
  const ten: number[] = [];
  for (let i = -1; i < ROUNDS; i++) { // round -1 warms both paths up, untimed
    const order = i % 2 === 0 ? ['run', 'tenant'] : ['tenant', 'run'];
    for (const which of order) {
      const name = `b${which[0]}${profile[0]}${i + 1}`;
      if (which === 'run') {
        cli(['group', 'add', name, '--model', 'm']);
        const ms = await timed(['run', profile, '--name', name, '-d']);
        if (i >= 0) run.push(ms);
        cli(['rm', '-f', '--volumes', name]);
      } else {
        const ms = await timed(['tenant', 'create', name, '--plan', 'bench', '--profile', profile]);
        if (i >= 0) ten.push(ms);
        cli(['tenant', 'delete', name]);
      }
    }
    if (i >= 0) process.stderr.write(`${profile} round ${i + 1}/${ROUNDS}: run ${run.at(-1)!.toFixed(0)} ms, tenant ${ten.at(-1)!.toFixed(0)} ms\n`);
  }
  console.log(`\nA. ${profile}: request → healthy, ${ROUNDS} interleaved rounds`);
  console.log(row(`clawpod run ${profile} --name N`, run));
  console.log(row(`clawpod tenant create T --profile ${profile}`, ten));
  console.log(`ratio tenant/run p50 ${(pct(ten, 50) / pct(run, 50)).toFixed(3)}   p95 ${(pct(ten, 95) / pct(run, 95)).toFixed(3)}`);
}

async function partB(): Promise<void> {
  const tag = (v: string) => `localhost/clawpod-agent:bench-${v}`;
  for (const v of ['v1', 'v2']) spawnSync('podman', ['tag', 'localhost/clawpod-agent:latest', tag(v)], { env });
  const names = Array.from({ length: TENANTS }, (_, i) => `bf${String(i + 1).padStart(2, '0')}`);
  writeFileSync(join(dir, 'fleet.yaml'), fleetYaml('runner', names, 'bench-v1'));
  const t0 = Date.now();
  cli(['tenant', 'apply', '-f', join(dir, 'fleet.yaml'), '--concurrency', '4']);
  const applied = (Date.now() - t0) / 1000;
  const ms = await timed(['fleet', 'upgrade', '--version', 'bench-v2', '--max-unavailable', '5']);
  const roll = JSON.parse(readFileSync(join(dir, 'data', 'fleet', 'rollout.json'), 'utf8')) as { tenants: Record<string, { state: string; seconds: number; unavailableSeconds: number }> };
  const down = Object.values(roll.tenants).map((e) => e.unavailableSeconds * 1000);
  const each = Object.values(roll.tenants).map((e) => e.seconds * 1000);
  console.log(`\nB. ${TENANTS} runner tenants: tenant apply ${applied.toFixed(1)} s (concurrency 4); fleet upgrade --max-unavailable 5 (canary 1)`);
  console.log(`fleet upgrade total wall                         ${(ms / 1000).toFixed(1)} s   (${Object.values(roll.tenants).filter((e) => e.state === 'done').length}/${TENANTS} done)`);
  console.log(row('per tenant: upgrade (stop → gates passed)', each));
  console.log(row('per tenant: unavailable', down));
  for (const n of names) cli(['tenant', 'delete', n]);
  for (const v of ['v1', 'v2']) spawnSync('podman', ['rmi', tag(v)], { env });
}

async function main(): Promise<void> {
  const model = await modelServer();
  const port = (model.address() as { port: number }).port;
  const cp = join(dir, 'cp.yaml');
  writeFileSync(cp, `apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec:\n  listen: 127.0.0.1:0\n  gateway: {listen: "0.0.0.0:0"}\n  models:\n    m: {provider: anthropic, model: bench-model, baseUrl: "http://host.containers.internal:${port}", apiKey: {source: env, secretRef: {name: BENCH_KEY}}}\n`);
  // the gateway calls the model from the host: its base URL must resolve here too
  writeFileSync(cp, readFileSync(cp, 'utf8').replace('host.containers.internal', '127.0.0.1'));
  const serve = spawn(process.execPath, [BIN, 'serve', '-f', cp], { env, stdio: 'ignore' });
  const serveJson = join(dir, 'data', 'control', 'serve.json');
  for (let i = 0; i < 200 && !existsSync(serveJson); i++) await new Promise((r) => setTimeout(r, 50));
  try {
    writeFileSync(join(dir, 'plan.yaml'), fleetYaml('runner', []));
    cli(['tenant', 'apply', '-f', join(dir, 'plan.yaml')]);
    const parts = (process.env.PARTS ?? 'runner,openclaw,fleet').split(',');
    if (parts.includes('runner')) await partA('runner');
    if (parts.includes('openclaw')) {
      if (spawnSync('podman', ['image', 'exists', OPENCLAW], { env }).status !== 0) console.log(`\nA. openclaw: skipped, ${OPENCLAW} is missing (clawpod image build --profile openclaw)`);
      else await partA('openclaw');
    }
    if (parts.includes('fleet')) await partB();
  } finally {
    serve.kill('SIGTERM');
    model.close();
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
