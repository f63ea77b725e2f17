// L1: the lifecycle acts on containers (pauses, stops, destroys them with their volumes) and its
// front proxy forwards traffic. Attacks: a local user who can create containers forges clawpod's
// labels (a past expiry, another agent's volume, a tenant's name) to make gc or the daemon destroy
// something, or to have the proxy forward to it; a client uses the proxy as an open proxy to reach
// the control plane's API; an agent uses its gateway token on the lifecycle API.
import http from 'node:http';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, podman, tmpDir, uniquePrefix, writeSpec, type CliResult } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';

const P = uniquePrefix('lsec');
const dir = tmpDir();
let model: ModelServer;
let plane: Plane;
let proxy: URL;
let route: URL;
const victim = `${P}-victim`;
const cli = (args: string[]): Promise<CliResult> => clawpod(args, { env: plane.env, timeoutMs: 120_000 });
const exists = (what: 'container' | 'volume', name: string) => podman([what, 'exists', name]).code === 0;

function raw(request: string): Promise<string> {
  return new Promise((res, rej) => {
    const s = createConnection({ host: proxy.hostname, port: Number(proxy.port) });
    let out = '';
    s.on('connect', () => s.write(request));
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => res(out));
    s.on('close', () => res(out));
    s.on('error', rej);
    setTimeout(() => s.destroy(), 3000);
  });
}

function get(host: string, path = '/', extra: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    http.get({ host: proxy.hostname, port: proxy.port, path, headers: { host, accept: 'application/json', ...extra } }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    }).on('error', rej);
  });
}

beforeAll(async () => {
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [`${P}-g`], extra: `  proxy: {listen: "127.0.0.1:0", routes: [{listen: "127.0.0.1:0", agent: ${P}-hostile, port: 8081}]}\n  lifecycle: {interval: 200ms}` }));
  proxy = new URL(/front proxy on (http:\/\/[\d.]+:\d+)/.exec(plane.output())![1]!);
  route = new URL(/front proxy route (http:\/\/[\d.]+:\d+)/.exec(plane.output())![1]!);
  const r = await cli(['run', '-d', '-f', writeSpec(dir, 'victim.yaml', agentYaml(victim, 'command: [sleep, "600"]'))]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
}, 60_000);

