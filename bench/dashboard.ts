// Benchmark of the web dashboard (docs/dashboard.md): first meaningful paint of a 1,000-row list in
// Chromium. The list is the Groups page over 1,000 groups made with PUT /v1/groups: 1,000 agents
// would be 1,000 containers, and the Agents page uses the same virtualized list and server-side
// paging (pages/agents.js and pages/groups.js share vlist.js). Each round is a fresh browser
// context (empty cache; the token and its scope put in sessionStorage, as after a login), timed from navigation
// start to the frame after the first rows are in the DOM (the 'clawpod:list-painted' mark vlist.js
// sets), and a jump to row 900. The control plane is `clawpod serve` in its own process (on these 2-core machines it
// shares the CPU with Chromium all the same). Also: rows in the DOM, GET /v1/groups paged vs whole.
//     npm run bench:dashboard      (ROUNDS=20, GROUPS=1000 by default)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/fixtures/chromium.js';
import { pct } from './common.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const GROUPS = Number(process.env.GROUPS ?? 1000);
const f = (n: number) => `${n.toFixed(0).padStart(5)} ms`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clawpod-bench-dash-'));
  const plane = await serve(dataDir);
  const token = readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  const call = (method: string, path: string, body?: unknown) => fetch(`${plane.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const browser = await launchChromium();
  try {
    const t0 = performance.now();
    for (let i = 0; i < GROUPS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, GROUPS - i) }, (_, k) => call('PUT', `/v1/groups/bench-${String(i + k).padStart(4, '0')}`, { model: 'm' })));
    }
    console.log(`${GROUPS} groups made in ${(performance.now() - t0).toFixed(0)} ms`);

    const timed = async (path: string) => { const s = performance.now(); const r = await call('GET', path); const b = await r.text(); return { ms: performance.now() - s, bytes: b.length }; };
    await timed('/v1/groups'); // warm
    const whole = await timed('/v1/groups');
    const paged = await timed('/v1/groups?usage=1&limit=50&offset=0&q=');
    console.log(`GET /v1/groups: whole list ${whole.ms.toFixed(1)} ms, ${(whole.bytes / 1024).toFixed(0)} KiB; the dashboard's first page (usage=1, limit=50) ${paged.ms.toFixed(1)} ms, ${(paged.bytes / 1024).toFixed(0)} KiB`);

    const paint: number[] = [];
    const fcp: number[] = [];
    const jump: number[] = [];
    let rows = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      // a logged-in user's reload: the token and its scope are in sessionStorage (the login adds one GET /v1/whoami)
      if (process.env.DETAIL) await ctx.addInitScript(() => { (window as unknown as { lt: string[] }).lt = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) (window as unknown as { lt: string[] }).lt.push(`${e.startTime.toFixed(0)}+${e.duration.toFixed(0)}`); }).observe({ type: 'longtask', buffered: true }); });
      await ctx.addInitScript((t) => { sessionStorage.setItem('clawpod.token', t); sessionStorage.setItem('clawpod.me', '{"kind":"admin","name":null}'); }, token);
      const page = await ctx.newPage();
      await page.goto(`${plane.url}/ui/#/groups`);
      await page.waitForFunction(() => performance.getEntriesByName('clawpod:list-painted').length > 0, undefined, { timeout: 30_000 });
      const m = await page.evaluate(() => ({
        painted: performance.getEntriesByName('clawpod:list-painted')[0]!.startTime,
        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
        rows: document.querySelectorAll('.vrow').length,
        total: document.querySelector('.count')?.textContent ?? '',
      }));
      if (!m.total.startsWith(`${GROUPS} `)) throw new Error(`the page says "${m.total}", not ${GROUPS} groups`);
      // DETAIL=1: where the time went (each resource's start and end, ms since navigation start)
      if (process.env.DETAIL) console.log((await page.evaluate(() => (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}→${e.responseEnd.toFixed(0)}`))).join('\n'), `\npainted ${m.painted.toFixed(0)}`, 'long tasks', await page.evaluate(() => (window as unknown as { lt: string[] }).lt.join(' ')), 'marks', await page.evaluate(() => performance.getEntriesByType('mark').map((e) => `${e.name} ${e.startTime.toFixed(0)}`).join(' ')));
      // a jump to row 900: its page is fetched and drawn
      jump.push(await page.evaluate(async () => {
        const t = performance.now();
        document.querySelector('.vlist')!.scrollTop = 900 * 44;
        while (!document.querySelector('[aria-posinset="901"]')) await new Promise((r) => requestAnimationFrame(r));
        return performance.now() - t;
      }));
      paint.push(m.painted);
      fcp.push(m.fcp);
      rows = m.rows;
      await ctx.close();
    }
    console.log(`\nGroups page, ${GROUPS} groups, ${ROUNDS} rounds (fresh context each: no cache), Chromium ${browser.version()}`);
    console.log(`  first rows painted  p50 ${f(pct(paint, 50))}  p95 ${f(pct(paint, 95))}  max ${f(Math.max(...paint))}   (goal ≤ 1000 ms)`);
    console.log(`  first contentful    p50 ${f(pct(fcp, 50))}  p95 ${f(pct(fcp, 95))}`);
    console.log(`  jump to row 900     p50 ${f(pct(jump, 50))}  p95 ${f(pct(jump, 95))}   (its page of 50 fetched, then drawn)`);
    console.log(`  rows in the DOM: ${rows} of ${GROUPS}`);
  } finally {
    await browser.close();
    plane.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `clawpod serve` in its own process, as a user runs it: its event loop is not the one driving Chromium. */
async function serve(dataDir: string): Promise<{ url: string; stop(): void }> {
  const file = join(dataDir, 'serve.yaml');
  writeFileSync(file, 'apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec:\n  models: {m: {provider: openai, model: bench}}\n  gateway: {budget: {requests: 1000}}\n');
  const bin = fileURLToPath(new URL('../../bin/clawpod.js', import.meta.url));
  const p = spawn(process.execPath, [bin, 'serve', '-f', file, '--listen', '127.0.0.1:0'], { env: { ...process.env, CLAWPOD_DATA_DIR: dataDir }, stdio: 'ignore' });
  const info = join(dataDir, 'control', 'serve.json');
  for (let i = 0; i < 600 && !existsSync(info); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(info)) throw new Error('clawpod serve did not start in 30 s');
  return { url: (JSON.parse(readFileSync(info, 'utf8')) as { url: string }).url, stop: () => p.kill('SIGTERM') };
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
