// Idle agents on real Podman: an agent with idle tiers is paused and then stopped by `clawpod
// serve` on its own; curl, a WebSocket client and a real Chromium page each wake it through the
// front proxy (a "starting up" answer first when the wake takes longer than the wait); exec wakes a
// paused one; a paused group session thaws for its next message with a `waking` event; a message
// sent while the runtime is down is kept and answered once it is back; a stopped agent whose image
// was removed answers a clear error at once.
import { createConnection, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { deriveImage } from '../fixtures/payload-images.js';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type MessageView, type Plane } from '../helpers/control.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('life');
const dir = tmpDir();
let model: ModelServer;
let plane: Plane;
let proxy = '';
let route = '';
const web = `${P}-web`;

const state = (name: string) => podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();
const cli = (args: string[]) => clawpod(args, { env: plane.env, timeoutMs: 120_000 });

/** GET through the front proxy with a Host header; retries a 503 after its Retry-After, as a client should. */
async function get(host: string, base = proxy, accept = 'application/json'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((res, rej) => {
    const u = new URL(base);
    const req = http.get({ host: u.hostname, port: u.port, path: '/', headers: { host, accept } }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
    });
    req.on('error', rej);
  });
}

/** A WebSocket handshake through the proxy; the frames that come back, decoded (text, or close code + reason). */
function websocket(host: string): Promise<{ status: number; frames: { op: number; text: string; code?: number }[] }> {
  return new Promise((res, rej) => {
    const u = new URL(proxy);
    const s = createConnection({ host: u.hostname, port: Number(u.port) });
    const key = randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    s.on('connect', () => s.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
    s.on('error', rej);
    s.on('close', () => {
      const end = buf.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(buf.subarray(0, end).toString())?.[1] ?? 0);
      const frames: { op: number; text: string; code?: number }[] = [];
      let rest = buf.subarray(end + 4);
      while (rest.length >= 2) {
        const op = rest[0]! & 0x0f;
        const len = rest[1]! & 0x7f;
        const payload = rest.subarray(2, 2 + len);
        frames.push(op === 8 ? { op, code: payload.readUInt16BE(0), text: payload.subarray(2).toString() } : { op, text: payload.toString() });
        rest = rest.subarray(2 + len);
      }
      res({ status, frames });
    });
  });
}

async function events(agent: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  return plane.client.call('GET', `/v1/lifecycle/events?agent=${agent}`);
}

beforeAll(async () => {
  expect(podman(['image', 'exists', 'localhost/clawpod-agent:latest']).code, 'localhost/clawpod-agent:latest is missing: run ./scripts/setup.sh').toBe(0);
  model = await modelServer();
  plane = await startPlane(planeYaml(model, {
    groups: [`${P.slice(0, 20)}-g`],
    extra: [
      '  proxy:', '    listen: "127.0.0.1:0"', '    wakeTimeout: 400ms', `    routes: [{listen: "127.0.0.1:0", agent: ${web}}]`,
      '  lifecycle: {interval: 250ms}',
      '  session: {pauseAfter: 1s, idleTimeout: 5m}',
    ].join('\n'),
  }));
  proxy = /front proxy on (http:\/\/[\d.]+:\d+)/.exec(plane.output())?.[1] ?? '';
  route = /front proxy route (http:\/\/[\d.]+:\d+) -> /.exec(plane.output())?.[1] ?? '';
  expect(proxy, plane.output()).not.toBe('');
  const spec = writeSpec(dir, 'web.yaml', agentYaml(web, [
    'image: localhost/clawpod-agent:latest',
    'command: [node, /opt/clawpod/hello-agent.mjs]',
    'network: bridge',
    'ports: [{containerPort: 8080}]',
    'lifecycle: {idle: [{after: 2s, action: pause}, {after: 5s, action: stop}]}',
  ].join('\n')));
  const r = await cli(['run', '-d', '-f', spec]);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
}, 60_000);

