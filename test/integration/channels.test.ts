// Chat channels end to end on real Podman: a Telegram group (the scripted Bot API server) and a
// signed webhook channel, each bound to its own group, hold conversations with their own agents,
// get answers streamed by edits, survive a daemon restart without losing a message, and get a
// scheduled message. Unbound chats, floods and forged webhooks get their polite answers and events.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, webhookProblem } from '../../src/channels/webhook.js';
import { startModelServer, type ModelServer, type ScriptRequest } from '../fixtures/model-server.js';
import { clawpod, podman } from '../helpers/cli.js';
import { lastUserText, planeYaml, scripted, startPlane, waitFor, type Plane } from '../helpers/control.js';
import { startTelegramServer, type TelegramServer } from '../helpers/telegram-server.js';
import { startSlackServer, type SlackServer } from '../helpers/slack-server.js';
import { createHmac } from 'node:crypto';

const G = `ch${process.pid.toString(36)}`;
const TG_CHAT = -1001234;
const FLOOD_CHAT = -1005555;
const SECRET = 'hook-secret-value-42';
let model: ModelServer;
let tg: TelegramServer;
let slack: SlackServer;
const SLACK_CHAT = 'C0TEAM';
const SLACK_SECRET = 'slack-signing-secret-77';
let slackTs = 1_700_000_000;
let hookServer: Server;
let hookUrl = '';
const callbacks: { type: string; chat: string; text?: string; ok: boolean }[] = [];
let plane: Plane;
let yaml = '';

