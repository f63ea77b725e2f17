// The web dashboard (/ui/) in real Chromium against a real `clawpod serve` on real Podman, with the
// scripted model server: log in by keyboard (a wrong token first), groups with their usage, switch
// a group's model, chat with a tool call streaming in (replayed after a reload), sessions, an agent
// run with the CLI stopped and started, its logs (its secret redacted), an upgrade refused with its
// reason, a token made and revoked; a tenant's token in a second browser context sees only its
// own; 302 groups keep under 40 rows in the DOM, filter on the server, and Tab walks down past the
// first rows. Every byte the browsers receive is recorded (event streams too, as they arrive) and
// none holds a secret: the provider key, a vault entry, the agent's secret. Every page is
// screenshot into test-results/dashboard-*.png.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../fixtures/chromium.js';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, podman, ROOT, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type Plane } from '../helpers/control.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('dash');
const G = `${P}g`;
const T = `${P}t`;
const AGENT = `${P}-hello`;
const CANARIES = { provider: 'fixture-key-123', vault: `vault-canary-${randomBytes(6).toString('hex')}`, agent: `agent-canary-${randomBytes(6).toString('hex')}` };
const SHOTS = join(ROOT, 'test-results');
let model: ModelServer;
let plane: Plane;
let browser: Browser;
let page: Page;
let ui = '';
let admin = '';
/** Everything the browsers received: response bodies and event-stream chunks. */
const received: string[] = [];
const problems: string[] = [];

/** Records every body the page receives; event streams chunk by chunk as they arrive (CDP), not only once they end. */
async function record(p: Page): Promise<void> {
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('Network.enable');
  const streams = new Set<string>();
  const keep = (data: string, base64: boolean) => received.push(base64 ? Buffer.from(data, 'base64').toString() : data);
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.mimeType !== 'text/event-stream') return;
    streams.add(e.requestId);
    (cdp.send as (m: string, a: object) => Promise<{ bufferedData: string }>)('Network.streamResourceContent', { requestId: e.requestId }).then((r) => keep(r.bufferedData, true), () => undefined);
  });
  cdp.on('Network.dataReceived', (e) => { if (streams.has(e.requestId) && e.data) keep(e.data, true); });
  cdp.on('Network.loadingFinished', (e) => {
    if (!streams.has(e.requestId)) cdp.send('Network.getResponseBody', { requestId: e.requestId }).then((r) => keep(r.body, r.base64Encoded), () => undefined);
  });
  p.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  p.on('pageerror', (e) => problems.push(e.message));
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });
  // every control of every page has an accessible name (a label, or aria-label on list rows)
  const unnamed = await p.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => !((e as HTMLInputElement).labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby'))).map((e) => e.outerHTML));
  expect(unnamed, name).toEqual([]);
}

async function login(p: Page, token: string): Promise<void> {
  await p.goto(ui);
  // keyboard only: Tab to the field, type, Tab to the button, Enter
  for (let i = 0; i < 10 && !(await p.evaluate(() => document.activeElement?.id === 'token')); i++) await p.keyboard.press('Tab');
  await p.keyboard.type(token);
  await p.keyboard.press('Tab');
  expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Log in');
  await p.keyboard.press('Enter');
}

/** Follows a link of the main navigation. */
const go = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
const row = (p: Page, name: string) => p.locator(`.vrow[data-name="${name}"]`);

