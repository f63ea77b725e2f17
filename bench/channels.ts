// Chat channels (issue 16), on real Podman with the reference runner, the scripted model server and
// the scripted Telegram Bot API server (test/helpers/telegram-server.ts) that the real adapter
// long-polls, in one process with `clawpod serve`'s control plane:
//  1. latency — a warm group bound to a Telegram chat; each round, in alternating order: (a) POST
//     /v1/groups/G/messages with Accept: text/event-stream until its first `text` event, and (b) a
//     user's message in the chat until the scripted server receives the sendMessage carrying the
//     first words of the answer. Overhead = b − a per pair (goal: p50 ≤ 50 ms). The model answers
//     in a few chunks CHUNK_MS apart, so its own time to first token is CHUNK_MS.
//  2. burst — CHATS chats × PER_CHAT messages through the Telegram adapter, limit 5 containers,
//     each chat bound to its own group, all sent at once; wall time until every chat shows every
//     answer, each exactly once. The ideal: the same messages posted straight to the HTTP API (one
//     sender per group, all at once) until every one is `done`, measured in the same run.
//     npm run bench:channels      (ROUNDS=30 PARTS=latency,burst CHATS=100 PER_CHAT=10 CHUNK_MS=50 ORDER=api,tg[,direct])
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { ControlClient } from '../src/control/client.js';
import { ControlPlaneSchema } from '../src/control/config.js';
import { startControlPlane, type Running } from '../src/control/server.js';
import type { EventRow } from '../src/control/store.js';
import { startModelServer, type ScriptRequest } from '../test/fixtures/model-server.js';
import { startTelegramServer, type TelegramServer } from '../test/helpers/telegram-server.js';
import { pct } from './common.js';

const ROUNDS = Number(process.env.ROUNDS ?? 30);
const PARTS = (process.env.PARTS ?? 'latency,burst').split(',');
const CHATS = Number(process.env.CHATS ?? 100);
const PER_CHAT = Number(process.env.PER_CHAT ?? 10);
const CHUNK_MS = Number(process.env.CHUNK_MS ?? 50);
/** Which side of the burst goes first (each runs once: swap it in a second run). */
const ORDER = (process.env.ORDER ?? 'api,tg').split(',');
const LIMIT = 5;
/** Every group (and so every container, clawpod-grp-PREFIX…) this run makes starts with this. */
const P = `bch${process.pid.toString(36)}`;
const TOKEN_ENV = 'BENCH_TG_TOKEN';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (n: number) => n.toFixed(1).padStart(7);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

/** The user's text the model is answering (memory may put earlier turns before it). */
const asked = (req: ScriptRequest) => ([...req.messages].reverse().find((m) => m.role === 'user' && m.text)?.text ?? '').split('\n\n').at(-1) ?? '';

