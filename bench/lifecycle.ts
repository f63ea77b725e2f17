// Benchmark: the lifecycle (issue 14) on this machine (Podman), everything through the front proxy of a
// real `clawpod serve` (spec.proxy), each figure interleaved round by round with its baseline:
//  1. wake from pause → first byte of the agent's answer (the agent frozen with `podman pause`, the
//     request held by the proxy while it thaws it), against the same request to an already-running
//     agent through the same proxy, and to that agent's published port with no proxy at all (raw);
//  2. wake from stop → first byte (the agent stopped with `podman stop`, its volumes kept), against a
//     cold `clawpod run -d` of the same payload (the whole CLI process, then the first answer through
//     the proxy) and a raw `podman start` of the same container polled on its port until it answers;
//  3. memory of AGENTS idle reference runners and GATEWAYS idle OpenClaw gateways, running vs paused vs
//     stopped, from each container's cgroup (anon + file; memory.stat), printed as a table.
// Payloads: "hello" is the agent image's demo service (node /opt/clawpod/hello-agent.mjs, GET /),
// "runner" the reference runner (`clawpod run runner`, probes /healthz + /readyz, GET /readyz),
// "openclaw" the OpenClaw gateway (`clawpod run openclaw`, GET /healthz); both wired to a model
// through the plane's LLM gateway (a scripted model in this process; no call reaches it).
//   npm run bench:lifecycle
//   ROUNDS=7 PAUSE_ROUNDS=20 OC_ROUNDS=3 AGENTS=20 GATEWAYS=5 PARTS=pause,stop,memory KINDS=hello,runner,openclaw node dist/bench/lifecycle.js
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModelServer, pct } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/clawpod.js');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const PAUSE_ROUNDS = Number(process.env.PAUSE_ROUNDS ?? 20);
const OC_ROUNDS = Number(process.env.OC_ROUNDS ?? 3);
const AGENTS = Number(process.env.AGENTS ?? 20);
const GATEWAYS = Number(process.env.GATEWAYS ?? 5);
const PARTS = (process.env.PARTS ?? 'pause,stop,memory').split(',');
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 15_000);
const INTERVAL_MS = 100;
const HELLO_IMAGE = 'localhost/clawpod-agent:latest';
const OPENCLAW_IMAGE = 'localhost/clawpod-openclaw:2026.9.6';
const P = `lb${randomBytes(2).toString('hex')}-`;
const dir = mkdtempSync(join(tmpdir(), 'clawpod-bench-life-'));
const env: NodeJS.ProcessEnv = {
  ...process.env, CLAWPOD_DATA_DIR: join(dir, 'data'), CLAWPOD_CONFIG_DIR: join(dir, 'config'),
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, '.clawpod/containers.conf'), BENCH_KEY: 'not-a-real-key',
};

type Kind = 'hello' | 'runner' | 'openclaw';
const PATHS: Record<Kind, string> = { hello: '/', runner: '/readyz', openclaw: '/healthz' };
let KINDS = (process.env.KINDS ?? 'hello,runner,openclaw').split(',') as Kind[];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = (s: string) => process.stderr.write(`${s}\n`);

function sh(cmd: string, args: string[], check = true): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cli = (args: string[], check = true) => sh(process.execPath, [BIN, ...args], check);
const podman = (args: string[], check = true) => sh('podman', args, check);

