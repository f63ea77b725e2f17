// Provider keys never enter a container: a canary key kept in the vault is used through the LLM
// gateway for a whole session, then searched for everywhere an agent or a user could see it.
// Also the gateway's refusals: a model outside the allowlist, an exhausted budget, a revoked token.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { clawpod, podman, scratchEnv, tmpDir } from '../helpers/cli.js';
import { modelServer, startPlane, type MessageView, type Plane } from '../helpers/control.js';
import { formsOf } from '../../src/secrets/redact.js';

const CANARY = `sk-canary-${randomBytes(16).toString('hex')}`;
const FORMS = formsOf(CANARY);
const G = `gw${process.pid.toString(36)}`;
let model: ModelServer;
let plane: Plane;
let env: Record<string, string>;

function yaml(m: ModelServer, extra = ''): string {
  return `apiVersion: clawpod.dev/v1alpha1
kind: ControlPlane
spec:
  gateway: {listen: "127.0.0.1:0"}
  models:
    claude: {provider: anthropic, model: scripted, baseUrl: "${m.baseUrl('anthropic')}", apiKey: {source: vault, secretRef: {name: anthropic}}}
    gpt: {provider: openai, model: scripted, baseUrl: "${m.baseUrl('openai')}", apiKey: {source: vault, secretRef: {name: anthropic}}}
    missing: {provider: openai, model: scripted, baseUrl: "${m.baseUrl('openai')}", apiKey: {source: vault, secretRef: {name: nope}}}
  groups:
    - {name: ${G}leak, model: claude}
    - {name: ${G}deny, model: gpt, models: [claude]}
    - {name: ${G}budget, model: claude, budget: {period: 1h, requests: 1}}
    - {name: ${G}revoke, model: claude}
    - {name: ${G}nokey, model: missing}
${extra}`;
}

/** Every place the canary may not be, as [where, text]. */
const found = (where: string, text: string): string[] => FORMS.filter((f) => text.includes(f)).map((f) => `${where}: ${f === CANARY ? 'the key' : `an encoded form (${f})`}`);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

async function ask(group: string, text: string): Promise<{ m: MessageView; events: { type: string; data: Record<string, unknown> }[] }> {
  const events: { type: string; data: Record<string, unknown> }[] = [];
  let id = '';
  for await (const e of plane.client.send(group, text)) { events.push(e); if (e.type === 'queued') id = String(e.data.id); }
  return { m: await plane.client.call<MessageView>('GET', `/v1/messages/${id}`), events };
}

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  model = await modelServer();
  const home = scratchEnv();
  const dataDir = tmpDir();
  env = { ...home, CLAWPOD_DATA_DIR: dataDir, CLAWPOD_CONFIG_DIR: join(home.HOME!, 'config') };
  const set = await clawpod(['secret', 'set', 'anthropic'], { env, input: CANARY });
  expect(set.code, set.stderr).toBe(0);
  plane = await startPlane(yaml(model), { dataDir, env });
}, 300_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
});

