// T1: scoped API tokens. A token made for one group or tenant is used against every route of the
// control plane's API (enumerated from the served OpenAPI document, so a new route cannot be added
// without saying here what a foreign token gets): admin routes answer 403, another's objects answer
// exactly what a name that does not exist answers (404, same body), and lists hold only its own.
// A revoked token, a metrics token off /metrics and a forged one get nothing. In-process
// (app.request) on the real daemon and a real SQLite store; its Podman socket does not exist.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApi, OPENAPI_PATH } from '../../src/control/api.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { Daemon } from '../../src/control/daemon.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { Store } from '../../src/control/store.js';
import type { App } from '../../src/control/routes/common.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';
import { Sandboxes } from '../../src/sandbox/sandboxes.js';

const ADMIN = 'admin-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-api-scopes-'));
let app: App;
let store: Store;
let daemon: Daemon;
const tok: Record<string, string> = {};

async function call(token: string | undefined, method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  const config = loadConfig({ HOME: dir, PATH: process.env.PATH ?? '' });
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { maxConcurrent: 1, models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'mine', model: 'm' }, { name: 'theirs', model: 'm' }, { name: 'tenant-acme', model: 'm' }, { name: 'tenant-rival', model: 'm' }] },
  });
  store = new Store(join(dir, 'state.db'));
  const rt = new PodmanDriver('unix:///nonexistent/podman.sock', '/nonexistent/podman.sock');
  daemon = new Daemon({ config, cp, cpDir: dir, rt, agent: defaultSessionAgent(), store, gatewayDir: join(dir, 'gw'), say: () => undefined });
  for (const g of cp.spec.groups) store.upsertGroup(g.name, g.model, null);
  app = buildApi(daemon, store, ADMIN, { sandboxes: new Sandboxes(rt, config, store) });
  // what foreign tokens must not reach: a message, a session and turns of another group and tenant
  for (const g of ['mine', 'theirs', 'tenant-acme', 'tenant-rival']) {
    store.insertMessage({ id: `m_${g}`, group_name: g, text: `secret words of ${g}` });
    store.insertSession({ id: `s_${g}`, group_name: g, followups: 'stdin' });
  }
  store.addTurn('acme', 'acme asks', { kind: 'text' }, 50);
  store.addTurn('rival', 'rival asks', { kind: 'text' }, 50);
  // another owner's sandbox, as the store records it: the engine is never asked (it does not exist here)
  store.addSandbox({ name: 'sbx-theirs', owner: 'theirs' });
  store.setSandbox('sbx-theirs', { container_id: 'c0ffee', claimed_from: null });
  for (const scope of ['group:mine', 'tenant:acme', 'metrics', 'admin', 'sandbox:mine']) {
    const r = await call(ADMIN, 'POST', '/v1/api-tokens', { scope, name: `t-${scope}` });
    expect(r.status, r.text).toBe(201);
    tok[scope] = (JSON.parse(r.text) as { token: string }).token;
  }
});
afterAll(async () => { await daemon.stop().catch(() => undefined); store.close(); rmSync(dir, { recursive: true, force: true }); });

