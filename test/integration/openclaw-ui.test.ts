// OpenClaw's own Control UI in a real browser (Debian's chromium via playwright-core), on an
// instance whose host port is not the container's 18789: the URL `clawpod run` prints (token in
// the fragment, shown once) logs in — the page's origin is in gateway.controlUi.allowedOrigins,
// rendered by clawpod from the published port — and a chat typed in the UI is answered by the
// scripted model through clawpod's LLM gateway. Screenshot: test-results/openclaw-ui.png.
//   npx vitest run test/integration/openclaw-ui.test.ts   (the image build, ~2 min, on first use; the
// gateway start ~15 s on an idle 2-core machine, the browser part ~10 s; minutes under load)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { cleanup, clawpod, podman, ROOT, tmpDir, uniquePrefix } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';
import { need } from '../helpers/prereq.js';

const VERSION = '2026.9.6';
const IMAGE = `localhost/clawpod-openclaw:${VERSION}`;
const CHROMIUM = '/usr/bin/chromium';
const P = uniquePrefix('ocui');
const NAME = `${P}a`;
let model: ModelServer | undefined;
let plane: Plane | undefined;

/** A host port nobody holds now (and not 18789), so the instance's host port differs from the container's. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => (port === 18789 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  if (podman(['image', 'exists', IMAGE]).code !== 0) {
    const b = await clawpod(['image', 'build', '--profile', 'openclaw', '--version', VERSION], { timeoutMs: 1_200_000 });
    expect(b.code, b.stderr).toBe(0);
  }
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [`${NAME}=fixa`], extra: '  gateway: {listen: "0.0.0.0:0"}' }));
}, 1_300_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe("OpenClaw's Control UI", () => {
  it('opens from the printed URL on a host port other than 18789, logs in by the fragment and chats through the LLM gateway', async (ctx) => {
    need(ctx, existsSync(CHROMIUM), 'Debian chromium', 'apt-get install chromium (scripts/setup.sh does)');
    const port = await freePort();
    const dir = tmpDir();
    writeFileSync(join(dir, 'over.yaml'), `spec:\n  ports: [{name: gateway, containerPort: 18789, hostPort: ${port}}]\n`);
    const r = await clawpod(['run', 'openclaw', '--name', NAME, '-f', join(dir, 'over.yaml')], { env: plane!.env, timeoutMs: 360_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const url = /^open (http:\/\/127\.0\.0\.1:(\d+)\/#token=\S+)/m.exec(r.stdout);
    expect(url, r.stdout).not.toBeNull();
    expect(Number(url![2])).toBe(port);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const shot = join(ROOT, 'test-results', 'openclaw-ui.png');
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url![1]);
      // logged in: the chat composer of the main session (selectors read off the real page; Playwright pierces shadow roots)
      const composer = page.locator('textarea[aria-label="Chat composer"]');
      await composer.waitFor({ timeout: 30_000 });
      expect(await page.getByText('origin not allowed').count()).toBe(0);
      const before = model!.requests.length;
      await composer.fill('hello from the browser');
      await composer.press('Enter');
      // the composer takes words before the UI's gateway connection is up, and then Enter sends
      // nothing (seen once: the text stayed in the box for 3 minutes): press again until it is sent
      for (let i = 0; i < 30 && (await composer.inputValue()) !== ''; i++) {
        await page.waitForTimeout(1000);
        if ((await composer.inputValue()) !== '') await composer.press('Enter');
      }
      expect(await composer.inputValue()).toBe('');
      // the scripted model echoes the last block of the user turn (OpenClaw appends its context after the words typed)
      // the first turn is ~2 s on an idle machine, over a minute under load (OpenClaw prepares the session)
      await page.getByText(/^echo: /).first().waitFor({ timeout: 180_000 });
      await page.screenshot({ path: shot });
      // the typed words reached the model through clawpod's LLM gateway, which alone holds the provider key
      const seen = model!.requests.slice(before);
      expect(seen.some((q) => JSON.stringify(q.messages).includes('hello from the browser'))).toBe(true);
      expect(seen.every((q) => q.provider === 'anthropic' && q.headers['x-api-key'] === 'fixture-key-123')).toBe(true);
    } catch (e) {
      await browser.contexts()[0]?.pages()[0]?.screenshot({ path: shot }).catch(() => undefined);
      throw e;
    } finally {
      await browser.close();
    }
  }, 600_000);
});
