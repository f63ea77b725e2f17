// Property-based fuzzing of the control plane's HTTP API, in-process through Hono's app.request()
// (no socket): random bodies, content types, path names and methods to every route. Every answer
// is JSON; a refusal is a 4xx with {error: {code, message}}; never a 500, never a throw (the
// lifecycle's routes answer 503 RUNTIME_UNAVAILABLE: this daemon has no lifecycle, having no engine;
// so do the sandboxes' once a request has passed every check and reaches the engine).
// The daemon is the real one over a real SQLite store; its runtime is a real Podman driver whose
// socket does not exist, so a message that is accepted fails to start a session, harmlessly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApi } from '../../src/control/api.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { Daemon } from '../../src/control/daemon.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { Store } from '../../src/control/store.js';
import { PodmanDriver } from '../../src/runtime/podman-driver.js';
import { Sandboxes } from '../../src/sandbox/sandboxes.js';
import { params } from './fuzz-kit.js';

const TOKEN = 'fuzz-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'clawpod-fuzz-api-'));
let app: Hono;
let store: Store;
let daemon: Daemon;

beforeAll(() => {
  const config = loadConfig({ HOME: dir, PATH: process.env.PATH ?? '' });
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { maxConcurrent: 1, models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'g1', model: 'm' }] },
  });
  store = new Store(join(dir, 'state.db'));
  const rt = new PodmanDriver('unix:///nonexistent/podman.sock', '/nonexistent/podman.sock');
  daemon = new Daemon({ config, cp, cpDir: dir, rt, agent: defaultSessionAgent(), store, gatewayDir: join(dir, 'gw'), say: () => undefined });
  for (const g of cp.spec.groups) store.upsertGroup(g.name, g.model, null);
  // a sandbox named like the fuzzer's names: requests reach it, then the engine that is not there
  store.addSandbox({ name: 'g1', owner: null });
  store.setSandbox('g1', { container_id: 'c0ffee', claimed_from: null });
  app = buildApi(daemon, store, TOKEN, { sandboxes: new Sandboxes(rt, config, store) });
});
afterAll(async () => { await daemon.stop().catch(() => undefined); store.close(); rmSync(dir, { recursive: true, force: true }); });

const ROUTES: readonly [string, string][] = [
  ['PUT', '/v1/groups/:name'], ['POST', '/v1/groups/:name/revoke'], ['POST', '/v1/groups/:name/tokens'], ['POST', '/v1/tokens/revoke'],
  ['POST', '/v1/groups/:name/messages'], ['GET', '/v1/groups'], ['GET', '/v1/health'], ['GET', '/v1/groups/:name/usage'],
  ['GET', '/v1/groups/:name/sessions'], ['GET', '/v1/groups/:name/messages'], ['GET', '/v1/messages/:name'],
  ['DELETE', '/v1/groups/:name'], ['PATCH', '/v1/nothing/:name'], ['GET', '/:name'],
  ['GET', '/v1/api-tokens'], ['POST', '/v1/api-tokens'], ['DELETE', '/v1/api-tokens/:name'], ['GET', '/v1/openapi.json'],
  ['POST', '/v1/tenants/:name/turns'], ['GET', '/v1/tenants/:name/turns'], ['DELETE', '/v1/tenants/:name/turns'],
  ['POST', '/v1/agents'], ['POST', '/v1/agents/:name/wake'], ['POST', '/v1/agents/:name/activity'], ['GET', '/v1/sessions/:name/events'],
  ['POST', '/v1/agents/:name/stop'], ['POST', '/v1/agents/:name/start'], ['DELETE', '/v1/agents/:name'], ['POST', '/v1/agents/:name/upgrade'],
  ['GET', '/v1/agents/:name/logs'], ['GET', '/v1/models'], ['GET', '/v1/whoami'],
  ['POST', '/v1/sandboxes'], ['GET', '/v1/sandboxes'], ['GET', '/v1/sandboxes/:name'], ['POST', '/v1/sandboxes/:name/exec'],
  ['GET', '/v1/sandboxes/:name/files?path=/etc/x'], ['PUT', '/v1/sandboxes/:name/files?path=/x&mode=4755'], ['DELETE', '/v1/sandboxes/:name/files?path=/'],
  ['GET', '/v1/sandboxes/:name/files/list?path=../x'], ['GET', '/v1/sandboxes/:name/logs?tail=5'], ['POST', '/v1/sandboxes/:name/stop'], ['DELETE', '/v1/sandboxes/:name'],
];

