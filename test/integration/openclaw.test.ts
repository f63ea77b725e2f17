// The real OpenClaw (npm openclaw, pinned) as a clawpod payload, on real Podman: two instances side
// by side, model calls through clawpod's LLM gateway to the scripted model server, no provider key
// inside, state kept across rm + run, backup/restore, an upgrade, and a broken upgrade rolled back;
// last, OpenClaw's own Control UI in a real browser (Debian's chromium via playwright-core) on an
// instance whose host port is not the container's 18789 (screenshot: test-results/openclaw-ui.png).
// Slow (the image build, ~100 s cold; each gateway start ~13 s): run alone with
//   npx vitest run test/integration/openclaw.test.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { cleanup, clawpod, podman, ROOT, tmpDir, uniquePrefix, type CliResult } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';
import { chatAt, ensureOpenclawImage, OPENCLAW_IMAGE, OPENCLAW_VERSION, started } from '../helpers/openclaw.js';
import { need } from '../helpers/prereq.js';

const VERSION = OPENCLAW_VERSION;
const IMAGE = OPENCLAW_IMAGE;
const P = uniquePrefix('oc');
const A = `${P}a`;
const B = `${P}b`;
const C = `${P}c`;
const KEY = 'fixture-key-123'; // what startPlane gives the provider; the gateway alone holds it
const CHROMIUM = '/usr/bin/chromium';
let model: ModelServer;
let plane: Plane;
const info: Record<string, { port: number; token: string }> = {};

const run = (args: string[], timeoutMs = 400_000): Promise<CliResult> => clawpod(args, { env: plane.env, timeoutMs });

const chat = (name: string, text: string, token = info[name]!.token) => chatAt(info[name]!.port, token, text);

const sh = (name: string, script: string) => podman(['exec', name, 'sh', '-c', script]);

/** A host port nobody holds now (and not 18789), so the instance's host port differs from the container's. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => (port === 18789 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

/** Resolves once container `name` runs, or once `pending` (the command making it) has ended. */
async function runningOrDone(name: string, pending: Promise<unknown>): Promise<void> {
  let done = false;
  pending.then(() => { done = true; }, () => { done = true; });
  while (!done && podman(['inspect', '--format', '{{.State.Running}}', name]).stdout.trim() !== 'true') await new Promise((r) => setTimeout(r, 200));
}

beforeAll(async () => {
  await ensureOpenclawImage();
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [`${A}=fixa`, B, `${C}=fixa`], extra: '  gateway: {listen: "0.0.0.0:0"}' }));
}, 1_300_000);

