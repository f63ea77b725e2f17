// Benchmarks of the control plane (issue 3), on real Podman with the reference runner and the
// scripted model server answering instantly:
//  1. follow-up delivery into a running container, per path (watched folder, attach stdin, poll):
//     host write → the runner's `start` frame back on the host; p50/p99 (goal p99 ≤ 10 ms);
//  2. control-plane overhead per message: POST + SSE until `done` through `clawpod serve`, vs
//     the same follow-up handed straight to a session; interleaved (goal ≤ 5 ms p50 beyond);
//  3. 100 messages across 10 groups with a limit of 5: wall time vs the ideal.
//     npm run bench:control      (ROUNDS=50 by default)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { ControlClient } from '../src/control/client.js';
import { ControlPlaneSchema } from '../src/control/config.js';
import { defaultSessionAgent, startControlPlane } from '../src/control/server.js';
import { Session, type FollowupMode } from '../src/control/session.js';
import type { RunnerEvent } from '../src/agent/protocol.js';
import { startModelServer } from '../test/fixtures/model-server.js';
import { pct } from './common.js';

const ROUNDS = Number(process.env.ROUNDS ?? 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (n: number) => n.toFixed(2).padStart(7);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clawpod-bench-cp-'));
  const config = loadConfig({ ...process.env, CLAWPOD_DATA_DIR: dataDir });
  const rt = await connectRuntime(config);
  const model = await startModelServer(async (req) => {
    const text = [...req.messages].reverse().find((m) => m.role === 'user' && m.text)?.text.split('\n\n').at(-1) ?? '';
    const slow = /^slow:(\d+)/.exec(text);
    if (slow) await sleep(Number(slow[1]));
    return { text: 'ok' };
  });
  const modelConfig = { provider: 'openai' as const, model: 'bench', baseUrl: model.baseUrl('openai', 'container'), apiKey: 'bench-key' };

  // --- 1 and the raw side of 2: sessions driven directly -----------------------------------
  const waiters = new Map<string, { type: RunnerEvent['type']; resolve: (t: number) => void }[]>();
  const waitEvent = (messageId: string, type: RunnerEvent['type']) => new Promise<number>((resolve) => {
    const list = waiters.get(messageId) ?? [];
    list.push({ type, resolve });
    waiters.set(messageId, list);
  });
  const hooks = {
    onEvent: (_s: Session, e: RunnerEvent) => {
      const t = performance.now();
      // a figure measured on failing calls would be meaningless
      if (e.type === 'error') throw new Error(`the runner reported an error during the bench: ${e.message}`);
      if (!('messageId' in e) || !e.messageId) return;
      for (const w of waiters.get(e.messageId) ?? []) if (w.type === e.type) w.resolve(t);
    },
    onBadOutput: () => undefined,
    onExpired: () => undefined,
    onExit: () => undefined,
  };
  // the raw baseline calls the model directly (over Podman's bridge); the control plane's sessions
  // have no network and go through its LLM gateway, whose hop is part of the overhead measured
  const base = defaultSessionAgent();
  const agent = { ...base, agent: { ...base.agent, spec: { ...base.agent.spec, network: 'bridge' as const } } };
  const modes: FollowupMode[] = ['dir', 'stdin', 'poll'];
  const sessions = new Map<FollowupMode, Session>();
  let n = 0;
  const mid = () => `m_bench_${++n}`;
  process.stderr.write('starting one session container per follow-up path\n');
  for (const mode of modes) {
    const s = new Session(rt, config, {
      id: `s_bench_${mode}`, group: `bench-${mode}`, controlId: 'bench', agent, model: modelConfig, system: undefined,
      followups: mode, maxTurns: 4, ipcRoot: join(dataDir, 'ipc'), idleTimeoutMs: 3_600_000, deadlineMs: 3_600_000, graceMs: 2000,
      // the raw baseline talks to the model directly; the folder stays empty
      gatewayDir: mkdtempSync(join(dataDir, 'gw-')),
    }, hooks);
    const first = mid();
    const end = waitEvent(first, 'end');
    await s.start({ id: first, text: 'warm up' });
    await end;
    sessions.set(mode, s);
  }
  const deliveredToStart = new Map<FollowupMode, number[]>(modes.map((m) => [m, []]));
  const rawRoundTrip: number[] = [];
  const roundTrip = async (s: Session): Promise<{ start: number; end: number }> => {
    const id = mid();
    const start = waitEvent(id, 'start');
    const end = waitEvent(id, 'end');
    const t0 = performance.now();
    s.deliver({ id, text: 'ping' });
    return { start: (await start) - t0, end: (await end) - t0 };
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of [...modes.slice(i % 3), ...modes.slice(0, i % 3)]) {
      const r = await roundTrip(sessions.get(mode)!);
      deliveredToStart.get(mode)!.push(r.start);
    }
  }

  // --- 2: through the control plane vs straight to a session, interleaved -------------------
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { maxConcurrent: 5, listen: '127.0.0.1:0', models: { fix: { provider: 'openai', model: 'bench', baseUrl: model.baseUrl('openai') } }, groups: [{ name: 'bench-api', model: 'fix' }, ...Array.from({ length: 10 }, (_, i) => ({ name: `bench-g${i}`, model: 'fix' }))] },
  });
  const plane = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
  const token = (await import('node:fs')).readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  const client = new ControlClient(plane.url, token);
  const viaApi = async (group: string, text: string): Promise<number> => {
    const t0 = performance.now();
    for await (const e of client.send(group, text)) {
      if (e.type === 'failed') throw new Error(`a message failed during the bench: ${String(e.data.reason)}`);
      if (e.type === 'done') break;
    }
    return performance.now() - t0;
  };
  process.stderr.write('warming up the control plane\n');
  const coldStart = await viaApi('bench-api', 'warm up');
  const api: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) { api.push(await viaApi('bench-api', 'ping')); rawRoundTrip.push((await roundTrip(sessions.get('dir')!)).end); }
    else { rawRoundTrip.push((await roundTrip(sessions.get('dir')!)).end); api.push(await viaApi('bench-api', 'ping')); }
  }
  for (const s of sessions.values()) await s.close('bench done');

  // --- 3: 100 messages, 10 groups, limit 5 --------------------------------------------------
  const D = 100;
  process.stderr.write(`100 messages (model answers after ${D} ms) across 10 groups, at most 5 containers\n`);
  await plane.daemon.stop().catch(() => undefined); // close bench-api's container: all 5 slots free
  await plane.stop();
  const plane2 = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
  const client2 = new ControlClient(plane2.url, token);
  const t0 = performance.now();
  const ids: string[] = [];
  for (let k = 0; k < 10; k++) for (let g = 0; g < 10; g++) ids.push((await client2.call<{ id: string }>('POST', `/v1/groups/bench-g${g}/messages`, { text: `slow:${D}` })).id);
  for (const id of ids) {
    for await (const e of client2.events(id)) {
      if (e.type === 'failed') throw new Error(`a message failed during the bench: ${String(e.data.reason)}`);
      if (e.type === 'done') break;
    }
  }
  const wall = performance.now() - t0;
  await plane2.stop();
  await model.close();
  rmSync(dataDir, { recursive: true, force: true });

  const perMessage = pct(rawRoundTrip, 50) + D;
  const startCost = coldStart - pct(rawRoundTrip, 50);
  const ideal = (10 * (startCost + 10 * perMessage)) / 5;
  console.log(`control plane benchmarks, ${ROUNDS} rounds each (ms)`);
  console.log('1. follow-up delivery, host write → runner start frame seen on the host');
  for (const m of modes) console.log(`   ${m.padEnd(6)} p50 ${f(pct(deliveredToStart.get(m)!, 50))}   p99 ${f(pct(deliveredToStart.get(m)!, 99))}   (goal: p99 <= 10)`);
  console.log('2. one message, model answers at once');
  console.log(`   through the API (POST + SSE to done)   p50 ${f(pct(api, 50))}   p95 ${f(pct(api, 95))}`);
  console.log(`   straight to the session (deliver→end)  p50 ${f(pct(rawRoundTrip, 50))}   p95 ${f(pct(rawRoundTrip, 95))}`);
  console.log(`   control-plane overhead                 p50 ${f(pct(api, 50) - pct(rawRoundTrip, 50))}   (goal: <= 5)`);
  console.log(`3. 100 messages, 10 groups, limit 5: wall ${wall.toFixed(0)} ms; ideal ${ideal.toFixed(0)} ms`);
  console.log(`   (ideal = 10 groups × (container start ${startCost.toFixed(0)} + 10 × ${perMessage.toFixed(0)} per message) / 5 slots); ratio ${(wall / ideal).toFixed(2)}`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