describe('LLM gateway', () => {
  it('leak test: the canary key is used upstream and found nowhere else', async () => {
    const r = await ask(`${G}leak`, 'run: env; ls -la /run/secrets /run/clawpod/gateway 2>&1; cat /proc/1/environ 2>&1; grep -r sk-canary / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -3; echo scanned');
    expect(r.m.status, JSON.stringify(r.events.slice(-3))).toBe('done');
    expect(String(r.events.find((e) => e.type === 'tool_result')?.data.output)).toContain('scanned');
    // positive control: the provider did receive the real key, from the gateway
    const upstream = model.requests.filter((q) => q.provider === 'anthropic');
    expect(upstream.length).toBeGreaterThan(0);
    expect(upstream.every((q) => q.headers['x-api-key'] === CANARY)).toBe(true);

    // the search itself finds the key and its encodings where they are
    expect(found('self-check', `x-api-key: ${CANARY}`)).not.toEqual([]);
    expect(found('self-check', Buffer.from(`user:${CANARY}`).toString('base64'))).not.toEqual([]);
    const leaks: string[] = [];
    let scanned = 0;
    // environment of every process of every session container, read from the host
    const containers = podman(['ps', '-a', '--filter', 'label=dev.clawpod.role=session', '--format', '{{.ID}}']).stdout.split('\n').filter(Boolean);
    expect(containers.length).toBeGreaterThan(0);
    for (const pidDir of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cg = '';
      try { cg = readFileSync(`/proc/${pidDir}/cgroup`, 'utf8'); } catch { continue; }
      if (!containers.some((id) => cg.includes(id))) continue;
      try { leaks.push(...found(`/proc/${pidDir}/environ`, readFileSync(`/proc/${pidDir}/environ`, 'utf8'))); scanned++; } catch { /* gone */ }
    }
    expect(scanned).toBeGreaterThan(0);
    // inspect of every container, and their logs
    const all = podman(['ps', '-a', '--format', '{{.ID}}']).stdout.split('\n').filter(Boolean);
    for (const id of all) {
      leaks.push(...found(`podman inspect ${id}`, podman(['inspect', id]).stdout));
      const logs = podman(['logs', id]);
      leaks.push(...found(`podman logs ${id}`, logs.stdout + logs.stderr));
    }
    const inspect = await clawpod(['inspect', `clawpod-grp-${G}leak`], { env });
    leaks.push(...found('clawpod inspect', inspect.stdout + inspect.stderr));
    // every file under clawpod's data folder (the SQLite store and its WAL included)
    const files = filesUnder(env.CLAWPOD_DATA_DIR!);
    expect(files.some((f) => f.endsWith('state.db'))).toBe(true);
    for (const f of files) if (statSync(f).size < 64 * 1024 * 1024) leaks.push(...found(f, readFileSync(f).toString('latin1')));
    // the session's whole event stream, and the API's answers
    const session = r.m.session_id!;
    const evs: string[] = [];
    const res = await fetch(`${plane.client.url}/v1/sessions/${session}/events`, { headers: { authorization: `Bearer ${readFileSync(join(env.CLAWPOD_DATA_DIR!, 'control', 'token'), 'utf8').trim()}` } });
    const reader = res.body!.getReader();
    // read what is stored so far (the stream stays open while the session lives)
    const deadline = Date.now() + 1500;
    let text = '';
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<{ done: true; value: undefined }>((r2) => setTimeout(() => r2({ done: true, value: undefined }), 300))]);
      if (chunk.done) break;
      text += Buffer.from(chunk.value!).toString('utf8');
    }
    await reader.cancel();
    evs.push(text);
    expect(text).toContain('tool_result');
    leaks.push(...found('session event stream', evs.join('')));
    for (const path of ['/v1/groups', `/v1/groups/${G}leak/sessions`, `/v1/groups/${G}leak/messages`, `/v1/groups/${G}leak/usage`, `/v1/messages/${r.m.id}`, '/v1/health']) {
      leaks.push(...found(`GET ${path}`, JSON.stringify(await plane.client.call('GET', path))));
    }
    for (const args of [['group', 'ls'], ['--json', 'group', 'usage', `${G}leak`], ['--json', 'secret', 'list']]) {
      const out = await clawpod(args, { env });
      leaks.push(...found(`clawpod ${args.join(' ')}`, out.stdout + out.stderr));
    }
    leaks.push(...found('serve output', plane.output()));
    expect(leaks).toEqual([]);
    const usage = await plane.client.call<{ requests: number; inputTokens: number; outputTokens: number }>('GET', `/v1/groups/${G}leak/usage`);
    expect(usage.requests).toBe(upstream.length);
    expect(usage.inputTokens).toBeGreaterThan(0);
  });

  it('refuses a model outside the group allowlist', async () => {
    const r = await ask(`${G}deny`, 'hello');
    expect(r.m.status).toBe('failed');
    expect(r.m.error).toContain(`group ${G}deny may not use openai model "scripted"; allowed: anthropic/scripted`);
  });

  it('answers 429 when the budget is used up, saying when it resets', async () => {
    expect((await ask(`${G}budget`, 'first')).m.status).toBe('done');
    const r = await ask(`${G}budget`, 'second');
    expect(r.m.status).toBe('failed');
    expect(r.m.error).toMatch(/HTTP 429.*has used 1 of its 1 requests.*resets at/);
    const u = await clawpod(['group', 'usage', `${G}budget`], { env });
    expect(u.stdout).toContain('1 of 1 requests');
  });

  it('refuses a revoked token', async () => {
    expect((await ask(`${G}revoke`, 'before')).m.status).toBe('done');
    const rv = await clawpod(['group', 'revoke', `${G}revoke`, '--reason', 'leaked in a test'], { env });
    expect(rv).toMatchObject({ code: 0, stdout: `revoked 1 token of group ${G}revoke\n` });
    const r = await ask(`${G}revoke`, 'after');
    expect(r.m.status).toBe('failed');
    expect(r.m.error).toMatch(/HTTP 401.*token was revoked \(leaked in a test\)/);
  });

  it('names a provider key that cannot be read, at start and when used', async () => {
    expect(plane.output()).toContain('spec.models.missing.apiKey (vault nope)');
    const r = await ask(`${G}nokey`, 'hello');
    expect(r.m.status).toBe('failed');
    expect(r.m.error).toMatch(/HTTP 502.*provider key of model missing could not be read.*no entry "nope"/);
  });

  it('serves agents outside sessions over TCP with a token issued for them (the OpenClaw path)', async () => {
    const url = /LLM gateway also on (http:\/\/[\d.]+:\d+)/.exec(plane.output())?.[1];
    expect(url).toBeDefined();
    const issued = await clawpod(['group', 'token', `${G}leak`], { env });
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^cpgw_/);
    const call = () => fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'from openclaw' }] }),
    });
    const before = (await plane.client.call<{ requests: number }>('GET', `/v1/groups/${G}leak/usage`)).requests;
    const res = await call();
    expect(res.status).toBe(200);
    const body = await res.text();
    const text = [...body.matchAll(/"type":"text_delta","text":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(text).toBe('echo: from openclaw');
    expect(body).not.toContain(CANARY);
    expect(model.requests.at(-1)!.headers['x-api-key']).toBe(CANARY);
    expect((await plane.client.call<{ requests: number }>('GET', `/v1/groups/${G}leak/usage`)).requests).toBe(before + 1);
    await clawpod(['group', 'revoke', `${G}leak`], { env });
    const denied = await call();
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('token was revoked');
  });
});