// What a token scoped elsewhere gets on each route: 'admin' → 403 FORBIDDEN; 'hidden' → the same
// 404 as an object that does not exist; 'list' → 200 with its own items only; 'open' → 200;
// 'sandbox' → 403 for a group or tenant token, and for another owner's sandbox token the 404 of a
// sandbox that does not exist (its sandboxes: test/security/sandbox-scope.test.ts on real Podman).
type Expect = 'admin' | 'hidden' | 'list' | 'open' | 'lifecycle-list' | 'stream' | 'sandbox' | 'signed';
const ROUTES: Record<string, Expect> = {
  'GET /v1/health': 'open',
  'GET /v1/groups': 'list',
  'PUT /v1/groups/{name}': 'admin',
  'DELETE /v1/groups/{name}': 'admin',
  'POST /v1/groups/{name}/revoke': 'admin',
  'POST /v1/groups/{name}/tokens': 'admin',
  'GET /v1/groups/{name}/usage': 'hidden',
  'GET /v1/groups/{name}/sessions': 'hidden',
  'GET /v1/groups/{name}/messages': 'hidden',
  'POST /v1/groups/{name}/messages': 'hidden',
  'GET /v1/groups/{name}/history': 'hidden',
  'DELETE /v1/groups/{name}/history': 'hidden',
  'GET /v1/messages/{id}': 'hidden',
  'GET /v1/messages/{id}/events': 'hidden',
  'GET /v1/messages/{id}/files/{fileId}': 'hidden',
  'GET /v1/sessions/{id}/events': 'hidden',
  'POST /v1/tenants/{name}/turns': 'hidden',
  'GET /v1/tenants/{name}/turns': 'hidden',
  'DELETE /v1/tenants/{name}/turns': 'hidden',
  'POST /v1/tokens/revoke': 'admin',
  'GET /v1/api-tokens': 'admin',
  'POST /v1/api-tokens': 'admin',
  'DELETE /v1/api-tokens/{id}': 'admin',
  'GET /v1/agents': 'lifecycle-list',
  'POST /v1/agents': 'admin',
  'POST /v1/agents/{name}/wake': 'hidden',
  'POST /v1/agents/{name}/activity': 'hidden',
  'GET /v1/lifecycle/events': 'lifecycle-list',
  'POST /v1/agents/{name}/stop': 'hidden',
  'POST /v1/agents/{name}/start': 'hidden',
  'DELETE /v1/agents/{name}': 'admin',
  'POST /v1/agents/{name}/upgrade': 'admin',
  'GET /v1/agents/{name}/logs': 'hidden',
  'GET /v1/models': 'admin',
  'GET /v1/whoami': 'open',
  // never ends: only its first event is read (what it filters: test/unit/dashboard-routes.test.ts)
  'GET /v1/stream': 'stream',
  'POST /v1/sandboxes': 'sandbox',
  'GET /v1/sandboxes': 'sandbox',
  'GET /v1/sandboxes/{id}': 'sandbox',
  'POST /v1/sandboxes/{id}/exec': 'sandbox',
  'GET /v1/sandboxes/{id}/files': 'sandbox',
  'PUT /v1/sandboxes/{id}/files': 'sandbox',
  'DELETE /v1/sandboxes/{id}/files': 'sandbox',
  'GET /v1/sandboxes/{id}/files/list': 'sandbox',
  'GET /v1/sandboxes/{id}/logs': 'sandbox',
  'POST /v1/sandboxes/{id}/stop': 'sandbox',
  'DELETE /v1/sandboxes/{id}': 'sandbox',
  'GET /v1/channels': 'admin',
  'PUT /v1/channels/{name}/bindings/{chat}': 'admin',
  'DELETE /v1/channels/{name}/bindings/{chat}': 'admin',
  // a platform's webhook: no clawpod token is asked for, the platform's signature is (test/security/channels.test.ts);
  // none is configured here, so every caller gets the same 404
  'POST /v1/channels/{name}/hook': 'signed',
  'GET /v1/schedules': 'admin',
  'POST /v1/schedules': 'admin',
  'DELETE /v1/schedules/{id}': 'admin',
};

const BODIES: Record<string, unknown> = {
  'PUT /v1/groups/{name}': { model: 'm' },
  'PUT /v1/channels/{name}/bindings/{chat}': { group: 'mine' },
  'POST /v1/groups/{name}/messages': { text: 'hello' },
  'POST /v1/tenants/{name}/turns': { prompt: 'p', shape: { kind: 'text' } },
  'POST /v1/tokens/revoke': { token: 'cpgw_x' },
  'POST /v1/api-tokens': { scope: 'admin' },
  'POST /v1/agents': { spec: 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: x}\nspec: {image: localhost/clawpod-agent:latest}\n' },
  'POST /v1/agents/{name}/upgrade': { version: '1' },
  'POST /v1/sandboxes': { profile: 'reference' },
  'POST /v1/sandboxes/{id}/exec': { cmd: 'id' },
  'POST /v1/schedules': { group: 'theirs', cron: '* * * * *', prompt: 'p' },
};