async function main(): Promise<void> {
  const tg = await startTelegramServer();
  /** When the model server got the request for each text (performance.now(), same process). */
  const modelIn = new Map<string, number>();
  const model = await startModelServer(async (req) => {
    const text = asked(req);
    modelIn.set(text, performance.now());
    // latency rounds answer in chunks; the burst's echo at once
    return text.startsWith('lat ') ? { text: `answer to ${text}: one two three four five six`, chunkDelayMs: CHUNK_MS } : { text: `echo: ${text}` };
  });
  const dirs: string[] = [];
  const planes: Running[] = [];
  const plane = async (groups: string[], bindings: { chat: string; group: string }[], rateMessages: number) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'clawpod-bench-ch-'));
    dirs.push(dataDir);
    const config = loadConfig({ ...process.env, CLAWPOD_DATA_DIR: dataDir, [TOKEN_ENV]: tg.token });
    const rt = await connectRuntime(config);
    const cp = ControlPlaneSchema.parse({
      apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
      spec: {
        maxConcurrent: LIMIT, listen: '127.0.0.1:0', session: { idleTimeout: '1h' },
        models: { fix: { provider: 'openai', model: 'bench', baseUrl: model.baseUrl('openai') } },
        groups: groups.map((name) => ({ name, model: 'fix' })),
        channels: [{ name: 'tg', kind: 'telegram', token: { source: 'env', secretRef: { name: TOKEN_ENV } }, apiRoot: tg.url, rateLimit: { messages: rateMessages, per: '1m' } }],
        bindings: bindings.map((b) => ({ channel: 'tg', ...b })),
      },
    });
    const p = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
    planes.push(p);
    const client = new ControlClient(p.url, readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim());
    return { p, client };
  };
  const stopAll = async () => { for (const p of planes.splice(0)) await p.stop().catch(() => undefined); };
  const cleanup = async () => {
    await stopAll();
    removeContainers();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  process.once('SIGINT', () => { void cleanup().finally(() => process.exit(130)); });
  process.stderr.write(`containers on the host before: ${podmanNames().length}; load ${load()}\n`);
  try {
    if (PARTS.includes('latency')) await latency(tg, modelIn, plane);
    await stopAll();
    if (PARTS.includes('burst')) await burst(tg, plane, stopAll);
  } finally {
    await cleanup();
    await tg.close();
    await model.close();
    process.stderr.write(`containers on the host after: ${podmanNames().length}\n`);
  }
}

type PlaneOf = (groups: string[], bindings: { chat: string; group: string }[], rateMessages: number) => Promise<{ p: Running; client: ControlClient }>;

async function latency(tg: TelegramServer, modelIn: Map<string, number>, plane: PlaneOf): Promise<void> {
  const group = `${P}-lat`;
  const chat = '-1007000';
  // the flood limit is not what is measured here: ROUNDS messages within a minute must pass
  const { client } = await plane([group], [{ chat, group }], 10_000);
  const full = (text: string) => `answer to ${text}: one two three four five six`;

  const viaApi = async (text: string) => {
    const t0 = performance.now();
    let first: number | undefined;
    for await (const e of client.send(group, text)) {
      if (e.type === 'failed') throw new Error(`a message failed during the bench: ${String(e.data.reason)}`);
      if (e.type === 'text' && first === undefined) first = performance.now();
      if (e.type === 'done') break;
    }
    if (first === undefined) throw new Error(`no text event for "${text}"`);
    return { first: first - t0, modelIn: modelIn.get(text)! - t0 };
  };
  const viaChat = async (text: string) => {
    const from = tg.calls.length;
    const t0 = performance.now();
    tg.userSends(chat, text);
    // the first sendMessage to this chat after t0 is this answer's (the previous one is complete)
    const call = await tg.waitFor(() => tg.calls.slice(from).find((c) => c.method === 'sendMessage' && String(c.params.chat_id) === chat), 60_000);
    const first = performance.now() - t0;
    if (!full(text).startsWith(String(call.params.text))) throw new Error(`the first message to the chat was "${String(call.params.text)}", not the start of the answer to "${text}"`);
    // the next round starts once this answer is whole
    await tg.waitFor(() => tg.messages(chat).some((m) => m.text === full(text)), 60_000);
    return { first, modelIn: modelIn.get(text)! - t0 };
  };

  process.stderr.write(`latency: warming ${group} (one message through the chat, one through the API); load ${load()}\n`);
  await viaChat('lat warm chat');
  await viaApi('lat warm api');
  const a: { first: number; modelIn: number }[] = [];
  const b: { first: number; modelIn: number }[] = [];
  const over: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const tag = `lat r${String(i).padStart(3, '0')}`;
    let ra, rb;
    if (i % 2 === 0) { ra = await viaApi(`${tag} api`); rb = await viaChat(`${tag} chat`); } else { rb = await viaChat(`${tag} chat`); ra = await viaApi(`${tag} api`); }
    a.push(ra); b.push(rb); over.push(rb.first - ra.first);
  }
  const line = (name: string, xs: number[]) => console.log(`   ${name.padEnd(60)} p50 ${f(pct(xs, 50))}   p95 ${f(pct(xs, 95))}`);
  console.log(`1. message in → first streamed words out, warm group, ${ROUNDS} rounds interleaved (ms); model's own time to first token ${CHUNK_MS} ms (scripted); load now ${load()}`);
  line('(a) API: POST (event stream) → first `text` event', a.map((x) => x.first));
  line('(b) Telegram: user sends → sendMessage with the first words', b.map((x) => x.first));
  line('channel overhead b − a, per pair (goal: p50 <= 50)', over);
  line('    (a) in: POST → the model server has the request', a.map((x) => x.modelIn));
  line('    (b) in: user sends → the model server has the request', b.map((x) => x.modelIn));
  line('    (a) out: model request → first `text` event', a.map((x) => x.first - x.modelIn));
  line('    (b) out: model request → sendMessage received', b.map((x) => x.first - x.modelIn));
}

