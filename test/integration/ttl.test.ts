// Expiry and spend on real Podman: a ttl'd agent and a ttl'd tenant are warned about and then
// destroyed by `clawpod serve` with nothing left (every kind of object is listed afterwards); a
// daemon killed in the middle of a destroy finishes it when it starts again; a tenant whose plan
// suspends on a spent budget is stopped and answers the limit and its reset; `notify` lets calls
// go on with an event; `clawpod gc` does the ttl's work without a daemon.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec, type CliResult } from '../helpers/cli.js';
import { lastUserText, startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('ttl');
const dir = tmpDir();
let model: ModelServer;
let plane: Plane;
let proxy = '';
const cli = (args: string[], env = plane.env): Promise<CliResult> => clawpod(args, { env, timeoutMs: 240_000 });
const ok = (r: CliResult) => { expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0); return r; };
const names = (what: 'ps' | 'volume' | 'network' | 'secret', needle: string) =>
  podman(what === 'ps' ? ['ps', '-a', '--format', '{{.Names}}'] : [what, 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n.includes(needle));

const planeYaml = () => [
  'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:',
  '  gateway: {listen: "0.0.0.0:0"}',
  '  proxy: {listen: "127.0.0.1:0", wakeTimeout: 20s}',
  '  lifecycle: {interval: 250ms}',
  '  models:',
  `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  '  groups:', `    - {name: ${P}-g, model: fix}`,
].join('\n');

type Ev = { agent: string; type: string; data: Record<string, unknown> };
const events = (agent: string): Promise<Ev[]> => plane.client.call('GET', `/v1/lifecycle/events?agent=${agent}`);

function db<T>(fn: (d: Database.Database) => T): T {
  const d = new Database(join(plane.dataDir, 'control', 'state.db'), { readonly: true });
  try { return fn(d); } finally { d.close(); }
}

/** Everything an agent or tenant NAME could leave behind, by kind; each list must be empty. */
async function everything(name: string, tenant?: string): Promise<Record<string, string[]>> {
  const vault = JSON.parse(ok(await cli(['--json', 'secret', 'ls'])).stdout) as { name: string }[];
  const recs = (sub: string) => (existsSync(join(plane.dataDir, sub)) ? readdirSync(join(plane.dataDir, sub)).filter((f) => f.includes(name)) : []);
  return {
    containers: names('ps', name), volumes: names('volume', name), networks: names('network', name), podmanSecrets: names('secret', name),
    vault: vault.map((v) => v.name).filter((n) => n.includes(name)),
    instanceRecords: recs('instances'), tenantRecords: tenant ? recs('fleet/tenants') : [],
    liveTokens: db((d) => (d.prepare('SELECT group_name FROM gateway_tokens WHERE revoked_at IS NULL AND group_name = ?').all(tenant ? `tenant-${tenant}` : `${P}-g`) as { group_name: string }[]).map((r) => r.group_name)),
    groups: tenant ? db((d) => (d.prepare('SELECT name FROM groups WHERE name = ?').all(`tenant-${tenant}`) as { name: string }[]).map((r) => r.name)) : [],
    lifecycleRows: db((d) => (d.prepare('SELECT name FROM lifecycle_agents WHERE name LIKE ?').all(`%${name}%`) as { name: string }[]).map((r) => r.name)),
  };
}
const nothing = (o: Record<string, string[]>) => Object.fromEntries(Object.keys(o).map((k) => [k, []]));

function fleet(plan: string, tenant: string, lifecycle: string, extra = ''): string {
  return `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: ${plan}}
spec:
  resources: {cpu: "0.5", memory: 256Mi}
  models: [fix]
  lifecycle: ${lifecycle}
${extra}---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${tenant}}
spec: {plan: ${plan}, profile: runner}
`;
}

function get(host: string): Promise<{ status: number; body: string }> {
  const u = new URL(proxy);
  return new Promise((res, rej) => {
    http.get({ host: u.hostname, port: u.port, path: '/healthz', headers: { host, accept: 'application/json' } }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    }).on('error', rej);
  });
}

beforeAll(async () => {
  model = await startModelServer((req) => ({ text: `echo: ${lastUserText(req)}` }));
  const dataDir = tmpDir();
  // each destroy pauses between its steps, so the test below can kill the daemon in the middle of one
  plane = await startPlane(planeYaml(), { dataDir, env: scratchEnv({ CLAWPOD_DATA_DIR: dataDir, FIXTURE_KEY: 'fixture-key-123', CLAWPOD_TEST_DESTROY_STEP_MS: '3000' }) });
  proxy = /front proxy on (http:\/\/[\d.]+:\d+)/.exec(plane.output())?.[1] ?? '';
}, 60_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  for (const n of names('ps', P)) podman(['rm', '-f', '-t', '0', n]);
  for (const n of names('volume', P)) podman(['volume', 'rm', '-f', n]);
  for (const n of names('network', P)) podman(['network', 'rm', '-f', n]);
  cleanup(P);
}, 120_000);

describe('ttl', () => {
  it('warns, then destroys an agent with its volume, secrets, vault entries and gateway token', async () => {
    const name = `${P}-a`;
    const spec = writeSpec(dir, 'a.yaml', agentYaml(name, [
      'profile: runner', 'network: bridge', `llm: {group: ${P}-g}`,
      'secrets: [{name: note, source: env, secretRef: {name: NOTE}, exposeAs: file}]',
      'lifecycle: {ttl: 8s, ttlWarning: 6s}',
    ].join('\n')));
    ok(await cli(['run', '-d', '-f', spec], { ...plane.env, NOTE: 'a-note-value' }));
    const before = await everything(name);
    expect(before.containers).toEqual([name]);
    expect(before.vault.length).toBeGreaterThanOrEqual(2); // the runner's own token and its gateway token
    expect(before.liveTokens.length).toBeGreaterThanOrEqual(1);
    const warned = await waitFor('ttl_warning', async () => (await events(name)).find((e) => e.type === 'ttl_warning'), 20_000);
    expect(warned.data.inSeconds).toBeGreaterThan(0);
    const row = (JSON.parse((await cli(['--json', 'ps'])).stdout) as { name: string; next: { action: string } | null }[]).find((x) => x.name === name);
    expect(row?.next?.action).toBe('destroy');
    const done = await waitFor('destroyed', async () => (await events(name)).find((e) => e.type === 'destroyed'), 40_000);
    expect(done.data.removed).toEqual(expect.arrayContaining([`container ${name}`, `volume clawpod-${name}-workspace`]));
    expect(await everything(name)).toEqual(nothing(before));
  }, 120_000);

  it('a tenant is destroyed with its network, volumes, group and records; a daemon killed mid-destroy finishes it on restart', async () => {
    const t = `${P}-t`;
    writeFileSync(join(dir, 'tenant.yaml'), fleet(`${P}-p`, t, '{ttl: 14s, ttlWarning: 5s}'));
    ok(await cli(['tenant', 'apply', '-f', join(dir, 'tenant.yaml')]));
    const agent = `tenant-${t}`;
    const before = await everything(t, t);
    expect(before.networks).toEqual([`clawpod-${agent}`]);
    expect(before.volumes.length).toBe(2);
    expect(before.groups).toEqual([agent]);
    await waitFor('destroying', async () => (await events(agent)).find((e) => e.type === 'destroying'), 40_000);
    // the container goes first; the daemon dies before the rest
    await waitFor('container gone', () => names('ps', agent).length === 0, 10_000);
    await plane.stop('SIGKILL');
    expect(names('volume', t).length, 'killed too late to be half-way').toBe(2);
    expect(names('network', t)).toEqual([`clawpod-${agent}`]);
    plane = await startPlane(planeYaml(), { dataDir: plane.dataDir, env: { ...plane.env, CLAWPOD_TEST_DESTROY_STEP_MS: '0' } });
    proxy = /front proxy on (http:\/\/[\d.]+:\d+)/.exec(plane.output())?.[1] ?? '';
    await waitFor('destroyed after the restart', async () => (await events(agent)).find((e) => e.type === 'destroyed'), 30_000);
    expect(plane.output()).toContain('resumed after a restart');
    expect(await everything(t, t)).toEqual(nothing(before));
  }, 180_000);
});

describe('spent budgets', () => {
  it('suspend: the tenant is stopped and a wake answers the limit and its reset', async () => {
    const t = `${P}-s`;
    writeFileSync(join(dir, 'spend.yaml'), fleet(`${P}-ps`, t, '{onBudgetExhausted: suspend}', '  budget: {period: 1d, requests: 1}\n'));
    ok(await cli(['tenant', 'apply', '-f', join(dir, 'spend.yaml')]));
    ok(await cli(['tenant', 'chat', t, 'first']));
    const second = await cli(['tenant', 'chat', t, 'second']);
    expect(second.code).not.toBe(0);
    expect(`${second.stdout}${second.stderr}`).toMatch(/1 of its 1 requests.*resets at \d{4}-/s);
    const agent = `tenant-${t}`;
    const e = await waitFor('budget_exhausted', async () => (await events(agent)).find((x) => x.type === 'budget_exhausted'), 10_000);
    expect(e.data).toMatchObject({ action: 'suspend', group: agent });
    await waitFor('suspended', () => podman(['inspect', '-f', '{{.State.Status}}', agent]).stdout.trim() === 'exited', 20_000);
    const r = await get(`${agent}.localhost`);
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'BUDGET_EXHAUSTED', message: expect.stringMatching(/suspended until \d{4}-.*1 of its 1 requests/) });
    ok(await cli(['tenant', 'delete', t]));
  }, 180_000);

  it('notify: calls go on past the budget, the operator gets one event', async () => {
    const t = `${P}-n`;
    writeFileSync(join(dir, 'notify.yaml'), fleet(`${P}-pn`, t, '{onBudgetExhausted: notify}', '  budget: {period: 1d, requests: 1}\n'));
    ok(await cli(['tenant', 'apply', '-f', join(dir, 'notify.yaml')]));
    for (const w of ['one', 'two', 'three']) expect(ok(await cli(['tenant', 'chat', t, w])).stdout.trim()).toBe(`echo: ${w}`);
    const ev = (await events(`tenant-${t}`)).filter((x) => x.type === 'budget_exhausted');
    expect(ev.length).toBe(1);
    expect(ev[0]!.data).toMatchObject({ action: 'notify' });
    ok(await cli(['tenant', 'delete', t]));
  }, 180_000);
});

describe('a message for a suspended tenant', () => {
  it('tenant chat wakes it, saying how long that takes, and gets the answer', async () => {
    const t = `${P}-w`;
    writeFileSync(join(dir, 'wake.yaml'), fleet(`${P}-pw`, t, '{idle: [{after: 2s, action: stop}]}'));
    ok(await cli(['tenant', 'apply', '-f', join(dir, 'wake.yaml')]));
    const agent = `tenant-${t}`;
    await waitFor('suspended', () => podman(['inspect', '-f', '{{.State.Status}}', agent]).stdout.trim() === 'exited', 20_000);
    const r = ok(await cli(['tenant', 'chat', t, 'are you there']));
    expect(r.stderr).toMatch(new RegExp(`${agent} is suspended: waking it \\(about [\\d.]+ s\\)`));
    expect(r.stdout.trim()).toBe('echo: are you there');
    ok(await cli(['tenant', 'delete', t]));
  }, 120_000);
});

describe('clawpod gc without a daemon', () => {
  it('destroys an expired agent and its volume, and leaves an unexpired one', async () => {
    const env = scratchEnv({ CLAWPOD_DATA_DIR: tmpDir() });
    const gone = `${P}-gc1`;
    const kept = `${P}-gc2`;
    ok(await cli(['run', '-d', '-f', writeSpec(dir, 'gc1.yaml', agentYaml(gone, `lifecycle: {ttl: 1s}\n${IDLE_COMMAND}`))], env));
    // its ttl counts from a moment before `run` returned: a second after that it has passed
    const expired = Date.now() + 1000 + 50;
    ok(await cli(['run', '-d', '-f', writeSpec(dir, 'gc2.yaml', agentYaml(kept, `lifecycle: {ttl: 1h}\n${IDLE_COMMAND}`))], env));
    await new Promise((r) => setTimeout(r, Math.max(0, expired - Date.now())));
    const r = ok(await cli(['gc'], env));
    expect(r.stdout).toContain(`removed expired ${gone}: container ${gone}, volume clawpod-${gone}-workspace`);
    expect(names('ps', gone)).toEqual([]);
    expect(names('volume', gone)).toEqual([]);
    expect(names('ps', kept)).toEqual([kept]);
    expect(ok(await cli(['gc'], env)).stdout.trim()).toBe('no expired agents');
  }, 120_000);
});