afterAll(async () => {
  if (plane) await clawpod(['pool', 'rm', 'openclaw'], { env: plane.env });
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe('clawpod run openclaw', () => {
  it('runs two isolated gateways side by side, healthy on ports 20 apart, with a token shown once', async () => {
    // B starts while A's gateway boots (most of a start): once A's container runs, B's run sees it
    // and takes the next instance index, so the ports stay 20 apart as with one run after the other
    const runA = run(['run', 'openclaw', '--name', A]);
    await runningOrDone(A, runA);
    const [ra, rb] = await Promise.all([runA, run(['run', 'openclaw', '--name', B])]);
    for (const [name, r] of [[A, ra], [B, rb]] as const) {
      const s = started(name, r);
      expect(s.token, r.stdout).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(r.stderr).toContain('/healthz ok');
      expect(r.stderr).toMatch(/model: scripted \(group /);
      // the Control UI's address, the token in the fragment (the browser test below opens it)
      expect(r.stdout).toContain(`open http://127.0.0.1:${s.port}/#token=${s.token}`);
      info[name] = { port: s.port, token: s.token! };
    }
    expect(info[B]!.port - info[A]!.port).toBe(20);
    for (const name of [A, B]) {
      const h = await fetch(`http://127.0.0.1:${info[name]!.port}/healthz`);
      expect(await h.json()).toMatchObject({ ok: true });
      // hardened like every clawpod agent
      const d = JSON.parse(podman(['inspect', name]).stdout)[0];
      expect(d.HostConfig.ReadonlyRootfs).toBe(true);
      expect(d.Config.User).toBe('1000:0');
    }
    // a wrong token is refused by OpenClaw itself
    expect((await chat(A, 'hi', 'wrong-token')).status).toBe(401);
  }, 600_000);

  it("sends the gateway's model calls through clawpod's LLM gateway, with no provider key inside", async () => {
    const before = model.requests.length;
    const r = await chat(A, 'hello from alice');
    expect(r.status, r.body).toBe(200);
    expect(r.body).toContain('echo:');
    const seen = model.requests.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    // OpenClaw spoke Anthropic Messages to the gateway, which called the provider with the real key
    expect(seen.every((q) => q.provider === 'anthropic' && q.headers['x-api-key'] === KEY)).toBe(true);
    const rb = await chat(B, 'hello from bob');
    expect(rb.status, rb.body).toBe(200);
    expect(model.requests.slice(before).some((q) => q.provider === 'openai' && q.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    // running it again while it runs is refused, and costs the running one nothing (its model token stays valid)
    const again = await run(['run', 'openclaw', '--name', A]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(`a container named ${A} already exists`);
    expect((await chat(A, 'still wired?')).status).toBe(200);
    const usage = await run(['--json', 'group', 'usage', A]);
    expect(JSON.parse(usage.stdout).requests).toBeGreaterThan(0);
    // the key is nowhere an agent can look: its processes' environments, its files, its config, inspect, logs
    for (const name of [A, B]) {
      const inside = sh(name, 'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"; cat /run/secrets/* 2>/dev/null; grep -rl "' + KEY + '" /home/agent /tmp 2>/dev/null; true');
      expect(inside.code).toBe(0);
      expect(inside.stdout).not.toContain(KEY);
      expect(podman(['inspect', name]).stdout).not.toContain(KEY);
      expect(podman(['logs', name]).stdout + podman(['logs', name]).stderr).not.toContain(KEY);
    }
  }, 300_000);

  it('keeps state across rm + run: same volume, config merged, token not re-issued, bundle copied in', async () => {
    expect(sh(A, 'mkdir -p /home/agent/.openclaw/workspace && echo kept > /home/agent/.openclaw/workspace/marker.txt').code).toBe(0);
    const oldLlmToken = (await run(['secret', 'get', `${A}-llm-token`])).stdout.trim();
    expect(oldLlmToken).toMatch(/^cpgw_/);
    expect((await run(['rm', '-f', A])).code).toBe(0);
    const dir = tmpDir();
    mkdirSync(join(dir, 'bundle', 'skills', 'hello'), { recursive: true });
    writeFileSync(join(dir, 'bundle', 'AGENTS.md'), '# Alice\nBe brief.\n');
    writeFileSync(join(dir, 'bundle', 'skills', 'hello', 'SKILL.md'), '---\nname: hello\n---\nSay hello.\n');
    // and a host port of its own choosing, not the container's 18789 (the Control UI test uses it)
    const hostPort = await freePort();
    writeFileSync(join(dir, 'over.yaml'), `spec:\n  bundle: ./bundle\n  ports: [{name: gateway, containerPort: 18789, hostPort: ${hostPort}}]\n`);
    // a bundle holding a secret is refused before anything is created
    writeFileSync(join(dir, 'bundle', '.env'), 'TOKEN=x\n');
    const refused = await run(['run', 'openclaw', '--name', A, '-f', join(dir, 'over.yaml')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('spec.bundle: .env matches the blocked pattern');
    expect(podman(['container', 'exists', A]).code).not.toBe(0);
    rmSync(join(dir, 'bundle', '.env'));
    const r = await run(['run', 'openclaw', '--name', A, '-f', join(dir, 'over.yaml')]);
    const s = started(A, r);
    expect(s.token).toBeUndefined(); // shown once, on the first run only
    expect(r.stderr).toContain('reusing state volume');
    expect(r.stderr).toContain('openclaw.json: merged');
    expect(s.port).toBe(hostPort);
    info[A]!.port = s.port;
    expect(sh(A, 'cat /home/agent/.openclaw/workspace/marker.txt').stdout.trim()).toBe('kept');
    expect(sh(A, 'cat /home/agent/.openclaw/workspace/AGENTS.md /home/agent/.openclaw/workspace/skills/hello/SKILL.md').stdout).toContain('Be brief.');
    // the new run got a new model token; the old one no longer opens the gateway
    expect((await run(['secret', 'get', `${A}-llm-token`])).stdout.trim()).not.toBe(oldLlmToken);
    const gwPort = /LLM gateway also on http:\/\/[^ ]+:(\d+)/.exec(plane.output())![1];
    const stale = await fetch(`http://127.0.0.1:${gwPort}/v1/messages`, { method: 'POST', headers: { 'x-api-key': oldLlmToken, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'scripted', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
    expect(stale.status).toBe(401);
    expect((await chat(A, 'still there?')).status).toBe(200);
  }, 300_000);

  it('backs up and restores the state volume', async () => {
    const dir = tmpDir();
    const file = join(dir, 'a.tar');
    const b = await run(['backup', A, '-o', file]);
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const list = spawnSync('tar', ['-tf', file], { encoding: 'utf8' }).stdout.split('\n');
    expect(list).toContain('.openclaw/openclaw.json');
    expect(list).toContain('.openclaw/workspace/marker.txt');
    // a file that is not a backup is refused before the instance is stopped or its volume touched
    writeFileSync(join(dir, 'not.tar'), 'not a tar archive at all\n'.repeat(40));
    const bad = await run(['restore', A, '-i', join(dir, 'not.tar')]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(podman(['inspect', A]).stdout)[0].State.Running).toBe(true);
    expect(sh(A, 'rm /home/agent/.openclaw/workspace/marker.txt && echo x > /home/agent/.openclaw/workspace/after.txt').code).toBe(0);
    const r = await run(['restore', A, '-i', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('/healthz ok');
    expect(sh(A, 'cat /home/agent/.openclaw/workspace/marker.txt').stdout.trim()).toBe('kept');
    expect(sh(A, 'test -e /home/agent/.openclaw/workspace/after.txt').code).not.toBe(0);
  }, 300_000);

  it('upgrades on the same volume and port, and rolls a broken version back', async () => {
    // a "new version": the same bits under another tag
    expect(podman(['tag', IMAGE, `localhost/clawpod-openclaw:${VERSION}-next`]).code).toBe(0);
    // and a broken one: Node refuses to start
    const ctx = join(tmpDir(), 'broken');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Containerfile'), `FROM ${IMAGE}\nENV NODE_OPTIONS=--no-such-node-flag\n`);
    expect(podman(['build', '-q', '-t', `localhost/clawpod-openclaw:0.0.0-broken`, ctx]).code).toBe(0);
    // A's upgrade and B's broken one touch nothing in common: both at once (each is mostly a gateway start)
    const [up, bad] = await Promise.all([
      run(['upgrade', A, '--version', `${VERSION}-next`]),
      run(['upgrade', B, '--version', '0.0.0-broken', '--timeout', '90s']),
    ]);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(podman(['inspect', A]).stdout)[0].ImageName).toContain(`${VERSION}-next`);
    expect(sh(A, 'cat /home/agent/.openclaw/workspace/marker.txt').stdout.trim()).toBe('kept');
    expect((await chat(A, 'after upgrade')).status).toBe(200);

    expect(bad.code, bad.stderr).toBe(7);
    expect(bad.stderr).toContain('rolling back');
    expect(bad.stderr).toContain('no-such-node-flag'); // the new version's last output
    const d = JSON.parse(podman(['inspect', B]).stdout)[0];
    expect(d.ImageName).toBe(IMAGE);
    expect(d.State.Running).toBe(true);
    expect(podman(['container', 'exists', `${B}-previous`]).code).not.toBe(0);
    const h = await fetch(`http://127.0.0.1:${info[B]!.port}/healthz`);
    expect(await h.json()).toMatchObject({ ok: true });
    podman(['rmi', `localhost/clawpod-openclaw:0.0.0-broken`]);
  }, 600_000);

  it('claims a warm gateway from the pool: healthy at once, wired to its model, state on the member\'s volume', async () => {
    const fill = await run(['pool', 'fill', 'openclaw', '--size', '1']);
    expect(fill.code, fill.stderr).toBe(0);
    expect((await run(['pool', 'ls', 'openclaw'])).stdout).toContain('openclaw-pool-');
    const r = await run(['run', 'openclaw', '--name', C]);
    const s = started(C, r);
    const member = /\(warm pool: (openclaw-pool-\w+)\)/.exec(r.stdout)?.[1];
    expect(member, r.stdout).toBeDefined();
    expect(r.stderr).toContain('config applied by the running gateway');
    const seconds = Number(/healthy in ([\d.]+) s/.exec(r.stdout)?.[1]);
    expect(seconds).toBeLessThan(15); // a cold start is 13 s or more; bench/ measures it properly
    info[C] = { port: s.port, token: s.token! };
    const before = model.requests.length;
    const c = await chat(C, 'hello from a warm gateway');
    expect(c.status, c.body).toBe(200);
    expect(model.requests.slice(before).some((q) => q.provider === 'anthropic' && q.headers['x-api-key'] === KEY)).toBe(true);
    // the pool refills in the background: the claimed member is not one of its members any more;
    // pool rm waits for the refill's gateway to come up, then removes it (no load left for the next test)
    expect((JSON.parse((await run(['--json', 'pool', 'ls', 'openclaw'])).stdout) as { name: string }[]).map((m) => m.name)).not.toContain(member);
    expect((await run(['pool', 'rm', 'openclaw'])).code).toBe(0);
    expect(JSON.parse((await run(['--json', 'pool', 'ls', 'openclaw'])).stdout)).toEqual([]);
    const listed = JSON.parse((await run(['--json', 'ps'])).stdout) as { name: string; agent: string }[];
    expect(listed.find((x) => x.name === C)?.agent).toBe(C);
    const volume = /workspace: (\S+)/.exec(r.stdout)![1]!;
    expect(volume).toMatch(/^clawpod-openclaw-pool-\w+-workspace$/);
    expect((await run(['rm', '-f', C, '--volumes'])).code).toBe(0);
    expect(podman(['volume', 'exists', volume]).code).not.toBe(0);
  }, 300_000);

  it("opens OpenClaw's Control UI on a host port other than 18789, logs in by the token fragment and chats through the LLM gateway", async (ctx) => {
    need(ctx, existsSync(CHROMIUM), 'Debian chromium', 'apt-get install chromium (scripts/setup.sh does)');
    // A runs on the host port it chose (not 18789); the page's origin must be in OpenClaw's
    // gateway.controlUi.allowedOrigins, which clawpod renders from the published port
    expect(info[A]!.port).not.toBe(18789);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const shot = join(ROOT, 'test-results', 'openclaw-ui.png');
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`http://127.0.0.1:${info[A]!.port}/#token=${info[A]!.token}`);
      // logged in: the chat composer of the main session (selectors read off the real page; Playwright pierces shadow roots)
      const composer = page.locator('textarea[aria-label="Chat composer"]');
      await composer.waitFor({ timeout: 30_000 });
      expect(await page.getByText('origin not allowed').count()).toBe(0);
      const shown = await page.getByText(/^echo: /).count();
      const before = model.requests.length;
      await composer.fill('hello from the browser');
      await composer.press('Enter');
      // the composer takes words before the UI's gateway connection is up, and then Enter sends
      // nothing (seen once: the text stayed in the box for 3 minutes): press again each second until it is sent
      // (the UI may render a new composer: each wait looks at the one there now)
      const sent = async () => page.waitForFunction((el) => (el as HTMLTextAreaElement).value === '', await composer.elementHandle(), { timeout: 1000 }).then(() => true, () => false);
      for (let i = 0; i < 30 && !(await sent()); i++) if ((await composer.inputValue()) !== '') await composer.press('Enter');
      expect(await composer.inputValue()).toBe('');
      // the scripted model echoes the last block of the user turn (OpenClaw appends its context after the words typed)
      // the first turn is ~2 s on an idle machine, over a minute under load (OpenClaw prepares the session)
      // (A has chatted before: wait for one answer more than the page showed when it loaded)
      const answers = page.getByText(/^echo: /);
      await answers.nth(shown).waitFor({ state: 'attached', timeout: 180_000 });
      expect(await answers.count()).toBeGreaterThan(shown);
      await page.screenshot({ path: shot });
      // the typed words reached the model through clawpod's LLM gateway, which alone holds the provider key
      const seen = model.requests.slice(before);
      expect(seen.some((q) => JSON.stringify(q.messages).includes('hello from the browser'))).toBe(true);
      expect(seen.every((q) => q.provider === 'anthropic' && q.headers['x-api-key'] === KEY)).toBe(true);
    } catch (e) {
      await browser.contexts()[0]?.pages()[0]?.screenshot({ path: shot }).catch(() => undefined);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);
});
