// Channels: a platform's webhook is the one route that takes no clawpod token, so it is attacked
// here the way a stranger on the internet would: no token on every other route (and path tricks
// that would turn the hook's exemption into one for them), forged and replayed signatures on the
// webhook and Slack channels, a retried or duplicated delivery, an unbound chat, the bot's own
// messages. Each refusal is a 401 with nothing queued and a channel_rejected event. In-process
// daemon and API on a real SQLite store and a real HTTP listener; the engine socket does not exist,
// so queued messages stay queued and can be counted.
import { serve, type ServerType } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelRouter } from '../../src/channels/router.js';
import { ChannelSchema } from '../../src/channels/schema.js';
import { createSlack } from '../../src/channels/slack.js';
import { rejectedNotes } from '../../src/channels/serve.js';
import { ChannelStore } from '../../src/channels/store.js';
import { createWebhook, signWebhook } from '../../src/channels/webhook.js';
import { loadConfig } from '../../src/config.js';
import { buildApi, OPENAPI_PATH } from '../../src/control/api.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { Daemon } from '../../src/control/daemon.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { Store } from '../../src/control/store.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';

const ADMIN = 'admin-token-channels-0123456789';
const HOOK_SECRET = 'webhook-secret-abcdef';
const SLACK_SECRET = 'slack-secret-abcdef';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-channels-sec-'));
let store: Store;
let daemon: Daemon;
let router: ChannelRouter;
let server: ServerType;
let base = '';
let slack: SlackServer;
let receiver: Server;
const answers: { chat: string; text?: string }[] = [];