describe('idle tiers', () => {
  it('pauses an idle agent, then stops it; ps shows the state and the next step', async () => {
    await waitFor('paused', () => state(web) === 'paused', 20_000);
    const ps = await cli(['--json', 'ps']);
    const row = (JSON.parse(ps.stdout) as { name: string; state: string; next: { action: string } | null }[]).find((x) => x.name === web)!;
    expect(row.state).toBe('paused');
    expect(row.next?.action).toBe('stop');
    await waitFor('stopped', () => state(web) === 'exited', 20_000);
    const table = await cli(['ps', '-a']);
    expect(table.stdout).toMatch(new RegExp(`${web}\\s+\\S+\\s+suspended`));
    expect((await events(web)).map((e) => e.type)).toEqual(expect.arrayContaining(['paused', 'suspended']));
  }, 60_000);

  it('curl through the proxy wakes a stopped agent: "starting up" (503, Retry-After) first, then the answer, state kept', async () => {
    if (state(web) !== 'exited') await waitFor('stopped', () => state(web) === 'exited', 20_000);
    const t0 = Date.now();
    const first = await get(`${web}.localhost`);
    let r = first;
    while (r.status === 503) {
      expect(r.headers['retry-after']).toMatch(/^\d+$/);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'WAKING', message: `${web} is starting up` } });
      await new Promise((s) => setTimeout(s, 200));
      r = await get(`${web}.localhost`);
    }
    console.log(`wake from stop through the proxy: first answer after ${Date.now() - t0} ms (first reply ${first.status})`);
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body).visits).toBeGreaterThanOrEqual(1);
    expect(state(web)).toBe('running');
    // the port route reaches the same agent, no Host header needed
    const viaRoute = await get('anything', route);
    expect(JSON.parse(viaRoute.body).visits).toBe(JSON.parse(r.body).visits + 1);
  }, 60_000);

  it('wakes from pause in milliseconds', async () => {
    await waitFor('paused', () => state(web) === 'paused', 20_000);
    const t0 = performance.now();
    const r = await get(`${web}.localhost`);
    const took = performance.now() - t0;
    console.log(`wake from pause through the proxy: ${took.toFixed(0)} ms`);
    expect(r.status, r.body).toBe(200);
    expect(took).toBeLessThan(2000);
    expect((await events(web)).some((e) => e.type === 'woken' && e.data.from === 'paused')).toBe(true);
  }, 60_000);

  it('a WebSocket client gets close 1013 "try again later" while it starts, then its connection', async () => {
    await waitFor('stopped', () => state(web) === 'exited', 20_000);
    let ws = await websocket(`${web}.localhost`);
    expect(ws.status).toBe(101);
    if (ws.frames[0]?.op === 8) {
      expect(ws.frames[0]).toMatchObject({ code: 1013, text: expect.stringContaining('starting up') });
      ws = await waitFor('the socket', async () => { const w = await websocket(`${web}.localhost`); return w.frames[0]?.op === 1 ? w : undefined; }, 30_000);
    }
    expect(JSON.parse(ws.frames[0]!.text)).toMatchObject({ websocket: true });
  }, 60_000);

  it('a Chromium page shows "starting up", reloads itself and shows the answer', async (t) => {
    need(t, existsSync('/usr/bin/chromium'), 'chromium (Debian package)');
    await waitFor('stopped', () => state(web) === 'exited', 20_000);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      // Chromium resolves *.localhost to the loopback address itself
      const resp = await page.goto(`http://${web}.localhost:${new URL(proxy).port}/`);
      expect([200, 503]).toContain(resp?.status());
      await page.waitForFunction(() => document.body.innerText.includes('visits'), undefined, { timeout: 30_000 });
      expect(await page.evaluate(() => document.body.innerText)).toMatch(/"visits":\d+/);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('exec wakes a paused agent and counts as activity', async () => {
    await waitFor('paused', () => state(web) === 'paused', 20_000);
    const r = await cli(['exec', web, '--', 'cat', '/workspace/hello-state.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"visits":\d+/);
    expect(state(web)).toBe('running');
  }, 60_000);

  it('an unknown name and a container clawpod has no record of get 404, never a connection error', async () => {
    expect((await get(`${P}-nope.localhost`)).status).toBe(404);
    const stranger = `${P}-stranger`;
    expect(podman(['run', '-d', '--name', stranger, '--label', 'dev.clawpod.managed=true', 'localhost/clawpod-agent:latest', 'node', '/opt/clawpod/hello-agent.mjs']).code).toBe(0);
    const r = await get(`${stranger}.localhost`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.message).toContain('no record');
    podman(['rm', '-f', stranger]);
  }, 60_000);

  it('a stopped agent whose image was removed answers a clear error at once', async () => {
    const img = `localhost/${P}-gone:1`;
    deriveImage(img, "import { createServer } from 'node:http'; createServer((q, s) => s.end('ok')).listen(8080);");
    const name = `${P}-doomed`;
    const spec = writeSpec(dir, 'doomed.yaml', agentYaml(name, [`image: ${img}`, 'network: bridge', 'ports: [{containerPort: 8080}]', 'lifecycle: {idle: [{after: 1s, action: stop}]}'].join('\n')));
    expect((await cli(['run', '-d', '-f', spec])).code).toBe(0);
    await waitFor('stopped', () => state(name) === 'exited', 20_000);
    // by id: a tag alone may share its image with others (a cached build), and untagging removes nothing
    const id = podman(['image', 'inspect', '-f', '{{.Id}}', img]).stdout.trim();
    // (podman may refuse while it is still busy with the container: asked again)
    let rmi = podman(['rmi', '-f', id]);
    for (let i = 0; i < 5 && rmi.code !== 0; i++) { await new Promise((res) => setTimeout(res, 500)); rmi = podman(['rmi', '-f', id]); }
    expect(rmi.code, rmi.stderr).toBe(0);
    expect(podman(['container', 'exists', name]).code).not.toBe(0);
    const t0 = Date.now();
    // an engine slower than the 400 ms wait gives "starting up" first; the answer that follows is the error, not a hang
    let r = await get(`${name}.localhost`);
    while (r.status === 503 && JSON.parse(r.body).error.code === 'WAKING' && Date.now() - t0 < 5000) r = await get(`${name}.localhost`);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status, r.body).toBe(404);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('image') });
  }, 60_000);
});