async function burst(tg: TelegramServer, plane: PlaneOf, stopAll: () => Promise<void>): Promise<void> {
  const groups = (side: string) => Array.from({ length: CHATS }, (_, i) => `${P}-${side}${i}`);
  const text = (i: number, k: number) => `burst c${i} m${k}`;
  const chatOf = (i: number) => String(-1008000000 - i);
  process.stderr.write(`containers on the host before the burst: ${podmanNames().length}\n`);

  // --- the ideal: straight through the HTTP API (or, `direct`, the daemon's own submit) ------
  const runApi = async (how: 'api' | 'direct') => {
    process.stderr.write(`burst, ${how}: ${CHATS} groups × ${PER_CHAT} messages, limit ${LIMIT}; load ${load()}\n`);
    const side = how === 'api' ? 'a' : 'd';
    const { p, client } = await plane(groups(side), [], 20);
    const ended = new Map<string, { at: number; count: number; type: string }>();
    const said = new Map<string, string>();
    p.daemon.bus.on('event', (e: EventRow) => {
      if (!e.message_id) return;
      if (e.type === 'text') said.set(e.message_id, (said.get(e.message_id) ?? '') + String((JSON.parse(e.data) as { delta?: string }).delta ?? ''));
      if (e.type === 'delivered') said.set(e.message_id, ''); // a retried attempt starts its text again
      if (e.type !== 'done' && e.type !== 'failed') return;
      const prev = ended.get(e.message_id);
      ended.set(e.message_id, { at: performance.now(), count: (prev?.count ?? 0) + 1, type: e.type });
    });
    const sent = new Map<string, string>();
    const t0 = performance.now();
    if (how === 'api') {
      // one sender per group, its messages in order, all groups at once (as the chats send)
      await Promise.all(groups(side).map(async (g, i) => {
        for (let k = 0; k < PER_CHAT; k++) sent.set((await client.call<{ id: string }>('POST', `/v1/groups/${g}/messages`, { text: text(i, k) })).id, text(i, k));
      }));
    } else {
      // no HTTP and no channel: what the queue and the containers alone take
      for (let k = 0; k < PER_CHAT; k++) groups(side).forEach((g, i) => sent.set(p.daemon.submit(g, text(i, k)).id, text(i, k)));
    }
    const submitted = performance.now() - t0;
    while ([...sent.keys()].some((id) => !ended.has(id))) {
      if (performance.now() - t0 > 600_000) throw new Error(`API burst: ${[...sent.keys()].filter((id) => !ended.has(id)).length} messages unanswered after 10 minutes`);
      await sleep(20);
    }
    const wall = Math.max(...[...ended.values()].map((e) => e.at)) - t0;
    await sleep(1500); // a duplicate would come late
    const failed = [...ended.values()].filter((e) => e.type !== 'done').length;
    const dup = [...ended.values()].filter((e) => e.count > 1).length;
    const wrong = [...sent].filter(([id, t]) => said.get(id) !== `echo: ${t}`).length;
    await stopAll();
    return { wall, submitted, failed, dup, wrong, lost: 0 };
  };

  // --- ours: through the Telegram adapter -----------------------------------------------------
  const runChat = async () => {
    process.stderr.write(`burst, Telegram: ${CHATS} chats × ${PER_CHAT} messages, limit ${LIMIT}; load ${load()}\n`);
    await plane(groups('t'), groups('t').map((group, i) => ({ chat: chatOf(i), group })), 20);
    const want = (i: number) => Array.from({ length: PER_CHAT }, (_, k) => `echo: ${text(i, k)}`);
    const complete = (i: number) => { const shown = new Set(tg.messages(chatOf(i)).map((m) => m.text)); return want(i).every((w) => shown.has(w)); };
    const t0 = performance.now();
    for (let k = 0; k < PER_CHAT; k++) for (let i = 0; i < CHATS; i++) tg.userSends(chatOf(i), text(i, k));
    const done = new Set<number>();
    let submitted = NaN;
    while (done.size < CHATS) {
      if (Number.isNaN(submitted) && tg.pending() === 0) submitted = performance.now() - t0;
      for (let i = 0; i < CHATS; i++) if (!done.has(i) && complete(i)) done.add(i);
      if (done.size === CHATS) break;
      if (performance.now() - t0 > 600_000) throw new Error(`Telegram burst: ${CHATS - done.size} chats incomplete after 10 minutes`);
      await sleep(10);
    }
    const wall = performance.now() - t0;
    await sleep(1500); // a duplicate would come late
    let lost = 0; let dup = 0; let wrong = 0;
    for (let i = 0; i < CHATS; i++) {
      const shown = tg.messages(chatOf(i)).map((m) => m.text ?? '');
      for (const w of want(i)) { const n = shown.filter((s) => s === w).length; if (n === 0) lost++; if (n > 1) dup += n - 1; }
      wrong += shown.filter((s) => !want(i).includes(s)).length;
    }
    if (tg.pending() !== 0) throw new Error(`Telegram burst: ${tg.pending()} updates never confirmed`);
    await stopAll();
    return { wall, submitted, failed: 0, dup, wrong, lost };
  };
  const results: Record<string, Awaited<ReturnType<typeof runApi>>> = {};
  for (const side of ORDER) results[side] = side === 'tg' ? await runChat() : await runApi(side === 'direct' ? 'direct' : 'api');
  const api = results.api!;
  const chat = results.tg!;

  const row = (name: string, r: typeof api) => console.log(`   ${name.padEnd(46)} wall ${(r.wall / 1000).toFixed(1).padStart(6)} s (all submitted/stored after ${(r.submitted / 1000).toFixed(1)} s)   lost ${r.lost}  duplicated ${r.dup}  failed ${r.failed}  other/wrong texts ${r.wrong}`);
  console.log(`2. ${CHATS} chats × ${PER_CHAT} messages, limit ${LIMIT}, model answers at once, order ${ORDER.join(' then ')}; load now ${load()}`);
  row('ideal: the same, straight to the HTTP API', api);
  row('through the Telegram adapter (long polling)', chat);
  console.log(`   ratio Telegram / ideal ${(chat.wall / api.wall).toFixed(2)}`);
  const direct = results.direct;
  if (direct) {
    row('the daemon alone (submit in-process, no HTTP)', direct);
    console.log(`   ratio Telegram / daemon alone ${(chat.wall / direct.wall).toFixed(2)}; HTTP API / daemon alone ${(api.wall / direct.wall).toFixed(2)}`);
  }
}

function podmanNames(): string[] {
  return execFileSync('podman', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Whatever this run left (a failure, a session still closing when the plane stopped). */
function removeContainers(): void {
  const mine = podmanNames().filter((n) => n.startsWith(`clawpod-grp-${P}`));
  if (mine.length) execFileSync('podman', ['rm', '-f', ...mine], { stdio: 'ignore' });
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