beforeAll(async () => {
  slack = await startSlackServer();
  receiver = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => { answers.push(JSON.parse(b) as { chat: string; text?: string }); res.writeHead(200).end(); });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const config = loadConfig({ HOME: dir, PATH: process.env.PATH ?? '' });
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'team', model: 'm' }] },
  });
  store = new Store(join(dir, 'state.db'));
  const rt = new PodmanDriver('unix:///nonexistent/podman.sock', '/nonexistent/podman.sock');
  daemon = new Daemon({ config, cp, cpDir: dir, rt, agent: defaultSessionAgent(), store, gatewayDir: join(dir, 'gw'), say: () => undefined });
  for (const g of cp.spec.groups) store.upsertGroup(g.name, g.model, null);
  const channels = new ChannelStore(store.db);
  channels.bind('hook', 'room-1', 'team', 'file');
  channels.bind('sl', 'C0TEAM', 'team', 'file');
  // what clawpod serve wires (src/channels/serve.ts): at most one event per channel every 10 s
  const rejected = (name: string) => rejectedNotes(name, () => daemon);
  const say = () => undefined;
  router = new ChannelRouter({
    daemon, store, channels, say,
    adapters: [
      { adapter: createWebhook({ name: 'hook', signingSecret: HOOK_SECRET, callbackUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, say, onRejected: rejected('hook') }),
        spec: ChannelSchema.parse({ name: 'hook', kind: 'webhook', signingSecret: { secretRef: { name: 'X' } } }) },
      { adapter: createSlack({ name: 'sl', token: slack.botToken, signingSecret: SLACK_SECRET, apiRoot: slack.apiRoot, say, onRejected: rejected('sl') }),
        spec: ChannelSchema.parse({ name: 'sl', kind: 'slack', token: { secretRef: { name: 'T' } }, signingSecret: { secretRef: { name: 'S' } } }) },
    ],
  });
  await router.start();
  const app = buildApi(daemon, store, ADMIN, { channels: { router, channels } });
  server = await new Promise<ServerType>((res) => { const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => res(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await router?.stop();
  await daemon?.stop();
  await new Promise((r) => server?.close(r));
  await new Promise((r) => receiver?.close(r));
  await slack?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const messages = () => store.messages('team', 1000);
const rejections = (channel: string) => store.db.prepare("SELECT data FROM events WHERE type = 'channel_rejected'").all()
  .map((r) => JSON.parse((r as { data: string }).data) as { channel: string; why: string }).filter((e) => e.channel === channel);

function hook(body: object, o: { secret?: string; ts?: number; path?: string } = {}) {
  const raw = JSON.stringify(body);
  const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
  return fetch(`${base}${o.path ?? '/v1/channels/hook/hook'}`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-clawpod-timestamp': ts, 'x-clawpod-signature': signWebhook(o.secret ?? HOOK_SECRET, ts, raw) } });
}

describe('C1 the webhook exemption is the hook and nothing else', () => {
  it('every other route of the OpenAPI document answers 401 without a token', async () => {
    const doc = await (await fetch(`${base}${OPENAPI_PATH}`)).json() as { paths: Record<string, Record<string, unknown>> };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (path === '/v1/channels/{name}/hook') continue;
        const url = path.replace(/\{[^}]+\}/g, 'x');
        const r = await fetch(`${base}${url}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }) });
        expect(r.status, `${method.toUpperCase()} ${path}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('path tricks around /hook do not reach another route without a token', async () => {
    const tricks = [
      '/v1/channels/hook/hook/../../../groups/team/messages',
      '/v1/channels/hook/hook/%2e%2e/%2e%2e/%2e%2e/groups/team/messages',
      '/v1/channels/hook/hook/',
      '/v1//channels/hook/hook',
      '/v1/channels/hook%2Fhook/../../groups/team/messages',
      '/v1/groups/team/messages?x=/v1/channels/hook/hook',
      '/v1/groups/team/messages#/v1/channels/hook/hook',
    ];
    for (const t of tricks) {
      const r = await fetch(`${base}${t}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'sneaked in' }) });
      // the stranger gets a refusal (401), a missing route (404) or bad input; never a queued message
      expect([400, 401, 404], t).toContain(r.status);
    }
    expect(messages().filter((m) => m.text === 'sneaked in')).toHaveLength(0);
  });
});

describe('C2 the signed webhook channel', () => {
  it('a forged signature, a stale or future timestamp, a missing header: 401, nothing queued, an event each', async () => {
    const before = messages().length;
    const now = Math.floor(Date.now() / 1000);
    expect((await hook({ id: 'f1', chat: 'room-1', text: 'forged' }, { secret: 'guessed' })).status).toBe(401);
    expect((await hook({ id: 'f2', chat: 'room-1', text: 'stale' }, { ts: now - 301 })).status).toBe(401);
    expect((await hook({ id: 'f3', chat: 'room-1', text: 'future' }, { ts: now + 301 })).status).toBe(401);
    const bare = await fetch(`${base}/v1/channels/hook/hook`, { method: 'POST', body: JSON.stringify({ id: 'f4', chat: 'room-1', text: 'bare' }), headers: { 'content-type': 'application/json' } });
    expect(bare.status).toBe(401);
    // a body swapped under a captured signature
    const raw = JSON.stringify({ id: 'f5', chat: 'room-1', text: 'original' });
    const ts = String(now);
    const swapped = await fetch(`${base}/v1/channels/hook/hook`, { method: 'POST', body: JSON.stringify({ id: 'f5', chat: 'room-1', text: 'swapped' }), headers: { 'content-type': 'application/json', 'x-clawpod-timestamp': ts, 'x-clawpod-signature': signWebhook(HOOK_SECRET, ts, raw) } });
    expect(swapped.status).toBe(401);
    expect(messages().length).toBe(before);
    // recorded, but at most one event per 10 s per channel (with how many were refused): forgeries do not grow the store
    expect(rejections('hook')).toHaveLength(1);
    expect(JSON.stringify(rejections('hook'))).not.toContain(HOOK_SECRET);
  });

  it('a good request is queued once, however often it is delivered; an unbound chat is answered politely and queues nothing', async () => {
    const body = { id: 'ok-1', chat: 'room-1', text: 'deliver me once' };
    const [a, b, c] = await Promise.all([hook(body), hook(body), hook(body)]);
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(messages().filter((m) => m.text === 'deliver me once')).toHaveLength(1);
    expect((await hook({ id: 'ok-2', chat: 'room-999', text: 'let me in' })).status).toBe(202);
    await expect.poll(() => answers.find((x) => x.chat === 'room-999')?.text ?? '').toContain('not connected to an agent');
    expect(messages().filter((m) => m.text === 'let me in')).toHaveLength(0);
  });
});

describe('C4 floods and oversized bodies from strangers', () => {
  it('a chunked body past the cap is refused (413) as it arrives, before any signature work, on both hooks', async () => {
    for (const path of ['/v1/channels/hook/hook', '/v1/channels/sl/hook']) {
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) { if (sent >= 64) { c.close(); return; } sent++; c.enqueue(chunk); },
      });
      const r = await fetch(`${base}${path}`, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit).catch((e: Error) => e);
      // the server may answer and close while the client is still sending: either way it did not take 64 MiB
      if (!(r instanceof Error)) expect(r.status, path).toBe(413);
      expect(sent, path).toBeLessThan(64);
    }
  });

  it('a stranger writing from an unbound chat is answered and recorded once a window, and leaves no rows', async () => {
    const inbox = () => (store.db.prepare('SELECT COUNT(*) AS n FROM channel_inbox').get() as { n: number }).n;
    const before = inbox();
    const answersBefore = answers.filter((a) => a.chat === 'stranger').length;
    for (let i = 0; i < 30; i++) expect((await hook({ id: `s-${i}`, chat: 'stranger', text: `knock ${i}` })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(answers.filter((a) => a.chat === 'stranger').length - answersBefore).toBe(1);
    const events = store.db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'channel_unbound' AND json_extract(data, '$.chat') = 'stranger'").get() as { n: number };
    expect(events.n).toBe(1);
    expect(inbox()).toBe(before);
  });

  it('commands count toward a chat\'s rate limit: a burst of /status is cut off like any other', async () => {
    const from = answers.length;
    for (let i = 0; i < 30; i++) await hook({ id: `cmd-${i}`, chat: 'room-1', text: '/status' });
    await new Promise((r) => setTimeout(r, 300));
    const got = answers.slice(from).filter((a) => a.chat === 'room-1');
    expect(got.filter((a) => a.text?.startsWith('Group team')).length).toBeLessThanOrEqual(20);
    expect(got.filter((a) => a.text?.startsWith('Slow down a little'))).toHaveLength(1);
  });
});

describe('C5 a deleted group takes its bindings with it', () => {
  it('a chat bound to a deleted group does not reach a later group of the same name', () => {
    store.upsertGroup('short-lived', 'm', null);
    const channels = new ChannelStore(store.db);
    channels.bind('hook', 'room-7', 'short-lived', 'api');
    store.deleteGroup('short-lived');
    store.upsertGroup('short-lived', 'm', null);
    expect(channels.binding('hook', 'room-7')).toBeUndefined();
  });
});

describe('C3 the Slack channel', () => {
  const hookUrl = () => `${base}/v1/channels/sl/hook`;
  const event = (text: string, ts: string, extra: object = {}) => ({ type: 'message', channel: 'C0TEAM', channel_type: 'channel', user: 'U0EVE', text, ts, ...extra });

  it('a forged or stale signature: 401, nothing queued, an event', async () => {
    const before = messages().length;
    expect((await slack.postEvent(hookUrl(), event('forged', '1700000001.000100'), { signingSecret: SLACK_SECRET, forge: true })).status).toBe(401);
    expect((await slack.postEvent(hookUrl(), event('stale', '1700000002.000100'), { signingSecret: SLACK_SECRET, stale: true })).status).toBe(401);
    expect(messages().length).toBe(before);
    expect(rejections('sl')).toHaveLength(1);
  });

  it('a retried event is one message; the bot\'s own message is none', async () => {
    for (const retryNum of [0, 1, 2]) {
      const r = await slack.postEvent(hookUrl(), event('once only', '1700000003.000100'), { signingSecret: SLACK_SECRET, eventId: `EvRetry${retryNum}`, ...(retryNum ? { retryNum } : {}) });
      expect(r.status).toBe(200);
    }
    expect(messages().filter((m) => m.text === 'once only')).toHaveLength(1);
    const own = await slack.postEvent(hookUrl(), event('echo of myself', '1700000004.000100', { bot_id: slack.botId, user: slack.botUserId }), { signingSecret: SLACK_SECRET });
    expect(own.status).toBe(200);
    expect(messages().filter((m) => m.text === 'echo of myself')).toHaveLength(0);
  });

  it('no token or secret in what the API shows of the channels', async () => {
    const r = await fetch(`${base}/v1/channels`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await r.text();
    expect(r.status).toBe(200);
    for (const s of [slack.botToken, SLACK_SECRET, HOOK_SECRET]) expect(text).not.toContain(s);
  });
});