describe('groups', () => {
  const group = `${P.slice(0, 20)}-g`;
  const send = async (text: string) => {
    const { id } = await plane.client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text });
    const ev: { type: string; data: Record<string, unknown> }[] = [];
    for await (const e of plane.client.events(id)) ev.push(e);
    return { ev, m: await plane.client.call<MessageView>('GET', `/v1/messages/${id}`) };
  };

  it('a paused session thaws for the next message, which gets a waking event and its answer', async () => {
    const a = await send('first');
    expect(a.m.status).toBe('done');
    const container = `clawpod-grp-${group}`;
    await waitFor('the session paused', () => state(container) === 'paused', 15_000);
    const b = await send('second');
    expect(b.m.status).toBe('done');
    const waking = b.ev.find((e) => e.type === 'waking');
    expect(waking?.data).toMatchObject({ from: 'paused', expectedMs: expect.any(Number) });
    expect(b.ev.filter((e) => e.type === 'text').map((e) => e.data.delta).join('')).toBe('echo: second');
  }, 90_000);

  it('a message sent while the runtime is down is kept, the sender told, and answered once it is back', async () => {
    // the plane's runtime behind a socket this test opens and closes: real Podman, a real outage
    const sock = join(tmpDir(), 'engine.sock');
    let srv: NetServer | undefined;
    const open = new Set<Socket>();
    const up = () => new Promise<void>((res) => {
      srv = createNetServer((c) => {
        const e = createConnection('/run/podman/podman.sock');
        open.add(c).add(e);
        c.pipe(e).pipe(c);
        c.on('error', () => e.destroy());
        e.on('error', () => c.destroy());
      });
      srv.listen(sock, () => res());
    });
    // kept-alive connections too: an outage cuts what is open
    const down = () => new Promise<void>((res) => { srv!.close(() => res()); for (const c of open) c.destroy(); open.clear(); rmSync(sock, { force: true }); });
    await up();
    const g2 = `${P.slice(0, 20)}-h`;
    const d2 = tmpDir();
    const outage = await startPlane(planeYaml(model, { groups: [g2] }), { dataDir: d2, env: scratchEnv({ CLAWPOD_DATA_DIR: d2, FIXTURE_KEY: 'fixture-key-123', CONTAINER_HOST: `unix://${sock}` }) });
    try {
      await down();
      const { id } = await outage.client.call<{ id: string }>('POST', `/v1/groups/${g2}/messages`, { text: 'while down' });
      let failed: { type: string; data: Record<string, unknown> } | undefined;
      for await (const e of outage.client.events(id)) if (e.type === 'wake_failed') { failed = e; break; }
      expect(failed?.data).toMatchObject({ code: 'RUNTIME_UNAVAILABLE', kept: true, message: expect.stringContaining('did not answer') });
      expect((await outage.client.call<MessageView>('GET', `/v1/messages/${id}`)).status).toBe('queued');
      await up();
      const m = await waitFor('answered', async () => { const x = await outage.client.call<MessageView>('GET', `/v1/messages/${id}`); return x.status === 'done' ? x : undefined; }, 60_000);
      expect(m.status).toBe('done');
    } finally {
      await outage.stop();
      await down().catch(() => undefined);
      cleanup(`clawpod-grp-${g2}`);
    }
  }, 120_000);
});
