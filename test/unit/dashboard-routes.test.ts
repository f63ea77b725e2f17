// The routes the dashboard added, in-process (app.request) on the real daemon and store: paging
// of the lists, the live stream's filter by scope, agents' logs redacted and a scoped caller's miss
// that names no other agent, /v1/models without keys or URLs, and the /ui/ files with their headers.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApi } from '../../src/control/api.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { Daemon } from '../../src/control/daemon.js';
import { dashboardDir, mountDashboard } from '../../src/control/dashboard/serve.js';
import { modelInfos } from '../../src/control/routes/models.js';
import type { App } from '../../src/control/routes/common.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { Store } from '../../src/control/store.js';
import type { ContainerDetails, OutputChunk, Runtime } from '../../src/runtime/runtime.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';
import { redactor } from '../../src/secrets/redact.js';
import { LABELS } from '../../src/spec/defaults.js';

const ADMIN = 'admin-token-dashboard-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-dash-routes-'));
let app: App;
let store: Store;
let daemon: Daemon;
let groupToken = '';

/** An engine that knows one agent, "mine", whose log prints a secret, and lists another. */
const engine = {
  kind: 'podman',
  inspectContainer: async (name: string) => (name === 'mine' ? { id: 'c1', name: 'mine', state: 'running', labels: { [LABELS.managed]: 'true' } } as unknown as ContainerDetails : undefined),
  listContainers: async () => [{ name: 'mine' }, { name: 'someone-elses-agent' }],
  async *logs(): AsyncIterable<OutputChunk> {
    yield { stream: 'stdout', data: Buffer.from('hello\nthe key is zz-canary-') };
    yield { stream: 'stdout', data: Buffer.from('value-zz\n') };
  },
} as unknown as Runtime;

const call = async (token: string, path: string, init: RequestInit = {}) => {
  const res = await app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { res, text: await res.text() };
};

beforeAll(async () => {
  const config = loadConfig({ HOME: dir, PATH: process.env.PATH ?? '' });
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { models: { m: { provider: 'openai', model: 'x', baseUrl: 'https://user:pw-in-url@llm.internal/v1', apiKey: { source: 'env', secretRef: { name: 'K' } } } }, groups: [{ name: 'mine', model: 'm' }, { name: 'theirs', model: 'm' }] },
  });
  store = new Store(join(dir, 'state.db'));
  daemon = new Daemon({ config, cp, cpDir: dir, rt: new PodmanDriver('unix:///nonexistent/podman.sock', '/nonexistent/podman.sock'), agent: defaultSessionAgent(), store, gatewayDir: join(dir, 'gw'), say: () => undefined });
  for (const g of cp.spec.groups) store.upsertGroup(g.name, g.model, null);
  for (let i = 0; i < 30; i++) store.upsertGroup(`bulk-${String(i).padStart(2, '0')}`, 'm', null);
  for (const g of ['mine', 'theirs']) store.insertMessage({ id: `m_${g}`, group_name: g, text: 'hi' });
  app = buildApi(daemon, store, ADMIN, { agents: { rt: engine, config }, models: modelInfos(cp.spec.models) });
  redactor.add('canary', 'zz-canary-value-zz');
  groupToken = (JSON.parse((await call(ADMIN, '/v1/api-tokens', { method: 'POST', body: JSON.stringify({ scope: 'group:mine' }) })).text) as { token: string }).token;
});
afterAll(async () => { await daemon.stop().catch(() => undefined); store.close(); rmSync(dir, { recursive: true, force: true }); });

describe('paging', () => {
  it('?q= ?limit= ?offset= cut the list on the server; X-Total-Count is what matched; no parameter is the whole list', async () => {
    const all = await call(ADMIN, '/v1/groups');
    expect(JSON.parse(all.text)).toHaveLength(32);
    const p = await call(ADMIN, '/v1/groups?q=BULK&limit=5&offset=10');
    expect((JSON.parse(p.text) as { name: string }[]).map((g) => g.name)).toEqual(['bulk-10', 'bulk-11', 'bulk-12', 'bulk-13', 'bulk-14']);
    expect(p.res.headers.get('x-total-count')).toBe('30');
    // a scoped caller's total counts its own only
    const g = await call(groupToken, '/v1/groups?limit=1');
    expect(g.res.headers.get('x-total-count')).toBe('1');
    expect((await call(ADMIN, '/v1/groups?limit=x')).res.status).toBe(400);
  });
});