const name = fc.oneof(fc.constantFrom('g1', 'g2', 'G1', '', '..', '__proto__', 'constructor', 'a'.repeat(300), '%00', 'x y'), fc.string({ unit: 'binary', maxLength: 20 }));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ model: fc.jsonValue({ maxDepth: 1 }), text: fc.jsonValue({ maxDepth: 1 }), system: fc.jsonValue({ maxDepth: 1 }), token: fc.jsonValue({ maxDepth: 1 }), reason: fc.jsonValue({ maxDepth: 1 }), scope: fc.oneof(fc.constantFrom('admin', 'metrics', 'group:g1', 'tenant:x', 'group:../x'), fc.jsonValue({ maxDepth: 1 })), prompt: fc.jsonValue({ maxDepth: 1 }), spec: fc.oneof(fc.constantFrom('kind: Agent', 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: "../x"}\nspec: {}', '{', '---\n---'), fc.string({ maxLength: 200 })), shape: fc.jsonValue({ maxDepth: 2 }), cmd: fc.oneof(fc.constantFrom('id', '', ['ls', '-la'], []), fc.jsonValue({ maxDepth: 1 })), profile: fc.oneof(fc.constantFrom('reference', 'toString', '../x'), fc.jsonValue({ maxDepth: 1 })), pool: fc.jsonValue({ maxDepth: 1 }), timeoutMs: fc.jsonValue({ maxDepth: 1 }), __proto__: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.constantFrom('', '{', '{"text":', 'null', '[]', '"x"', '{"model":"m"}', '{"model":"nope"}', '{"text":"hi"}', '\uFEFF{"text":"hi"}', `{"text":"${'x'.repeat(70_000)}"}`),
);
const contentType = fc.oneof(fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''), fc.string({ maxLength: 20 }));
const auth = fc.oneof(fc.constant(`Bearer ${TOKEN}`), fc.constant(`Bearer ${TOKEN}`), fc.constantFrom(undefined, 'Bearer', 'Bearer ', `bearer ${TOKEN}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`), fc.string({ maxLength: 30 }));

describe('fuzz: control plane HTTP API (in-process)', () => {
  it('random bodies, content types, names and tokens → JSON; a refusal is a coded 4xx, never a 500', async () => {
    const t0 = performance.now();
    await fc.assert(fc.asyncProperty(fc.constantFrom(...ROUTES), name, body, contentType, auth, async ([method, route], n, b, ct, a) => {
      const path = route.replace(':name', encodeURIComponent(n));
      const headers: Record<string, string> = {};
      if (ct !== undefined) headers['content-type'] = ct;
      if (a !== undefined) headers.authorization = a;
      const res = await app.request(path, { method, headers, ...(method === 'GET' ? {} : { body: b }) });
      expect(res.headers.get('content-type') ?? '').toContain('application/json');
      const json = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
      // the one 5xx allowed: the lifecycle's routes on a daemon that runs without one (no engine here)
      // and the sandboxes' routes reaching the engine (there is none)
      const noLifecycle = res.status === 503 && json.error?.code === 'RUNTIME_UNAVAILABLE' && (path.startsWith('/v1/agents') || path.startsWith('/v1/sandboxes'));
      if (!noLifecycle) expect(res.status, `${method} ${path} ${b.slice(0, 80)}: ${JSON.stringify(json).slice(0, 200)}`).toBeLessThan(500);
      if (res.status >= 400) {
        expect(typeof json.error?.code, JSON.stringify(json)).toBe('string');
        expect(typeof json.error?.message).toBe('string');
      }
    }), params(3000));
    console.log(`fuzz api (3000): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  });
});
