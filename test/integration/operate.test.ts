// Operating a real `clawpod serve` on real Podman as an operator does: the OpenAPI document it
// serves, scoped tokens made with `clawpod token create` (a group's token chats with its group
// and nothing else; revoked, it is refused), switching a group's model, and a Prometheus scrape
// (with a metrics token) whose counters moved with the chat.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, tmpDir, uniquePrefix, writeSpec, type CliResult } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';

const P = uniquePrefix('op');
const G1 = `${P}one`;
const G2 = `${P}two`;
let model: ModelServer;
let plane: Plane;

const cli = (args: string[], token?: string): Promise<CliResult> => clawpod(args, { env: { ...plane.env, ...(token ? { CLAWPOD_TOKEN: token } : {}) }, timeoutMs: 120_000 });
const readToken = () => readFileSync(join(plane.dataDir, 'control', 'token'), 'utf8').trim();
const ok = (r: CliResult) => { expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0); return r; };
const scrape = async (token: string) => {
  const res = await fetch(`${plane.client.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
};
/** The value of one sample in Prometheus text, 0 when absent. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
};

beforeAll(async () => {
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [G1, G2] }));
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe('operating clawpod serve: OpenAPI, scoped tokens, metrics', () => {
  it('serves its OpenAPI 3.1 document without a token', async () => {
    const res = await fetch(`${plane.client.url}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/groups/{name}/messages');
  });

  it("a group's token chats with its group, sees nothing else, and is refused once revoked", async () => {
    const made = ok(await cli(['--json', 'token', 'create', '--scope', `group:${G1}`, '--name', 'team one']));
    const { id, token } = JSON.parse(made.stdout) as { id: string; token: string };
    expect(token).toMatch(/^cpapi_/);
    const answer = ok(await cli(['send', G1, 'hello from team one'], token));
    expect(answer.stdout).toContain('echo: hello from team one');
    // another group: the same answer as a group that does not exist, and no list of the others
    const other = await cli(['send', G2, 'let me in'], token);
    expect(other.code).toBe(6);
    expect(other.stderr).toContain(`no group named ${G2}`);
    expect(other.stderr).not.toContain('known groups');
    const groups = JSON.parse(ok(await cli(['--json', 'group', 'ls'], token)).stdout) as { name: string }[];
    expect(groups.map((g) => g.name)).toEqual([G1]);
    // admin verbs are refused with the scope named
    const admin = await cli(['token', 'ls'], token);
    expect(admin.code).toBe(8);
    expect(admin.stderr).toContain(`scoped to group ${G1}`);
    // the list (admin) shows it, never its value
    const ls = ok(await cli(['token', 'ls']));
    expect(ls.stdout).toContain(id);
    expect(ls.stdout).toContain('team one');
    expect(ls.stdout).not.toContain(token);
    ok(await cli(['token', 'revoke', id]));
    const after = await cli(['send', G1, 'still me?'], token);
    expect(after.code).toBe(8);
    expect(after.stderr).toContain('UNAUTHORIZED');
  }, 180_000);

  it("switches a group's model at once, without a restart: its running session ends and the next one uses the new model", async () => {
    ok(await cli(['send', G2, 'on the first model']));
    const before = model.requests.length;
    ok(await cli(['group', 'add', G2, '--model', 'fixa']));
    ok(await cli(['send', G2, 'which provider now?']));
    expect(model.requests.slice(before).map((q) => q.provider)).toEqual(['anthropic']);
    const sessions = JSON.parse(ok(await cli(['--json', 'group', 'ls'])).stdout) as { name: string }[];
    expect(sessions.some((g) => g.name === G2)).toBe(true);
    const ended = await plane.client.call<{ end_reason: string | null }[]>('GET', `/v1/groups/${G2}/sessions`);
    expect(ended.map((x) => x.end_reason)).toContain('its group\'s model was switched from fix to fixa');
  }, 120_000);

  it('a metrics token scrapes /metrics; the chat moved its counters; other tokens get nothing', async () => {
    const { token } = JSON.parse(ok(await cli(['--json', 'token', 'create', '--scope', 'metrics'])).stdout) as { token: string };
    const t0 = performance.now();
    const m = await scrape(token);
    const ms = performance.now() - t0;
    expect(m.status).toBe(200);
    console.log(`/metrics scrape: ${ms.toFixed(1)} ms, ${m.text.length} bytes`);
    expect(sample(m.text, 'clawpod_messages_total', { outcome: 'answered' })).toBeGreaterThanOrEqual(2);
    expect(sample(m.text, 'clawpod_agent_start_seconds_count', { runtime: 'podman', profile: 'session' })).toBeGreaterThanOrEqual(2);
    expect(sample(m.text, 'clawpod_gateway_requests_total', { group: G1, model: 'fix', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(m.text, 'clawpod_gateway_requests_total', { group: G2, model: 'fixa', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(m.text, 'clawpod_errors_total', { code: 'NOT_FOUND' })).toBeGreaterThanOrEqual(1);
    expect(m.text).toContain('clawpod_process_cpu_seconds_total');
    // the metrics token opens nothing else; a group's token does not scrape
    const api = await fetch(`${plane.client.url}/v1/groups`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(403);
    const g = JSON.parse(ok(await cli(['--json', 'token', 'create', '--scope', `group:${G2}`])).stdout) as { token: string };
    expect((await scrape(g.token)).status).toBe(403);
    expect((await scrape('nope')).status).toBe(401);
    // and nothing secret is in it
    expect(m.text).not.toContain('fixture-key-123');
  }, 120_000);

  it("a group's token lists only the agent named like its group; another's answers like one that does not exist", async () => {
    const dir = tmpDir();
    for (const name of [G1, G2]) {
      ok(await cli(['run', '-d', '-f', writeSpec(dir, `${name}.yaml`, agentYaml(name, 'image: localhost/clawpod-agent:latest\ncommand: [node, /opt/clawpod/hello-agent.mjs]'))]));
    }
    const get = async (token: string, path: string, method = 'GET') => {
      const res = await fetch(`${plane.client.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, text: await res.text() };
    };
    const admin = JSON.parse((await get(readToken(), '/v1/agents')).text) as { name: string }[];
    expect(admin.map((a) => a.name)).toEqual(expect.arrayContaining([G1, G2]));
    const { token } = JSON.parse(ok(await cli(['--json', 'token', 'create', '--scope', `group:${G1}`])).stdout) as { token: string };
    const mine = JSON.parse((await get(token, '/v1/agents')).text) as { name: string }[];
    expect(mine.map((a) => a.name)).toEqual([G1]);
    const theirs = await get(token, `/v1/agents/${G2}/activity`, 'POST');
    const nobody = await get(token, `/v1/agents/${G2}x/activity`, 'POST');
    expect(theirs.status).toBe(404);
    expect(theirs.text).toBe(nobody.text.replace(`${G2}x`, G2));
    expect((await get(token, `/v1/agents/${G1}/activity`, 'POST')).status).toBe(200);
  }, 120_000);
});