/** The foreign object a path names for a caller scoped to `scope`, and one that does not exist. */
function fill(path: string, scope: string, exists: boolean): string {
  const group = scope === 'group:mine' ? 'theirs' : 'tenant-rival';
  const tenant = scope === 'group:mine' ? 'acme' : 'rival';
  const name = path.startsWith('/v1/tenants/') ? tenant : group;
  const id = path.startsWith('/v1/sessions/') ? `s_${group}` : path.startsWith('/v1/api-tokens/') ? 'tok_x' : path.startsWith('/v1/sandboxes/') ? 'sbx-theirs' : `m_${group}`;
  if (path.includes('/files')) path += '?path=/etc/hostname';
  path = path.replace('{chat}', '-1001');
  return path.replace('{name}', exists ? name : `${name}-none`).replace('{id}', exists ? id : `${id}-none`);
}

describe('T1 a scoped API token reaches its own group or tenant and nothing else', () => {
  it('the OpenAPI document lists exactly the routes this test covers', async () => {
    const r = await call(undefined, 'GET', OPENAPI_PATH);
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.text) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(listed).toEqual(Object.keys(ROUTES).sort());
  });

  for (const scope of ['group:mine', 'tenant:acme']) {
    it(`${scope}: 403 on admin routes, 404 like a missing object on another's, only its own in lists`, async () => {
      for (const [route, expect_] of Object.entries(ROUTES)) {
        const [method, path] = route.split(' ') as [string, string];
        const body = BODIES[route];
        if (expect_ === 'stream') {
          const res = await app.request(path, { headers: { authorization: `Bearer ${tok[scope]}` } });
          const reader = res.body!.getReader();
          const first = new TextDecoder().decode((await reader.read()).value);
          await reader.cancel();
          expect(res.status, route).toBe(200);
          expect(first, route).toBe(`event: hello\ndata: {"kind":"${scope.split(':')[0]}"}\n\n`);
          continue;
        }
        const foreign = await call(tok[scope], method, fill(path, scope, true), body);
        const why = `${scope} ${route}: ${foreign.status} ${foreign.text.slice(0, 300)}`;
        if (expect_ === 'admin' || expect_ === 'sandbox') {
          expect(foreign.status, why).toBe(403);
          expect(JSON.parse(foreign.text).error.code, why).toBe('FORBIDDEN');
        } else if (expect_ === 'hidden') {
          const missing = await call(tok[scope], method, fill(path, scope, false), body);
          expect(foreign.status, why).toBe(404);
          // the same answer as for a name that does not exist, but for the name itself
          const norm = (t: string) => t.replaceAll('-none', '');
          expect(norm(missing.text), why).toBe(foreign.text);
        } else if (expect_ === 'list') {
          expect(foreign.status, why).toBe(200);
          const names = (JSON.parse(foreign.text) as { name: string }[]).map((g) => g.name);
          expect(names, why).toEqual([scope === 'group:mine' ? 'mine' : 'tenant-acme']);
        } else if (expect_ === 'signed') {
          expect(foreign.status, why).toBe(404);
        } else if (expect_ === 'lifecycle-list') {
          // no lifecycle in-process (no engine): a 503 that names no agent (filtering: the unit test of seesAgent)
          expect(foreign.status, why).toBe(503);
        } else {
          expect(foreign.status, why).toBe(200);
        }
        // nothing of another group or tenant in any answer
        expect(foreign.text, why).not.toMatch(/secret words of (theirs|tenant-rival)|rival asks/);
      }
    });
  }

  it('sandbox:mine: 403 on admin routes, nothing of groups, tenants or agents, another owner\'s sandbox like a missing one', async () => {
    const scope = 'sandbox:mine';
    for (const [route, expect_] of Object.entries(ROUTES)) {
      const [method, path] = route.split(' ') as [string, string];
      const body = BODIES[route];
      if (expect_ === 'stream') {
        const res = await app.request(path, { headers: { authorization: `Bearer ${tok[scope]}` } });
        const reader = res.body!.getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        await reader.cancel();
        expect(first, route).toBe('event: hello\ndata: {"kind":"sandbox"}\n\n');
        continue;
      }
      const foreign = await call(tok[scope], method, fill(path, 'tenant:acme', true), body);
      const why = `${scope} ${route}: ${foreign.status} ${foreign.text.slice(0, 300)}`;
      if (expect_ === 'admin') expect(foreign.status, why).toBe(403);
      else if (expect_ === 'list') expect(JSON.parse(foreign.text), why).toEqual([]);
      else if (expect_ === 'lifecycle-list') expect(foreign.status, why).toBe(503);
      else if (expect_ === 'open') expect(foreign.status, why).toBe(200);
      else if (expect_ === 'signed') expect(foreign.status, why).toBe(404);
      else if (expect_ === 'hidden' || (expect_ === 'sandbox' && path.includes('{id}'))) {
        const missing = await call(tok[scope], method, fill(path, 'tenant:acme', false), body);
        expect(foreign.status, why).toBe(404);
        expect(missing.text.replaceAll('-none', ''), why).toBe(foreign.text);
      } else {
        // list and create reach the sandboxes, which need the engine this API was built without
        expect(foreign.status, why).toBe(503);
      }
      expect(foreign.text, why).not.toMatch(/secret words of|rival asks|acme asks|"owner":"theirs"/);
    }
  });

  it('its own objects answer: messages, sessions, usage, turns, sending', async () => {
    const g = tok['group:mine']!;
    expect((await call(g, 'GET', '/v1/messages/m_mine')).text).toContain('secret words of mine');
    expect((await call(g, 'GET', '/v1/groups/mine/usage')).status).toBe(200);
    expect((await call(g, 'GET', '/v1/groups/mine/sessions')).status).toBe(200);
    const sent = await call(g, 'POST', '/v1/groups/mine/messages', { text: 'hi' });
    expect(sent.status, sent.text).toBe(202);
    const t = tok['tenant:acme']!;
    expect((await call(t, 'GET', '/v1/tenants/acme/turns')).text).toContain('acme asks');
    expect((await call(t, 'GET', '/v1/messages/m_tenant-acme')).status).toBe(200);
    expect((await call(t, 'GET', '/v1/groups/tenant-acme/messages')).text).toContain('secret words of tenant-acme');
  });

  it('a metrics token, a revoked token and forged ones get nothing from the API', async () => {
    const m = await call(tok.metrics, 'GET', '/v1/groups');
    expect(m.status).toBe(403);
    for (const forged of [`${tok['group:mine']}x`, tok['group:mine']!.slice(0, -1), 'cpapi_', `cpapi_${'A'.repeat(32)}`, ADMIN.toUpperCase()]) {
      expect((await call(forged, 'GET', '/v1/groups')).status, forged).toBe(401);
    }
    const list = JSON.parse((await call(ADMIN, 'GET', '/v1/api-tokens')).text) as { id: string; scope: string }[];
    // listing never shows a value
    expect(JSON.stringify(list)).not.toContain(tok['group:mine']);
    const id = list.find((x) => x.scope === 'group:mine')!.id;
    expect((await call(tok.admin, 'DELETE', `/v1/api-tokens/${id}`)).status).toBe(200);
    expect((await call(tok['group:mine'], 'GET', '/v1/groups')).status).toBe(401);
    // a scoped token cannot make itself a wider one
    expect((await call(tok['tenant:acme'], 'POST', '/v1/api-tokens', { scope: 'admin' })).status).toBe(403);
  });

  it('a bad scope is refused with the forms that exist', async () => {
    for (const scope of ['root', 'group:', 'tenant:../x', 'group:UPPER', 'group:a b', 'sandbox:', 'sandbox:../x']) {
      const r = await call(ADMIN, 'POST', '/v1/api-tokens', { scope });
      expect(r.status, `${scope}: ${r.text}`).toBe(400);
      expect(r.text).toContain('admin, metrics, group:NAME, tenant:NAME or sandbox:OWNER');
    }
  });
});