/** "stream WORDS" answers in three chunks 1.2 s apart, so the chat sees the answer grow by edits. */
async function script(req: ScriptRequest) {
  const text = lastUserText(req).split('\n\n').at(-1) ?? '';
  if (text.startsWith('stream ')) return { text: `streamed answer about ${text.slice(7)}, told slowly`, chunkDelayMs: 1200 };
  return scripted(req);
}

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  model = await startModelServer(script);
  tg = await startTelegramServer();
  slack = await startSlackServer();
  // the webhook channel's receiver: checks each callback's signature as an integrator would
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const ok = webhookProblem(SECRET, req.headers['x-clawpod-timestamp'] as string, req.headers['x-clawpod-signature'] as string, body) === undefined;
      const b = JSON.parse(body) as { type: string; chat: string; text?: string };
      callbacks.push({ ...b, ok });
      res.writeHead(ok ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/answers`;
  yaml = planeYaml(model, {
    groups: [`${G}-tg`, `${G}-hook`, `${G}-slack`],
    extra: [
      '  session: {idleTimeout: 60s, pauseAfter: 3s}',
      '  channels:',
      `    - {name: tg, kind: telegram, token: {source: env, secretRef: {name: TG_TOKEN}}, apiRoot: "${tg.url}", rateLimit: {messages: 6, per: 1m}}`,
      `    - {name: hook, kind: webhook, signingSecret: {source: env, secretRef: {name: HOOK_SECRET}}, callbackUrl: "${hookUrl}"}`,
      `    - {name: sl, kind: slack, token: {source: env, secretRef: {name: SLACK_TOKEN}}, signingSecret: {source: env, secretRef: {name: SLACK_SECRET}}, apiRoot: "${slack.apiRoot}"}`,
      '  bindings:',
      `    - {channel: sl, chat: ${SLACK_CHAT}, group: ${G}-slack}`,
      `    - {channel: tg, chat: "${TG_CHAT}", group: ${G}-tg}`,
      `    - {channel: hook, chat: ops-room, group: ${G}-hook}`,
    ].join('\n'),
  });
  plane = await startPlane(yaml, undefined, { TG_TOKEN: tg.token, HOOK_SECRET: SECRET, SLACK_TOKEN: slack.botToken, SLACK_SECRET });
}, 300_000);

afterAll(async () => {
  await plane?.stop();
  for (const n of podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n')) if (n.startsWith(`clawpod-grp-${G}`)) podman(['rm', '-f', n]);
  await tg?.close();
  await slack?.close();
  await new Promise((r) => hookServer?.close(r));
  await model?.close();
});

const texts = (chat: number) => tg.messages(chat).map((m) => m.text ?? '');
const slackTexts = () => slack.messages(SLACK_CHAT).map((m) => m.text ?? '');
const slackHook = () => `${plane.client.url}/v1/channels/sl/hook`;
/** A user writes in the Slack channel: the Events API request Slack would send, signed. */
function slackSays(text: string, o: { retryNum?: number; ts?: string; forge?: boolean } = {}): Promise<Response> {
  const ts = o.ts ?? `${++slackTs}.000100`;
  return slack.postEvent(slackHook(), { type: 'message', channel: SLACK_CHAT, channel_type: 'channel', user: 'U0ALICE', text, ts }, { signingSecret: SLACK_SECRET, eventId: `Ev${ts.replace('.', '')}`, ...(o.retryNum ? { retryNum: o.retryNum } : {}), ...(o.forge ? { forge: true } : {}) });
}

async function postHook(body: object, secret = SECRET, ts = String(Math.floor(Date.now() / 1000))): Promise<Response> {
  const raw = JSON.stringify(body);
  return fetch(`${plane.client.url}/v1/channels/hook/hook`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-clawpod-timestamp': ts, 'x-clawpod-signature': signWebhook(secret, ts, raw) } });
}

describe('chat channels', () => {
  it('a channel secret that cannot be resolved stops clawpod serve with its name, before anything is made', async () => {
    const dataDir = join(plane.dataDir, 'bad-start');
    const file = join(plane.dataDir, 'bad.yaml');
    writeFileSync(file, yaml.replace('name: TG_TOKEN', 'name: TG_TOKEN_NOT_SET'));
    const r = await clawpod(['serve', '-f', file, '--listen', '127.0.0.1:0'], { env: { ...plane.env, CLAWPOD_DATA_DIR: dataDir }, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('SECRET_MISSING');
    expect(r.stderr).toContain('spec.channels[0].token (tg.token)');
    expect(r.stderr).toContain('TG_TOKEN_NOT_SET');
    expect(existsSync(join(dataDir, 'control'))).toBe(false);
  }, 60_000);

  it('a Telegram group talks with its agent: the answer streams into one message by edits, "typing…" meanwhile', async () => {
    tg.userSends(TG_CHAT, `stream kiwis`);
    const msg = await tg.waitFor(() => tg.messages(TG_CHAT).find((m) => m.text?.includes('told slowly')), 90_000);
    expect(msg.text).toBe('streamed answer about kiwis, told slowly');
    // the answer grew in place: at least one shorter text before the whole
    expect(msg.history.length, JSON.stringify(msg.history)).toBeGreaterThan(1);
    expect(msg.history[0]!.length).toBeLessThan(msg.text!.length);
    expect(tg.calls.some((c) => c.method === 'sendChatAction' && String(c.params.chat_id) === String(TG_CHAT))).toBe(true);
    expect(tg.pending()).toBe(0);
    // the platforms' credentials stay in clawpod serve: nothing of them in the session container
    const inspect = podman(['inspect', `clawpod-grp-${G}-tg`]).stdout;
    expect(inspect).toContain(`clawpod-grp-${G}-tg`);
    for (const s of [tg.token, SECRET, slack.botToken, SLACK_SECRET]) expect(inspect).not.toContain(s);
  }, 120_000);

  it('a Slack channel talks with its own agent: Events API in, the answer streamed by chat.update; a slash command works; a forged request is 401', async () => {
    expect((await slackSays('stream mangos')).status).toBe(200);
    const msg = await slack.waitFor(() => slack.messages(SLACK_CHAT).find((m) => m.text?.includes('told slowly')), 90_000);
    expect(msg.text).toBe('streamed answer about mangos, told slowly');
    expect(msg.history.length, JSON.stringify(msg.history)).toBeGreaterThan(1);
    // its own group: the Telegram group's conversation is not in this one's model requests
    const req = model.requests.find((q) => lastUserText(q) === 'stream mangos');
    expect(JSON.stringify(req?.messages)).not.toContain('kiwis');
    // a registered slash command arrives form-encoded, signed like events
    const body = new URLSearchParams({ command: '/status', text: '', channel_id: SLACK_CHAT, user_id: 'U0ALICE', trigger_id: 'trig-1' }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    const slash = await fetch(slackHook(), { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig } });
    expect(slash.status).toBe(200);
    await slack.waitFor(() => slackTexts().find((t) => t.startsWith(`Group ${G}-slack, model fix`)), 30_000);
    expect((await slackSays('run: id', { forge: true })).status).toBe(401);
    const sl = (await plane.client.call<{ name: string; events: { type: string }[] }[]>('GET', '/v1/channels')).find((c) => c.name === 'sl')!;
    expect(sl.events.map((e) => e.type)).toContain('channel_rejected');
    expect(model.requests.some((q) => lastUserText(q) === 'run: id')).toBe(false);
  }, 120_000);

  it('a file sent to the bot lands in the group\'s workspace inbox; one the agent puts in its outbox comes back', async () => {
    const bytes = Buffer.from('line one\nline two\n');
    tg.userSends(TG_CHAT, 'run: cat /workspace/inbox/notes.txt && mkdir -p /workspace/outbox && cp /workspace/inbox/notes.txt /workspace/outbox/back.txt', { document: { name: 'notes.txt', bytes } });
    await tg.waitFor(() => texts(TG_CHAT).find((t) => t.startsWith('result: line one')), 90_000);
    const back = await tg.waitFor(() => tg.messages(TG_CHAT).find((m) => m.document?.name === 'back.txt'), 30_000);
    expect(back.document!.bytes.equals(bytes)).toBe(true);
  }, 120_000);

  it('chat commands: /status, /model with allowed models only, /help', async () => {
    tg.userSends(TG_CHAT, '/status');
    await tg.waitFor(() => texts(TG_CHAT).find((t) => t.startsWith(`Group ${G}-tg, model fix`)));
    tg.userSends(TG_CHAT, '/model gpt-99');
    await tg.waitFor(() => texts(TG_CHAT).find((t) => t.startsWith('gpt-99 is not a model this group may use. Allowed: fix')));
    tg.userSends(TG_CHAT, '/help@' + tg.botUsername);
    await tg.waitFor(() => texts(TG_CHAT).find((t) => t.includes('/new — start a fresh conversation')));
  }, 30_000);

  it('an unbound chat gets a polite answer and an event; a flooding chat is limited with one polite answer', async () => {
    tg.userSends(777, 'hello?');
    const polite = await tg.waitFor(() => texts(777).find((t) => t.includes('not connected to an agent')));
    expect(polite).toContain('clawpod channel bind');
    // the operator binds it from the CLI: its next message reaches the agent
    const bind = await clawpod(['channel', 'bind', 'tg', String(FLOOD_CHAT), `${G}-tg`], { env: plane.env });
    expect(bind.code, bind.stderr).toBe(0);
    const ls = await clawpod(['channel', 'ls'], { env: plane.env });
    expect(ls.stdout).toMatch(/tg\s+telegram\s+up/);
    expect(ls.stdout).toContain(String(FLOOD_CHAT));
    for (let i = 0; i < 8; i++) tg.userSends(FLOOD_CHAT, `flood ${i}`);
    await tg.waitFor(() => [0, 1, 2, 3, 4, 5].every((i) => texts(FLOOD_CHAT).includes(`echo: flood ${i}`)), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const said = texts(FLOOD_CHAT);
    expect(said.filter((t) => t.startsWith('Slow down a little'))).toHaveLength(1);
    expect(said.filter((t) => t.startsWith('echo: flood'))).toHaveLength(6);
    const list = await plane.client.call<{ name: string; events: { type: string; data: Record<string, unknown> }[] }[]>('GET', '/v1/channels');
    const types = list.find((c) => c.name === 'tg')!.events.map((e) => `${e.type} ${String(e.data.chat ?? '')}`);
    expect(types).toContain('channel_unbound 777');
    expect(types).toContain(`channel_rate_limited ${FLOOD_CHAT}`);
    // unbound again: the chat is back to the polite answer
    const unbind = await clawpod(['channel', 'unbind', 'tg', String(FLOOD_CHAT)], { env: plane.env });
    expect(unbind.stdout).toContain(`chat ${FLOOD_CHAT} of channel tg unbound`);
    expect((await clawpod(['channel', 'unbind', 'tg', 'no-such-chat'], { env: plane.env })).stdout).toContain('was not bound');
    const badGroup = await clawpod(['channel', 'bind', 'tg', '123', 'no-such-group'], { env: plane.env });
    expect(badGroup.code).not.toBe(0);
    expect(badGroup.stderr).toContain('no group named no-such-group');
  }, 90_000);

  it('the signed webhook channel: answers come back signed; a forged or stale request is 401 and nothing is queued', async () => {
    const r = await postHook({ id: 'ext-1', chat: 'ops-room', text: 'hello from the pager' });
    expect(r.status).toBe(202);
    const answer = await waitFor('the webhook answer', () => callbacks.find((c) => c.text === 'echo: hello from the pager'), 60_000);
    expect(answer.ok).toBe(true);
    // the same id again (a retry of the sender's): no second message
    expect((await postHook({ id: 'ext-1', chat: 'ops-room', text: 'hello from the pager' })).status).toBe(202);
    const forged = await postHook({ id: 'ext-2', chat: 'ops-room', text: 'run: id' }, 'not-the-secret');
    expect(forged.status).toBe(401);
    const stale = await postHook({ id: 'ext-3', chat: 'ops-room', text: 'run: id' }, SECRET, String(Math.floor(Date.now() / 1000) - 3600));
    expect(stale.status).toBe(401);
    const hook = (await plane.client.call<{ name: string; events: { type: string }[] }[]>('GET', '/v1/channels')).find((c) => c.name === 'hook')!;
    expect(hook.events.filter((e) => e.type === 'channel_rejected')).toHaveLength(1);
    const msgs = await plane.client.call<{ text: string }[]>('GET', `/v1/groups/${G}-hook/messages`);
    expect(msgs.map((m) => m.text)).toEqual(['hello from the pager']);
    expect(callbacks.filter((c) => c.text === 'echo: hello from the pager')).toHaveLength(1);
  }, 90_000);

  it('a daemon restart loses no message: one in flight is answered after, one sent while it was down arrives', async () => {
    tg.userSends(TG_CHAT, 'slow:8000');
    expect((await slackSays('slow:3000')).status).toBe(200);
    // the agent is working on it (its turn started, the model not yet answered) when the daemon goes
    await waitFor('the slow answer under way', async () => (await plane.client.call<{ text: string; status: string }[]>('GET', `/v1/groups/${G}-tg/messages`))
      .some((m) => m.text === 'slow:8000' && m.status === 'running'), 60_000);
    await plane.stop();
    tg.userSends(TG_CHAT, 'written while clawpod was down');
    // Slack cannot reach clawpod meanwhile: it retries the event later, with the same ts
    const downTs = `${++slackTs}.000100`;
    await expect(slackSays('slack while down', { ts: downTs })).rejects.toThrow();
    plane = await startPlane(yaml, { dataDir: plane.dataDir, env: plane.env });
    expect((await slackSays('slack while down', { ts: downTs, retryNum: 1 })).status).toBe(200);
    expect((await slackSays('slack while down', { ts: downTs, retryNum: 2 })).status).toBe(200);
    await slack.waitFor(() => slackTexts().includes('echo: slack while down'), 90_000);
    await slack.waitFor(() => slackTexts().includes('slept 3000 ms'), 90_000);
    expect(slackTexts().filter((t) => t === 'slept 3000 ms')).toHaveLength(1);
    expect(slackTexts().filter((t) => t === 'echo: slack while down')).toHaveLength(1);
    await tg.waitFor(() => texts(TG_CHAT).includes('echo: written while clawpod was down'), 90_000);
    await tg.waitFor(() => texts(TG_CHAT).includes('slept 8000 ms'), 90_000);
    expect(texts(TG_CHAT).filter((t) => t === 'slept 8000 ms')).toHaveLength(1);
    expect(texts(TG_CHAT).filter((t) => t === 'echo: written while clawpod was down')).toHaveLength(1);
  }, 200_000);

  it('the new session after the restart remembered the conversation; /new starts a fresh one; /stop ends an answer', async () => {
    const resumed = model.requests.find((q) => lastUserText(q).endsWith('written while clawpod was down'));
    expect(JSON.stringify(resumed?.messages)).toContain('streamed answer about kiwis');
    tg.userSends(TG_CHAT, '/new');
    await tg.waitFor(() => texts(TG_CHAT).find((t) => t.startsWith('Fresh conversation')));
    tg.userSends(TG_CHAT, 'after new');
    await tg.waitFor(() => texts(TG_CHAT).includes('echo: after new'), 60_000);
    const fresh = model.requests.find((q) => lastUserText(q) === 'after new');
    expect(JSON.stringify(fresh?.messages)).not.toContain('kiwis');
    const sentAt = Date.now();
    tg.userSends(TG_CHAT, 'slow:30000');
    // the agent is on it (its runner started the turn); not model.requests: the fixture records a
    // request once its scripted answer is chosen, i.e. after the 30 s, when the answer is all but done
    await waitFor('the slow answer under way', async () => (await plane.client.call<{ text: string; status: string }[]>('GET', `/v1/groups/${G}-tg/messages`))
      .some((m) => m.text === 'slow:30000' && m.status === 'running'), 60_000);
    expect(Date.now() - sentAt, '/stop goes to an answer still being written').toBeLessThan(20_000);
    tg.userSends(TG_CHAT, '/stop');
    await tg.waitFor(() => texts(TG_CHAT).includes('Stopped (1 message).'), 30_000).catch((e: Error) => { throw new Error(`${e.message}\nchat: ${JSON.stringify(texts(TG_CHAT))}`); });
    await tg.waitFor(() => texts(TG_CHAT).includes('⚠️ Sorry, no answer: stopped from the chat'), 30_000).catch((e: Error) => { throw new Error(`${e.message}\nchat: ${JSON.stringify(texts(TG_CHAT))}`); });
  }, 150_000);

  it('a scheduled prompt runs like a message and its answer is posted to the bound chat', async () => {
    const s = await plane.client.call<{ id: string }>('POST', '/v1/schedules', { group: `${G}-tg`, cron: '*/2 * * * * *', prompt: 'morning report please' });
    try {
      await tg.waitFor(() => texts(TG_CHAT).includes('echo: morning report please'), 60_000);
    } finally {
      await plane.client.call('DELETE', `/v1/schedules/${s.id}`);
    }
  }, 90_000);

  it('parking: a message for a paused agent gets "starting up…" in the chat first, then the answer in the same message', async () => {
    // the Slack group's agent answered earlier and has been idle past pauseAfter: it is frozen
    await waitFor('the Slack group\'s container paused', () => podman(['inspect', '-f', '{{.State.Status}}', `clawpod-grp-${G}-slack`]).stdout.trim() === 'paused' || undefined, 30_000);
    expect((await slackSays('are you awake?')).status).toBe(200);
    const msg = await slack.waitFor(() => slack.messages(SLACK_CHAT).find((m) => m.text === 'echo: are you awake?'), 60_000);
    expect(msg.history[0]).toBe('⏳ starting up…');
  }, 90_000);

  it('a revoked bot token marks the channel down with a clear error; the webhook channel keeps working', async () => {
    tg.revoke();
    await waitFor('the channel down', async () => {
      const list = await plane.client.call<{ name: string; state: string; error: { code: string; message: string } | null }[]>('GET', '/v1/channels');
      const t = list.find((c) => c.name === 'tg');
      return t?.state === 'down' ? t : undefined;
    }, 30_000).then((t) => {
      expect(t.error?.code).toBe('CHANNEL_AUTH');
      expect(t.error?.message).not.toContain(tg.token);
    });
    expect((await postHook({ id: 'ext-9', chat: 'ops-room', text: 'still there?' })).status).toBe(202);
    await waitFor('the webhook answer', () => callbacks.find((c) => c.text === 'echo: still there?'), 60_000);
    expect(plane.output()).not.toContain(tg.token);
    expect(plane.output()).not.toContain(SECRET);
  }, 90_000);
});