describe('L1 forged labels and the lifecycle', () => {
  it('a container with clawpod labels, a past expiry and the victim\'s volume is neither collected nor destroyed, nor its volume', async () => {
    const forged = `${P}-forged`;
    const volume = `clawpod-${victim}-workspace`;
    expect(podman(['run', '-d', '--name', forged, '--label', 'dev.clawpod.managed=true', '--label', 'dev.clawpod.expires-at=2000-01-01T00:00:00Z',
      '--label', `dev.clawpod.volume=${volume}`, '--label', `dev.clawpod.agent=${victim}`, 'localhost/clawpod-agent:latest', 'sleep', '600']).code).toBe(0);
    const gc = await cli(['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout.trim()).toBe('no expired agents');
    // the daemon's checks run every 200 ms: a second is five chances
    await new Promise((r) => setTimeout(r, 1000));
    expect(exists('container', forged)).toBe(true);
    expect(podman(['inspect', '-f', '{{.State.Status}}', forged]).stdout.trim()).toBe('running');
    expect(exists('volume', volume)).toBe(true);
    expect(exists('container', victim)).toBe(true);
  }, 60_000);

  it('a namesake of a clawpod agent made behind its back (same name, another container) is not acted on or reachable', async () => {
    const name = `${P}-swap`;
    const r = await cli(['run', '-d', '-f', writeSpec(dir, 'swap.yaml', agentYaml(name, 'command: [sleep, "600"]\nlifecycle: {ttl: 1s}'))]);
    expect(r.code, r.stderr).toBe(0);
    // replaced outside clawpod before its ttl: the record names the old container's id (killed: a
    // sleep as PID 1 would wait out the 10 s stop timeout)
    podman(['rm', '-f', '-t', '0', name]);
    expect(podman(['run', '-d', '--name', name, '--label', 'dev.clawpod.managed=true', 'localhost/clawpod-agent:latest', 'node', '/opt/clawpod/hello-agent.mjs']).code).toBe(0);
    await new Promise((res) => setTimeout(res, 1500));
    expect(podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim()).toBe('running');
    const via = await get(`${name}.localhost`);
    expect(via.status).toBe(404);
    expect(JSON.parse(via.body).error.message).toContain('no record');
    podman(['rm', '-f', '-t', '0', name]);
  }, 60_000);
});

describe('L1 the front proxy is not an open proxy', () => {
  it('absolute-form and CONNECT requests are refused; a Host that names no agent under the domain reaches nothing', async () => {
    const api = new URL(plane.client.url);
    expect(await raw(`GET ${plane.client.url}/v1/health HTTP/1.1\r\nHost: ${victim}.localhost\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`CONNECT ${api.host} HTTP/1.1\r\nHost: ${api.host}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 (400|405)/);
    for (const host of [api.host, `${victim}.localhost.evil.example`, `x.${victim}.localhost`, `${victim}.localhost@127.0.0.1`]) {
      const r = await get(host, '/v1/health');
      expect(r.status, host).toBe(404);
      expect(r.body).not.toContain('"ok":true');
    }
  });

  it('an agent\'s gateway token opens nothing on the lifecycle API', async () => {
    const { token } = await plane.client.call<{ token: string }>('POST', `/v1/groups/${P}-g/tokens`);
    for (const [method, path] of [['GET', '/v1/agents'], ['POST', `/v1/agents/${victim}/wake`], ['POST', `/v1/agents/${victim}/activity`], ['GET', '/v1/lifecycle/events']] as const) {
      const r = await fetch(`${plane.client.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      expect(r.status, path).toBe(401);
    }
  });
});

// an agent that answers what it likes: a status line Node's own server would never send (8080), and its request headers (8081)
const HOSTILE = String.raw`command: [node, -e, 'const n = require("net"), h = require("http"); h.createServer((q, r) => r.end(JSON.stringify(q.headers))).listen(8081); n.createServer((s) => s.once("data", () => s.end("HTTP/1.1 000 X\r\ncontent-length: 2\r\n\r\nok"))).listen(8080)']`;

describe('L1 what an agent or a client sends through the proxy', () => {
  const hostile = `${P}-hostile`;
  beforeAll(async () => {
    const r = await cli(['run', '-d', '-f', writeSpec(dir, 'hostile.yaml', agentYaml(hostile, [HOSTILE, 'network: bridge', 'ports: [{containerPort: 8080}, {containerPort: 8081}]'].join('\n')))]);
    expect(r.code, r.stderr).toBe(0);
    // `run -d` returns once the container runs; its node listens a moment later
    for (let i = 0; i < 100 && podman(['exec', hostile, 'node', '-e', 'require("net").connect(8081).on("connect", () => process.exit(0)).on("error", () => process.exit(1))']).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));
  }, 120_000);
  afterAll(() => { podman(['rm', '-f', '-t', '0', hostile]); });

  it('an answer with status 000 is a 502, and the daemon lives on', async () => {
    const r = await get(`${hostile}.localhost`);
    // it reached the agent (its body), with a status the proxy could send
    expect(r.status).toBe(502);
    expect(r.body).toBe('ok');
    expect(plane.proc.exitCode).toBeNull();
    expect((await plane.client.call<{ ok: boolean }>('GET', '/v1/health')).ok).toBe(true);
  });

  it('a client\'s own X-Forwarded-For and Forwarded never reach the agent: the proxy\'s do', async () => {
    const r = await new Promise<string>((res, rej) => {
      http.get({ host: route.hostname, port: route.port, path: '/', headers: { 'x-forwarded-for': '10.6.6.6', forwarded: 'for=10.6.6.6', 'x-real-ip': '10.6.6.6' } }, (x) => {
        let b = '';
        x.on('data', (c: Buffer) => (b += c.toString()));
        x.on('end', () => res(b));
      }).on('error', rej);
    });
    const h = JSON.parse(r) as Record<string, string>;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h.forwarded).toBeUndefined();
    expect(h['x-real-ip']).toBeUndefined();
  });

  it('an agent stopped by hand is not started by a request (409), and stays stopped', async () => {
    const name = `${P}-byhand`;
    expect((await cli(['run', '-d', '-f', writeSpec(dir, 'byhand.yaml', agentYaml(name, ['network: bridge', 'ports: [{containerPort: 8080}]', 'command: [node, /opt/clawpod/hello-agent.mjs]'].join('\n')))])).code).toBe(0);
    expect((await cli(['stop', name])).code).toBe(0);
    const r = await get(`${name}.localhost`);
    expect(r.status).toBe(409);
    expect(JSON.parse(r.body).error.message).toContain('stopped by hand');
    expect(podman(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim()).toBe('exited');
  }, 60_000);

  it('a group\'s session container is not reachable or wakeable through the proxy', async () => {
    const { id } = await plane.client.call<{ id: string }>('POST', `/v1/groups/${P}-g/messages`, { text: 'hello' });
    for await (const e of plane.client.events(id)) if (e.type === 'done' || e.type === 'failed') break;
    const r = await get(`clawpod-grp-${P}-g.localhost`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.message).toContain('not an agent the proxy wakes');
  }, 60_000);
});