/** Wall time of a command (spawned, not waited on synchronously, so the proxy keeps serving). */
function timed(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(now() - t0) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** One GET on a new connection: status and the time to its first byte (the response head). */
function get(base: string, path: string, host?: string): Promise<{ status: number; ttfb: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const t0 = now();
    const req = http.get({ host: u.hostname, port: u.port, path, agent: false, headers: host ? { host, accept: 'application/json' } : { accept: 'application/json' } }, (r) => {
      const ttfb = now() - t0;
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, ttfb, body }));
    });
    req.setTimeout(300_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const SOCKET = process.env.PODMAN_SOCKET ?? '/run/podman/podman.sock';
/** One call of Podman's API on its socket (what clawpod itself talks to): the raw baselines. */
function engine(method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: SOCKET, method, path: `/v4.0.0/libpod${path}`, agent: false }, (r) => {
      r.resume();
      r.on('end', () => ((r.statusCode ?? 0) < 300 ? resolve(r.statusCode ?? 0) : reject(new Error(`${method} ${path}: ${r.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The daemon's own figure for the last wake of an agent (its `woken` event), in ms. */
let daemonApi: { url: string; token: string } | undefined;
async function lastWokenMs(name: string): Promise<number | undefined> {
  if (!daemonApi) {
    const data = join(dir, 'data', 'control');
    daemonApi = { url: (JSON.parse(readFileSync(join(data, 'serve.json'), 'utf8')) as { url: string }).url, token: readFileSync(join(data, 'token'), 'utf8').trim() };
  }
  const r = await fetch(`${daemonApi.url}/v1/lifecycle/events?agent=${name}`, { headers: { authorization: `Bearer ${daemonApi.token}` } });
  const ev = (await r.json()) as { type: string; data: { ms?: number } }[];
  return ev.filter((e) => e.type === 'woken').at(-1)?.data.ms;
}

const modelServer = (): Promise<Server> => benchModelServer('ok', '127.0.0.1');

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 100 ? 1 : 0)} ms`);
const row = (name: string, xs: number[]) => `  ${name.padEnd(62)} p50 ${ms(pct(xs, 50)).padStart(9)}   p95 ${ms(pct(xs, 95)).padStart(9)}   (n=${xs.length})`;

let proxy = '';
const created = new Set<string>();
const helloSpec = (name: string): string => {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: ${name}\nspec:\n  image: ${HELLO_IMAGE}\n  command: [node, /opt/clawpod/hello-agent.mjs]\n  network: bridge\n  ports: [{containerPort: 8080}]\n`);
  return f;
};
/** The `clawpod run` of a payload, its group (for the two wired ones) made first, untimed. */
function runArgs(kind: Kind, name: string): string[] {
  created.add(name);
  if (kind === 'hello') return ['run', '-d', '-f', helloSpec(name)];
  cli(['group', 'add', name, '--model', 'm']);
  return ['run', kind, '--name', name, '-d'];
}
const state = (name: string) => podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();
const viaProxy = (name: string, kind: Kind) => get(proxy, PATHS[kind], `${name}.localhost`);

/** Until the agent answers 200 through the proxy (a cold `clawpod run -d` may return before it listens). */
async function firstAnswer(name: string, kind: Kind, deadlineMs = 300_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const r = await viaProxy(name, kind).catch(() => undefined);
    if (r?.status === 200) return;
    if (Date.now() > end) throw new Error(`${name}: no answer through the proxy (${r?.status}: ${r?.body})`);
    await sleep(20);
  }
}

/** Stops or pauses behind the daemon's back, then lets one of its checks notice (it forgets the address). */
async function freeze(name: string, how: 'pause' | 'stop'): Promise<void> {
  if (how === 'pause') podman(['pause', name]);
  else podman(['stop', '-t', '10', name]);
  await sleep(INTERVAL_MS * 4);
}

async function create(kind: Kind, name: string): Promise<void> {
  await timed(process.execPath, [BIN, ...runArgs(kind, name)]);
  await firstAnswer(name, kind);
}

async function remove(name: string): Promise<void> {
  if (podman(['inspect', '-f', '{{.State.Status}}', name], false).stdout.trim() === 'paused') podman(['unpause', name], false);
  cli(['rm', '-f', '--volumes', name], false);
  created.delete(name);
}

const fleet: Record<Kind, string[]> = { hello: [], runner: [], openclaw: [] };

async function partPause(kind: Kind): Promise<void> {
  const [base, sub] = fleet[kind] as [string, string];
  const baseUrl = portUrl(base);
  const subUrl = portUrl(sub);
  const running: number[] = [];
  const raw: number[] = [];
  const thaw: number[] = [];
  const paused: number[] = [];
  const daemon: number[] = [];
  const rounds = PAUSE_ROUNDS;
  const variants = ['running', 'raw', 'thaw', 'paused'];
  for (let i = -1; i < rounds; i++) { // round -1 warms every path up, untimed
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const which of order) {
      if (which === 'paused') {
        await freeze(sub, 'pause');
        const r = await viaProxy(sub, kind);
        if (r.status !== 200) throw new Error(`${sub}: woken from pause answered ${r.status}: ${r.body}`);
        if (i >= 0) { paused.push(r.ttfb); daemon.push((await lastWokenMs(sub)) ?? NaN); }
      } else if (which === 'thaw') {
        // the least a wake can cost: Podman's unpause, then the request straight to the port
        await freeze(sub, 'pause');
        const t0 = now();
        await engine('POST', `/containers/${sub}/unpause`);
        const r = await get(subUrl, PATHS[kind]);
        if (r.status !== 200) throw new Error(`${sub}: answered ${r.status} after unpause: ${r.body}`);
        if (i >= 0) thaw.push(now() - t0);
      } else {
        const r = which === 'raw' ? await get(baseUrl, PATHS[kind]) : await viaProxy(base, kind);
        if (r.status !== 200) throw new Error(`${base}: answered ${r.status}: ${r.body}`);
        if (i >= 0) (which === 'raw' ? raw : running).push(r.ttfb);
      }
    }
  }
  if (state(sub) !== 'running') throw new Error(`${sub} is ${state(sub)} after its wake`);
  const d50 = pct(paused, 50) - pct(running, 50);
  console.log(`\n1. ${kind}: wake from pause → first byte, ${rounds} interleaved rounds`);
  console.log(row(`GET ${PATHS[kind]} of a running agent, its port directly (raw)`, raw));
  console.log(row(`GET ${PATHS[kind]} of a running agent through the proxy`, running));
  console.log(row(`paused: Podman API unpause + GET on its port (raw)`, thaw));
  console.log(row(`GET ${PATHS[kind]} of a paused agent through the proxy (wake)`, paused));
  console.log(row(`  of which the daemon's wake (its \`woken\` event)`, daemon.filter((x) => !Number.isNaN(x))));
  console.log(`  wake − running: p50 +${d50.toFixed(1)} ms, p95 +${(pct(paused, 95) - pct(running, 95)).toFixed(1)} ms   (goal: p50 ≤ +100 ms: ${d50 <= 100 ? 'met' : 'NOT met'});  wake − raw unpause: p50 +${(pct(paused, 50) - pct(thaw, 50)).toFixed(1)} ms`);
}

async function partStop(kind: Kind): Promise<void> {
  const sub = fleet[kind][1]!;
  const wake: number[] = [];
  const cold: number[] = [];
  const raw: number[] = [];
  const variants = kind === 'openclaw' ? ['wake', 'cold'] : ['wake', 'cold', 'raw'];
  const rounds = kind === 'openclaw' ? OC_ROUNDS : ROUNDS;
  const url = portUrl(sub); // the host port is kept across a stop and start
  for (let i = kind === 'openclaw' ? 0 : -1; i < rounds; i++) { // round -1 warms up (not for OpenClaw: each start is seconds)
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const which of order) {
      if (which === 'cold') {
        const name = `${P}${kind[0]}c${i + 1}`;
        const args = runArgs(kind, name);
        const t0 = now();
        await timed(process.execPath, [BIN, ...args]);
        await firstAnswer(name, kind);
        if (i >= 0) cold.push(now() - t0);
        await remove(name);
        continue;
      }
      await freeze(sub, 'stop');
      if (which === 'wake') {
        const t0 = now();
        const r = await viaProxy(sub, kind);
        if (r.status !== 200) throw new Error(`${sub}: woken from stop answered ${r.status}: ${r.body}`);
        if (i >= 0) wake.push(now() - t0);
      } else {
        // what a wake costs without clawpod: Podman's start, then poll the published port until it answers
        const t0 = now();
        await engine('POST', `/containers/${sub}/start`);
        const u = url;
        for (;;) {
          const r = await get(u, PATHS[kind]).catch(() => undefined);
          if (r?.status === 200) break;
          if (now() - t0 > 120_000) throw new Error(`${sub}: no answer on ${u} after podman start`);
          await sleep(20);
        }
        if (i >= 0) raw.push(now() - t0);
      }
    }
    if (i >= 0) log(`${kind} stop round ${i + 1}/${rounds}: wake ${wake.at(-1)!.toFixed(0)} ms, cold run ${cold.at(-1)!.toFixed(0)} ms${raw.length ? `, raw start ${raw.at(-1)!.toFixed(0)} ms` : ''}`);
  }
  const r50 = pct(wake, 50) / pct(cold, 50);
  console.log(`\n2. ${kind}: wake from stop → first byte, ${rounds} interleaved rounds`);
  if (raw.length) console.log(row(`Podman API start + poll GET ${PATHS[kind]} on its port (raw)`, raw));
  console.log(row(`cold clawpod run ${kind === 'hello' ? '-d -f spec.yaml' : `${kind} -d`} → first answer via the proxy`, cold));
  console.log(row(`GET ${PATHS[kind]} of a stopped agent through the proxy (wake)`, wake));
  console.log(`  ratio wake/cold p50 ${r50.toFixed(2)}   p95 ${(pct(wake, 95) / pct(cold, 95)).toFixed(2)}${raw.length ? `   wake/raw p50 ${(pct(wake, 50) / pct(raw, 50)).toFixed(2)}` : ''}   (goal${kind === 'openclaw' ? ': measured against its cold start' : `: ≤ 1.5 × cold: ${r50 <= 1.5 ? 'met' : 'NOT met'}`})`);
}

/** Where the agent's port 8080 (or its first) is published now. */
function portUrl(name: string): string {
  const lines = podman(['port', name]).stdout.trim().split('\n');
  const line = lines.find((l) => l.startsWith('8080/')) ?? lines[0]!;
  const hostPort = line.split(' -> ')[1]!.trim();
  return `http://${hostPort.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
}

// ---- memory, from the cgroups ----

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
interface Mem { anon: number; file: number }

function memOf(cgroupPath: string): Mem | undefined {
  const d = V2 ? join('/sys/fs/cgroup', cgroupPath) : join('/sys/fs/cgroup/memory', cgroupPath);
  let stat: string;
  try { stat = readFileSync(join(d, 'memory.stat'), 'utf8'); } catch { return undefined; }
  const f = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
  return V2 ? { anon: f('anon'), file: f('file') } : { anon: f('total_rss'), file: f('total_cache') };
}

function rssOfPid(pid: number): number {
  try { return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024; } catch { return 0; }
}

/** Sum over the containers: anon, file (their cgroups), conmon's RSS, and how many still have a cgroup. */
function measure(names: string[]): { anon: number; file: number; conmon: number; withCgroup: number; states: string } {
  const out = { anon: 0, file: 0, conmon: 0, withCgroup: 0 };
  const states = new Map<string, number>();
  for (const line of podman(['inspect', '-f', '{{.State.Status}} {{.State.ConmonPid}} {{.State.CgroupPath}}', ...names]).stdout.trim().split('\n')) {
    const [st, conmon, path] = line.split(' ');
    states.set(st!, (states.get(st!) ?? 0) + 1);
    if (conmon && conmon !== '0') out.conmon += rssOfPid(Number(conmon));
    const m = path && st !== 'exited' ? memOf(path) : undefined;
    if (m) { out.anon += m.anon; out.file += m.file; out.withCgroup++; }
  }
  return { ...out, states: [...states].map(([s, n]) => `${n} ${s}`).join(', ') };
}

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  const q = [...items];
  await Promise.all(Array.from({ length: Math.min(n, q.length) }, async () => { for (let x = q.shift(); x !== undefined; x = q.shift()) await fn(x); }));
}

async function partMemory(): Promise<void> {
  const want: [Kind, number][] = ([['runner', AGENTS], ['openclaw', GATEWAYS]] as [Kind, number][]).filter(([k]) => KINDS.includes(k));
  for (const [kind, n] of want) {
    const t0 = Date.now();
    const more = Array.from({ length: Math.max(0, n - fleet[kind].length) }, (_, i) => `${P}${kind[0]}m${String(i + 1).padStart(2, '0')}`);
    await pool(more, kind === 'openclaw' ? 2 : 4, async (name) => { await create(kind, name); fleet[kind].push(name); });
    log(`memory: ${n} ${kind} agents up (${more.length} started in ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  log(`memory: letting them idle ${SETTLE_MS / 1000} s`);
  await sleep(SETTLE_MS);
  const table: Record<string, Record<string, ReturnType<typeof measure>>> = {};
  const all = want.flatMap(([k]) => fleet[k]);
  const take = (st: string) => { table[st] = Object.fromEntries(want.map(([k]) => [k, measure(fleet[k])])); };
  take('running');
  podman(['pause', ...all]);
  await sleep(2000);
  take('paused');
  podman(['unpause', ...all]);
  podman(['stop', '-t', '10', ...all]);
  await sleep(1000);
  take('stopped');
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`\n3. memory of idle agents (cgroup ${V2 ? 'v2 memory.stat anon + file' : 'v1 memory.stat total_rss + total_cache'}, settled ${SETTLE_MS / 1000} s; MiB)`);
  const head = want.map(([k, n]) => `${n} × ${k}: anon + file = total (per agent) · conmon`).join(' | ');
  console.log(`  ${'state'.padEnd(8)} | ${head}`);
  for (const st of ['running', 'paused', 'stopped']) {
    const cells = want.map(([k, n]) => {
      const m = table[st]![k]!;
      return `${mib(m.anon)} + ${mib(m.file)} = ${mib(m.anon + m.file)} (${mib((m.anon + m.file) / n)}) · ${mib(m.conmon)}   [${m.states}; ${m.withCgroup} cgroups]`;
    });
    console.log(`  ${st.padEnd(8)} | ${cells.join(' | ')}`);
  }
}

async function main(): Promise<void> {
  if (podman(['image', 'exists', HELLO_IMAGE], false).code !== 0) throw new Error(`${HELLO_IMAGE} is missing: ./scripts/setup.sh`);
  if (KINDS.includes('openclaw') && podman(['image', 'exists', OPENCLAW_IMAGE], false).code !== 0) {
    console.log(`openclaw: skipped, ${OPENCLAW_IMAGE} is missing (clawpod image build --profile openclaw)`);
    KINDS = KINDS.filter((k) => k !== 'openclaw');
  }
  const model = await modelServer();
  const port = (model.address() as { port: number }).port;
  const cp = join(dir, 'cp.yaml');
  writeFileSync(cp, [
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', '  listen: 127.0.0.1:0', '  gateway: {listen: "0.0.0.0:0"}',
    '  models:', `    m: {provider: anthropic, model: bench-model, baseUrl: "http://127.0.0.1:${port}", apiKey: {source: env, secretRef: {name: BENCH_KEY}}}`,
    // a wait long enough that a stopped OpenClaw's wake is held, never answered 503
    '  proxy: {listen: "127.0.0.1:0", wakeTimeout: 5m}', `  lifecycle: {interval: ${INTERVAL_MS}ms}`, '',
  ].join('\n'));
  const serve = spawn(process.execPath, [BIN, 'serve', '-f', cp], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  serve.stdout.on('data', (d: Buffer) => (out += d.toString()));
  serve.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (let i = 0; i < 400 && !/front proxy on http/.test(out); i++) {
      if (serve.exitCode !== null) throw new Error(`clawpod serve exited ${serve.exitCode}: ${out}`);
      await sleep(50);
    }
    proxy = /front proxy on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1] ?? '';
    if (!proxy) throw new Error(`no front proxy address in: ${out}`);
    log(`front proxy ${proxy}; prefix ${P}; data ${dir}`);
    const latency = PARTS.includes('pause') || PARTS.includes('stop');
    for (const kind of KINDS) {
      if (!latency) break;
      // a running agent (the baseline) and the one paused and stopped
      for (const name of [`${P}${kind[0]}-base`, `${P}${kind[0]}-sub`]) { await create(kind, name); fleet[kind].push(name); }
      log(`${kind}: ${fleet[kind].join(', ')} answering`);
      if (PARTS.includes('pause')) await partPause(kind);
      if (PARTS.includes('stop')) await partStop(kind);
    }
    if (PARTS.includes('memory')) await partMemory();
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  } finally {
    log('cleaning up');
    for (const name of [...created]) await remove(name).catch((e: unknown) => log(`${name}: ${String(e)}`));
    const left = podman(['ps', '-a', '--format', '{{.Names}}'], false).stdout.split('\n').filter((n) => n.startsWith(P));
    if (left.length) podman(['rm', '-f', ...left], false);
    const vols = podman(['volume', 'ls', '--format', '{{.Name}}'], false).stdout.split('\n').filter((n) => n.includes(P));
    if (vols.length) podman(['volume', 'rm', '-f', ...vols], false);
    if (serve.exitCode === null) { const gone = new Promise((r) => serve.once('exit', r)); serve.kill('SIGTERM'); await gone; }
    model.close();
    rmSync(dir, { recursive: true, force: true });
    if (left.length || vols.length) log(`removed leftovers: ${[...left, ...vols].join(', ')}`);
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