describe('GET /v1/stream', () => {
  it('pushes the status changes of the caller\'s groups and agents, and nothing of others', async () => {
    const res = await app.request('/v1/stream', { headers: { authorization: `Bearer ${groupToken}` } });
    const reader = res.body!.getReader();
    for (const g of ['theirs', 'mine']) daemon.bus.emit('event', { seq: 1, session_id: null, message_id: `m_${g}`, type: 'done', data: '{}', ts: '' });
    for (const a of ['theirs', 'mine']) daemon.bus.emit('lifecycle', { seq: 1, agent: a, type: 'paused', data: '{}', ts: 't' });
    let text = '';
    while (!text.includes('"agent":"mine"')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain('event: message\ndata: {"id":"m_mine","group":"mine","type":"done","status":"done"}');
    expect(text).not.toContain('theirs');
    // the bus forgets a closed stream's listeners
    await new Promise((r) => setTimeout(r, 20));
    expect(daemon.bus.listenerCount('lifecycle')).toBe(0);
  });
});

describe('agents', () => {
  it('logs stream whole lines with known secrets redacted', async () => {
    const r = await call(groupToken, '/v1/agents/mine/logs?tail=10');
    expect(r.res.headers.get('content-type')).toContain('text/event-stream');
    expect(r.text).toContain('the key is [REDACTED:canary]');
    expect(r.text).not.toContain('zz-canary');
    expect(r.text).toContain('event: end');
  });

  it('a scoped caller\'s miss is a bare 404; an admin\'s names the agents that exist', async () => {
    // another's agent: refused before the engine is asked
    expect((await call(groupToken, '/v1/agents/theirs/stop', { method: 'POST' })).res.status).toBe(404);
    // its own agent, which does not exist: the engine's miss lists every agent; the caller hears none of them
    const tenant = (JSON.parse((await call(ADMIN, '/v1/api-tokens', { method: 'POST', body: JSON.stringify({ scope: 'tenant:acme' }) })).text) as { token: string }).token;
    for (const path of ['/v1/agents/tenant-acme/logs', '/v1/agents/tenant-acme/stop', '/v1/agents/tenant-acme/start']) {
      const r = await call(tenant, path, { method: path.endsWith('logs') ? 'GET' : 'POST' });
      expect(r.res.status, path).toBe(404);
      expect(JSON.parse(r.text), path).toEqual({ error: { code: 'NOT_FOUND', message: 'no agent named tenant-acme' } });
    }
    const admin = await call(ADMIN, '/v1/agents/nope/stop', { method: 'POST' });
    expect(admin.res.status).toBe(404);
    expect(admin.text).toContain('someone-elses-agent');
  });

  it('GET /v1/models shows names, providers and model ids, never a key or base URL (admin only)', async () => {
    const r = await call(ADMIN, '/v1/models');
    expect(JSON.parse(r.text)).toEqual([{ name: 'm', provider: 'openai', model: 'x' }]);
    expect(r.text).not.toMatch(/pw-in-url|llm\.internal|apiKey|secretRef/);
    expect((await call(groupToken, '/v1/models')).res.status).toBe(403);
    expect(JSON.parse((await call(groupToken, '/v1/whoami')).text)).toEqual({ kind: 'group', name: 'mine' });
  });
});

describe('/ui/', () => {
  const ui = new Hono();
  mountDashboard(ui);

  it('serves the shell with a strict CSP, no framing, no referrer; only the files that ship', async () => {
    const r = await ui.request('/ui/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'; style-src 'self'/);
    expect(r.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await r.text();
    // no inline script or style for the CSP to refuse
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|style=/);
    expect((await ui.request('/ui/app.js')).headers.get('content-type')).toContain('text/javascript');
    // the shell's modules are preloaded with it (one left out costs a round trip per import level); pages load when shown
    const modules = readdirSync(dashboardDir()!, { recursive: true }).map(String).filter((f) => f.endsWith('.js') && f !== 'app.js' && (!f.startsWith('pages/') || f === 'pages/list.js'));
    for (const m of modules) expect(html, m).toContain(`<link rel="modulepreload" href="${m}">`);
    for (const p of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/serve.ts', '/ui/nope.js']) expect((await ui.request(p)).status, p).toBe(404);
    expect((await ui.request('/')).headers.get('location')).toBe('/ui/');
  });
});
