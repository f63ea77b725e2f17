// Queue throughput under churn (issue 15): messages posted through the HTTP API of a real
// `clawpod serve` on real Podman, the scripted model answering at once, the default limit of 5
// containers. For each load — 100 messages to 1 group, 200 over 20 groups, 1,000 over 50 — the
// wall time from the first POST to the last `done`, per-message latency p50/p99, and the ratio to
// the ideal: ceil(groups / 5) container starts one after another, plus every message's own round
// trip shared over the 5 slots (both measured here first). Nothing may be lost or duplicated:
// every message ends `done` exactly once.
//     npm run bench:queue        (LOADS="1000x50" to run one load)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { ControlClient } from '../src/control/client.js';
import { ControlPlaneSchema } from '../src/control/config.js';
import { startControlPlane, type Running } from '../src/control/server.js';
import type { EventRow } from '../src/control/store.js';
import { startModelServer } from '../test/fixtures/model-server.js';
import { pct } from './common.js';

const LIMIT = 5;
const LOADS = (process.env.LOADS ?? '100x1,200x20,1000x50').split(',').map((l) => l.split('x').map(Number) as [number, number]);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clawpod-bench-queue-'));
  const config = loadConfig({ ...process.env, CLAWPOD_DATA_DIR: dataDir });
  const rt = await connectRuntime(config);
  const model = await startModelServer(async () => ({ text: 'ok' }));
  const groups = Math.max(...LOADS.map(([, g]) => g));
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { maxConcurrent: LIMIT, listen: '127.0.0.1:0', models: { fix: { provider: 'openai', model: 'bench', baseUrl: model.baseUrl('openai') } },
      groups: [{ name: 'calib', model: 'fix' }, ...Array.from({ length: groups }, (_, i) => ({ name: `q${i}`, model: 'fix' }))] },
  });
  const plane = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
  const token = readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  const client = new ControlClient(plane.url, token);
  const ended = new Map<string, { at: number; count: number; type: string }>();
  const waiting = new Map<string, () => void>();
  // every end of a message, counted (a second one would be a duplicate)
  const track = (p: Running) => p.daemon.bus.on('event', (e: EventRow) => {
    if ((e.type !== 'done' && e.type !== 'failed') || !e.message_id) return;
    const prev = ended.get(e.message_id);
    ended.set(e.message_id, { at: performance.now(), count: (prev?.count ?? 0) + 1, type: e.type });
    waiting.get(e.message_id)?.();
  });
  track(plane);
  const send = async (group: string) => (await client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text: 'ping' })).id;
  const answered = (id: string) => new Promise<void>((r) => { if (ended.has(id)) r(); else waiting.set(id, r); });

  // calibration: warm round trips in one container, then five containers started at once (the
  // ideal's "five at a time": on 2 cores five starts do not take the time of one)
  await answered(await send('calib'));
  const warm: number[] = [];
  for (let i = 0; i < 20; i++) { const t = performance.now(); await answered(await send('calib')); warm.push(performance.now() - t); }
  const perMessage = pct(warm, 50);
  await plane.stop(); // frees calib's slot
  const five = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
  const fiveClient = new ControlClient(five.url, token);
  track(five);
  const t5 = performance.now();
  await Promise.all(Array.from({ length: LIMIT }, async (_, i) => answered((await fiveClient.call<{ id: string }>('POST', `/v1/groups/q${i}/messages`, { text: 'ping' })).id)));
  const start = performance.now() - t5 - perMessage;
  await five.stop();
  console.log(`queue throughput, limit ${LIMIT}, model answers at once (ms)`);
  console.log(`  calibration: ${LIMIT} container starts at once ${start.toFixed(0)}, warm round trip p50 ${perMessage.toFixed(1)}`);

  for (const [n, g] of LOADS) {
    const p = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
    const c = new ControlClient(p.url, token);
    ended.clear();
    track(p);
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    // round-robin over the groups, as chats arrive: 20 senders at once, so the API's own pace
    // (a POST is a few ms) does not trickle them in
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const at = performance.now();
        sentAt.set((await c.call<{ id: string }>('POST', `/v1/groups/q${i % g}/messages`, { text: 'ping' })).id, at);
      }
    }));
    for (let i = 0; [...sentAt.keys()].some((id) => !ended.has(id)); i++) {
      if (performance.now() - t0 > 600_000) throw new Error(`${n}x${g}: not all answered after 10 minutes`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const wall = Math.max(...[...ended.values()].map((e) => e.at)) - t0;
    const lat = [...sentAt].map(([id, at]) => ended.get(id)!.at - at);
    const failed = [...ended.values()].filter((e) => e.type !== 'done').length;
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would come late
    const dup = [...ended.values()].filter((e) => e.count > 1).length;
    const ideal = Math.ceil(g / LIMIT) * start + (n * perMessage) / Math.min(LIMIT, g);
    console.log(`  ${String(n).padStart(5)} messages / ${String(g).padStart(2)} groups: wall ${wall.toFixed(0).padStart(6)}  ideal ${ideal.toFixed(0).padStart(6)}  ratio ${(wall / ideal).toFixed(2)}  latency p50 ${pct(lat, 50).toFixed(0)} p99 ${pct(lat, 99).toFixed(0)}  failed ${failed}  duplicated ${dup}`);
    await p.stop();
  }
  await model.close();
  if (process.env.KEEP) console.log(`  state kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
