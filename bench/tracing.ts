// What tracing costs a message (docs/tracing.md): the round trip through `clawpod serve` (POST +
// SSE until `done`, a warm group, the scripted model answering at once) with tracing on and off:
// two `clawpod serve` processes (so one's export work never runs on the other's event loop),
// rounds interleaved (the order flips every round) so drift on the machine hits both alike. The
// traced one exports OTLP/HTTP to a local sink that answers 200 at once (or to OTLP_ENDPOINT,
// e.g. a real Jaeger), so its export work is real.
//   npm run bench:tracing        (ROUNDS=500 by default; goal: p50 and p95 within 5 %)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../src/control/client.js';
import { packageRoot } from '../src/config.js';
import { startModelServer } from '../test/fixtures/model-server.js';
import { pct } from './common.js';

const ROUNDS = Number(process.env.ROUNDS ?? 500);
/** Messages each plane answers before the measured rounds: the JIT has compiled both paths by then. */
const WARMUP = 100;
const TICK_MS = 1000 / 100; // USER_HZ: /proc/PID/stat counts CPU time in ticks of 10 ms

/** CPU time (user + system) a process has used so far, in ms: what its work costs whatever the machine's load. */
const cpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
};
const f = (n: number) => n.toFixed(2).padStart(7);

/** An OTLP/HTTP receiver that takes every export and keeps only counts. */
function otlpSink(): Promise<{ server: Server; url: string; requests: () => number; bytes: () => number }> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => { requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(); });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, bytes: () => bytes })));
}

async function main(): Promise<void> {
  const model = await startModelServer(async () => ({ text: 'ok' }));
  const sink = await otlpSink();
  const endpoint = process.env.OTLP_ENDPOINT ?? sink.url;
  // the planes decide from their spec alone: OTEL_* variables of this shell would turn both on
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const start = async (traced: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), `clawpod-bench-tracing-${traced ? 'on' : 'off'}-`));
    const group = `bench-trace-${traced ? 'on' : 'off'}`;
    writeFileSync(join(dir, 'serve.yaml'), [
      'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:',
      `  models: {fix: {provider: openai, model: bench, baseUrl: "${model.baseUrl('openai')}"}}`,
      `  groups: [{name: ${group}, model: fix}]`,
      ...(traced ? [`  tracing: {endpoint: "${endpoint}"}`] : []),
    ].join('\n'));
    const proc = spawn(process.execPath, [join(packageRoot(), 'bin/clawpod.js'), 'serve', '-f', join(dir, 'serve.yaml'), '--listen', '127.0.0.1:0'], { env: { ...env, CLAWPOD_DATA_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
    // a bench that fails half-way leaves no control plane behind (SIGTERM: it closes its container)
    process.once('exit', () => proc.kill('SIGTERM'));
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    const served = join(dir, 'control', 'serve.json');
    for (let i = 0; !existsSync(served); i++) {
      if (proc.exitCode !== null || i > 600) throw new Error(`clawpod serve did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const { url } = JSON.parse(readFileSync(served, 'utf8')) as { url: string };
    const client = new ControlClient(url, readFileSync(join(dir, 'control', 'token'), 'utf8').trim());
    const stop = () => new Promise<void>((r) => { proc.once('exit', () => r()); proc.kill('SIGTERM'); });
    return { client, group, dir, stop, pid: proc.pid! };
  };
  const roundTrip = async (p: { client: ControlClient; group: string }): Promise<number> => {
    const t0 = performance.now();
    for await (const e of p.client.send(p.group, 'ping')) {
      if (e.type === 'failed') throw new Error(`a message failed during the bench: ${String(e.data.reason)}`);
      if (e.type === 'done') break;
    }
    return performance.now() - t0;
  };

  process.stderr.write('starting two control planes (tracing off, on) and warming their groups\n');
  const off = await start(false);
  const on = await start(true);
  for (const p of [off, on]) for (let i = 0; i < WARMUP; i++) await roundTrip(p);
  const times = { off: [] as number[], on: [] as number[] };
  const cpu0 = { off: cpuMs(off.pid), on: cpuMs(on.pid) };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    for (const k of order) times[k].push(await roundTrip(k === 'on' ? on : off));
  }
  const cpu = { off: (cpuMs(off.pid) - cpu0.off) / ROUNDS, on: (cpuMs(on.pid) - cpu0.on) / ROUNDS };
  for (const p of [off, on]) await p.stop();
  await model.close();
  await new Promise<void>((r) => sink.server.close(() => r()));
  for (const p of [off, on]) rmSync(p.dir, { recursive: true, force: true });

  const row = (label: string, xs: number[]) => console.log(`   ${label.padEnd(12)} p50 ${f(pct(xs, 50))}   p95 ${f(pct(xs, 95))}   mean ${f(xs.reduce((a, b) => a + b, 0) / xs.length)}`);
  console.log(`tracing overhead per message, ${ROUNDS} interleaved rounds (ms): POST + SSE to done, warm group, model answers at once`);
  row('tracing off', times.off);
  row('tracing on', times.on);
  console.log(`   ratio on/off p50 ${(pct(times.on, 50) / pct(times.off, 50)).toFixed(3)}   p95 ${(pct(times.on, 95) / pct(times.off, 95)).toFixed(3)}   (goal: <= 1.05)`);
  console.log(`   CPU of the clawpod serve process per message: off ${cpu.off.toFixed(2)} ms, on ${cpu.on.toFixed(2)} ms (+${(cpu.on - cpu.off).toFixed(2)})`);
  if (endpoint === sink.url) console.log(`   exported: ${sink.requests()} OTLP requests, ${(sink.bytes() / 1024).toFixed(0)} KiB (${(sink.bytes() / (ROUNDS + WARMUP)).toFixed(0)} bytes per message)`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