beforeAll(async (ctx) => {
  need(ctx, hasChromium(), 'chromium (Debian package)');
  model = await modelServer();
  const dataDir = tmpDir();
  const env = scratchEnv({ CLAWPOD_DATA_DIR: dataDir, FIXTURE_KEY: CANARIES.provider, AGENT_CANARY: CANARIES.agent });
  expect((await clawpod(['secret', 'set', 'dashcanary'], { env, input: CANARIES.vault })).code).toBe(0);
  // a third model whose key is the vault's canary: read (and known to the redactor) at start
  const yaml = planeYaml(model, { groups: [G, `tenant-${T}`], extra: '  gateway: {budget: {requests: 500}}' })
    .replace('  groups:\n', `    vaulted: {provider: openai, model: scripted, baseUrl: "${model.baseUrl('openai')}", apiKey: {source: vault, secretRef: {name: dashcanary}}}\n  groups:\n`);
  plane = await startPlane(yaml, { dataDir, env });
  ui = `${plane.client.url}/ui/`;
  admin = readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  const spec = writeSpec(tmpDir(), 'hello.yaml', agentYaml(AGENT, [
    'image: localhost/clawpod-agent:latest',
    // the agent prints its own secret: the logs page must show it redacted
    'command: [sh, -c, \'echo "my token is $(cat /run/secrets/API_TOKEN)"; exec node /opt/clawpod/hello-agent.mjs\']',
    'secrets: [{name: API_TOKEN, source: env, secretRef: {name: AGENT_CANARY}}]',
  ].join('\n')));
  const run = await clawpod(['run', '-d', '-f', spec], { env });
  expect(run.code, run.stderr).toBe(0);
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await record(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await plane?.stop();
  await model?.close();
  cleanup(P);
}, 60_000);

describe('dashboard', () => {
  it('serve prints the dashboard URL and, the first time, the admin token; /ui/ has a strict CSP', async () => {
    expect(plane.output()).toContain(`dashboard: ${ui}`);
    expect(plane.output()).toContain(`admin token (shown this once; kept in ${plane.dataDir}/control/token): ${admin}`);
    const res = await fetch(ui);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('a wrong token is refused with a clear error; the right one, typed by keyboard, logs in', async () => {
    await login(page, 'not-the-token');
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('This token was refused');
    await shot(page, 'login-refused');
    await page.locator('#token').fill('');
    await login(page, admin);
    await page.locator('#who').getByText('admin').waitFor();
    await page.locator('#live.on').waitFor();
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('groups: usage per group; switching a group\'s model; chat streams the answer with the tool call', async () => {
    await go(page, 'Groups');
    await row(page, G).waitFor();
    expect(await row(page, `tenant-${T}`).count()).toBe(1);
    const used = async () => Number(await row(page, G).locator('[data-usage]').getAttribute('data-usage'));
    await row(page, G).locator('[data-usage]').waitFor();
    const before = await used();
    await page.getByLabel(`Model of ${G}`).selectOption('fixa');
    await page.getByText(`${G} now uses fixa`).waitFor();
    await shot(page, 'groups');

    await page.getByRole('link', { name: `Chat with ${G}` }).click();
    await page.getByLabel('Message').fill('run: echo dashboard-tool-ok');
    await page.keyboard.press('Enter');
    const turn = page.locator('.turn.new').last();
    await turn.locator('.tool[data-tool="bash"] .tool-input').getByText('echo dashboard-tool-ok').waitFor({ timeout: 30_000 });
    await turn.locator('.tool-output').getByText('dashboard-tool-ok').waitFor();
    await turn.locator('.text').getByText('result: dashboard-tool-ok').waitFor();
    await turn.locator('.status').getByText('done').waitFor();
    await page.getByLabel('Message').fill('hello there');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.turn.new').last().locator('.text').getByText('echo: hello there').waitFor({ timeout: 20_000 });
    await shot(page, 'chat');
    // a reload replays the conversation from the stored events (the token stays: sessionStorage)
    await page.reload();
    await page.locator('.turn:not(.new) .tool-output').getByText('dashboard-tool-ok').waitFor();
    await page.locator('.turn:not(.new) .text').getByText('echo: hello there').waitFor();
    // the switch took: the anthropic-shaped fixture answered
    expect(model.requests.map((q) => q.provider)).toContain('anthropic');

    await go(page, 'Groups');
    await expect.poll(used, { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 3);
    await page.getByRole('link', { name: `Sessions of ${G}` }).click();
    await page.getByRole('button', { name: /^Events of session/ }).first().click();
    await page.locator('pre.log').first().getByText(/tool_call bash/).waitFor();
    await shot(page, 'sessions');
  }, 60_000);

  it('agents: stop and start an agent run with the CLI, its logs with the secret redacted, an upgrade refused', async () => {
    const state = () => podman(['inspect', '-f', '{{.State.Status}}', AGENT]).stdout.trim();
    await go(page, 'Agents');
    await row(page, AGENT).locator('.state').getByText('running').waitFor({ timeout: 15_000 });
    await shot(page, 'agents');
    await page.getByRole('button', { name: `Stop ${AGENT}` }).click();
    await row(page, AGENT).locator('.state').getByText('stopped').waitFor({ timeout: 20_000 });
    expect(state()).toBe('exited');
    await page.getByRole('button', { name: `Start ${AGENT}` }).click();
    await row(page, AGENT).locator('.state').getByText('running').waitFor({ timeout: 20_000 });
    expect(state()).toBe('running');

    await page.getByRole('button', { name: `Upgrade ${AGENT}` }).click();
    await page.getByLabel('Version').fill('2');
    await page.getByRole('button', { name: 'Upgrade', exact: true }).click();
    await page.getByRole('log', { name: `Upgrade of ${AGENT}` }).getByText(/failed: .*not a service profile's instance/).waitFor();
    await shot(page, 'agents-upgrade');

    await page.getByRole('link', { name: `Logs of ${AGENT}` }).click();
    const log = page.getByRole('log', { name: `Logs of ${AGENT}` });
    await log.getByText('hello-agent listening').first().waitFor();
    await log.getByText('my token is [REDACTED:API_TOKEN]').first().waitFor();
    await shot(page, 'logs');
  }, 60_000);

  it('agents: create one from a spec typed in (a bad spec is refused naming the path and the fix), then delete it', async () => {
    const made = `${P}-made`;
    await go(page, 'Agents');
    await page.getByRole('button', { name: 'New agent' }).click();
    const spec = page.getByLabel('Agent spec (YAML)');
    await spec.fill(agentYaml(made, 'image: localhost/clawpod-agent:latest\nresources: {memory: lots}'));
    await page.getByRole('button', { name: 'Create and start' }).click();
    const result = page.getByRole('status', { name: 'New agent result' });
    await result.getByText(/refused: .*spec\.resources\.memory/).waitFor();
    expect(podman(['container', 'exists', made]).code).not.toBe(0);
    await spec.fill(agentYaml(made, 'image: localhost/clawpod-agent:latest\ncommand: [node, /opt/clawpod/hello-agent.mjs]'));
    await page.getByRole('button', { name: 'Create and start' }).click();
    await result.getByText(`${made} created and started`).waitFor({ timeout: 30_000 });
    await row(page, made).locator('.state').getByText('running').waitFor({ timeout: 15_000 });
    await shot(page, 'agents-new');
    await page.getByRole('button', { name: `Delete ${made}` }).click();
    await page.getByLabel('Also remove its volume').check();
    await page.getByRole('button', { name: `Delete ${made}`, exact: true }).last().click();
    await expect.poll(() => podman(['container', 'exists', made]).code, { timeout: 15_000 }).not.toBe(0);
  }, 60_000);

  it('tokens: make one (its value shown once, and it works), revoke it (refused after)', async () => {
    await go(page, 'Tokens');
    await page.getByLabel('Scope').fill(`group:${G}`);
    await page.getByLabel('Name').fill('made-in-ui');
    await page.getByRole('button', { name: 'Create token' }).click();
    const value = await page.getByLabel('New token value').inputValue();
    expect(value).toMatch(/^cpapi_/);
    const as = (t: string) => fetch(`${plane.client.url}/v1/groups`, { headers: { authorization: `Bearer ${t}` } });
    expect((await as(value)).status).toBe(200);
    await shot(page, 'tokens');
    await page.getByRole('button', { name: /^Revoke made-in-ui/ }).click();
    await page.getByText(/Revoked made-in-ui/).waitFor();
    expect((await as(value)).status).toBe(401);
  });

  it('a tenant\'s token, in another browser context, sees its own group and nothing else', async () => {
    const { token } = await plane.client.call<{ token: string }>('POST', '/v1/api-tokens', { scope: `tenant:${T}` });
    const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const p = await other.newPage();
    await record(p);
    await login(p, token);
    await p.locator('#who').getByText(`tenant ${T}`).waitFor();
    await row(p, `tenant-${T}`).waitFor();
    expect(await p.locator('.vrow').count()).toBe(1);
    expect(await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).count()).toBe(0);
    expect(await p.getByLabel(`Model of tenant-${T}`).count()).toBe(0);
    await shot(p, 'tenant-groups');
    await go(p, 'Agents');
    await p.getByText('0 agents').waitFor();
    await go(p, 'Tenants');
    await p.getByText('0 agents').waitFor();
    await shot(p, 'tenant-agents');
    // the other group's chat, typed into the address bar: the API answers as for a group that does not exist
    await p.goto(`${ui}#/groups/${G}/chat`);
    await p.locator('#alert').getByText(`no group named ${G}`).waitFor();
    await other.close();
  });

  it('a long list keeps few rows in the DOM, filters on the server, and Tab walks down it', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `${P}z${String(i).padStart(3, '0')}`);
    for (let i = 0; i < many.length; i += 50) await Promise.all(many.slice(i, i + 50).map((g) => plane.client.call('PUT', `/v1/groups/${g}`, { model: 'fix' })));
    await go(page, 'Groups');
    await page.getByText('302 groups').waitFor();
    expect(await page.locator('.vrow').count()).toBeLessThan(40);
    await page.getByLabel('Filter groups').fill(`${P}z29`);
    await page.getByText('10 groups').waitFor();
    await page.getByLabel('Filter groups').fill('');
    await page.getByText('302 groups').waitFor();
    await page.getByLabel('Filter groups').focus();
    // three controls a row (model, chat, sessions): 150 Tabs reach row ~50, past the rows first drawn
    for (let i = 0; i < 150; i++) await page.keyboard.press('Tab');
    const at = Number(await page.evaluate(() => document.activeElement?.closest('.vrow')?.getAttribute('aria-posinset')));
    expect(at).toBeGreaterThan(45);
    await shot(page, 'groups-long');
  }, 60_000);

  it('no secret value ever reached a browser; no CSP violation or script error', async () => {
    const all = received.join('\n');
    // the recorder saw event streams as they came (the chat's tool output, the log lines)
    for (const seen of ['dashboard-tool-ok', 'hello-agent listening', '[REDACTED:API_TOKEN]']) expect(all.includes(seen), seen).toBe(true);
    expect(all.length).toBeGreaterThan(20_000);
    for (const [what, value] of Object.entries(CANARIES)) expect(all.includes(value), `${what} canary in a response`).toBe(false);
    // the browser logs every refused request (a wrong token, a missing name, a bad spec): those are expected
    expect(problems.filter((m) => !/status of (400|401|404)/.test(m))).toEqual([]);
  });
});
