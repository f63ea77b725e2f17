// OpenClaw's own browser tool against clawpod's Chromium sidecar, on real Podman: `clawpod run
// openclaw` with spec.browser; a chat turn in which the scripted model calls OpenClaw's `browser`
// tool (open the test's page, then list tabs) and gets the page's title back in the tool result;
// the page is fetched by headless Chromium from the agent's own address (the sidecar shares its
// network namespace); an unreachable host and a private address OpenClaw's SSRF policy does not
// allow come back as clean tool errors. The gateway start is most of the time (~15 s idle, far more
// under load). Run alone with
//   npx vitest run test/integration/openclaw-browser.test.ts
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';
import { cleanup, clawpod, podman, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { planeYaml, startPlane, type Plane } from '../helpers/control.js';
import { IN_CI } from '../helpers/prereq.js';

const VERSION = '2026.9.6';
const IMAGE = `localhost/clawpod-openclaw:${VERSION}`;
const P = uniquePrefix('ocb');
const NAME = `${P}a`;
const TITLE = `clawpod-openclaw-page-${P}`;
const haveChromium = existsSync('/usr/lib/chromium/chromium');

let page: Server;
let pagePort = 0;
const visits: { userAgent: string; from: string }[] = [];
let model: ModelServer;
let plane: Plane;
let gateway = { port: 0, token: '' };
let startedAt = 0;
let healthyIn = '';

/** The words of the chat turn being answered: OpenClaw appends its own context blocks to the user's message. */
function browseTarget(req: ScriptRequest): { url: string; after: ScriptRequest['messages'] } | undefined {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = /browse (\S+)/.exec(req.messages[i]!.role === 'user' ? req.messages[i]!.text : '');
    if (m) return { url: m[1]!, after: req.messages.slice(i + 1) };
  }
  return undefined;
}

/**
 * OpenClaw offers its plugin tools through tool search: the model calls `tool_call` with the tool's
 * name (or `browser` itself when OpenClaw offers it directly). "browse URL": open URL, then list the
 * tabs (their titles), then report every tool result back as text.
 */
function script(req: ScriptRequest): Reply {
  const t = browseTarget(req);
  if (!t) return { text: 'nothing to browse' };
  const results = t.after.flatMap((m) => m.toolResults);
  const call = (args: Record<string, unknown>): Reply => ({
    toolCalls: [req.tools.includes('browser') ? { name: 'browser', input: args } : { name: 'tool_call', input: { id: 'browser', args } }],
  });
  if (results.length === 0) return call({ action: 'open', url: t.url });
  if (results.length === 1 && !results[0]!.output.includes('"status": "error"')) return call({ action: 'tabs' });
  return { text: `RESULTS ${results.map((r) => r.output).join('\n---\n')}` };
}

async function chat(text: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: text }] }), signal: AbortSignal.timeout(180_000),
  });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
}

/** The tool results OpenClaw sent the model for the turn that asked to browse `url`. */
function toolResultsFor(url: string): string[] {
  const last = model.requests.filter((q) => browseTarget(q)?.url === url).at(-1);
  return last ? browseTarget(last)!.after.flatMap((m) => m.toolResults.map((r) => r.output)) : [];
}

beforeAll(async () => {
  if (!haveChromium) {
    if (IN_CI) throw new Error('chromium is missing: run ./scripts/setup.sh (it installs Debian\'s chromium)');
    return;
  }
  if (podman(['image', 'exists', IMAGE]).code !== 0) {
    const b = await clawpod(['image', 'build', '--profile', 'openclaw', '--version', VERSION], { timeoutMs: 1_200_000 });
    if (b.code !== 0) throw new Error(`OpenClaw image build failed:\n${b.stderr}`);
  }
  page = createServer((q, res) => {
    if (q.url === '/') visits.push({ userAgent: q.headers['user-agent'] ?? '', from: q.socket.remoteAddress ?? '' });
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>${TITLE}</title><body><p>Hello from the test.</p></body>`);
  });
  await new Promise<void>((r) => page.listen(0, '0.0.0.0', r));
  pagePort = (page.address() as AddressInfo).port;
  model = await startModelServer(script);
  plane = await startPlane(planeYaml(model, { groups: [`${NAME}=fixa`], extra: '  gateway: {listen: "0.0.0.0:0"}' }));
  // OpenClaw's browser SSRF policy refuses private addresses unless named: the test's page is on the host
  const spec = writeSpec(tmpDir(), 'oc.yaml', [
    'spec:',
    '  browser: {enabled: true}',
    '  config: {values: {browser: {ssrfPolicy: {allowedHostnames: [host.containers.internal]}}}}',
  ].join('\n'));
  startedAt = Date.now();
  const r = await clawpod(['run', 'openclaw', '--name', NAME, '-f', spec], { env: plane.env, timeoutMs: 400_000 });
  if (r.code !== 0) throw new Error(`clawpod run openclaw failed:\n${r.stdout}\n${r.stderr}`);
  healthyIn = /healthy in ([\d.]+ s)/.exec(r.stdout)?.[1] ?? '?';
  gateway = {
    port: Number(/127\.0\.0\.1:(\d+)->18789/.exec(r.stdout)?.[1]),
    token: new RegExp(`gateway token of ${NAME} \\(shown once[^)]*\\): (\\S+)`).exec(r.stdout)?.[1] ?? '',
  };
}, 1_500_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  page?.close();
  cleanup(P);
});

describe.skipIf(!haveChromium && !IN_CI)('OpenClaw browser tool on the sidecar', () => {
  it("OpenClaw's browser tool opens the test's page in the sidecar and reads its title", async () => {
    const url = `http://host.containers.internal:${pagePort}/`;
    const answer = await chat(`browse ${url}`);
    const firstRead = Date.now() - startedAt;
    const results = toolResultsFor(url);
    // open, then tabs: the title is in what OpenClaw sent back to the model
    expect(results, answer).toHaveLength(2);
    expect(results[0]).toContain(url);
    expect(results[1]).toContain(`"title": "${TITLE}"`);
    expect(answer).toContain(TITLE);
    // fetched by headless Chromium from the agent's own address: the sidecar shares its network namespace
    const agentIp = podman(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', NAME]).stdout.trim();
    expect(visits.length).toBeGreaterThan(0);
    expect(visits.at(-1)!.userAgent).toContain('HeadlessChrome/');
    expect(visits.at(-1)!.from.replace(/^::ffff:/, ''), JSON.stringify(visits)).toBe(agentIp);
    // the rendered profile, as OpenClaw keeps it (no legacy key its doctor strips at start)
    const cfg = JSON.parse(podman(['exec', NAME, 'cat', '/home/agent/.openclaw/openclaw.json']).stdout) as { browser: unknown };
    expect(cfg.browser).toMatchObject({ enabled: true, attachOnly: true, defaultProfile: 'clawpod', profiles: { clawpod: { cdpUrl: 'http://127.0.0.1:9222' } } });
    expect(podman(['logs', NAME]).stdout).not.toContain('Removed browser.');
    console.log(`clawpod run openclaw (with browser) → first page title read through OpenClaw's tool: ${(firstRead / 1000).toFixed(1)} s (gateway healthy in ${healthyIn})`);
  }, 240_000);

  it('an unreachable host and a private address outside the SSRF policy are clean tool errors', async () => {
    const before = visits.length;
    const gone = await chat('browse http://no-such-host.invalid/');
    const [err] = toolResultsFor('http://no-such-host.invalid/');
    expect(err, gone).toBeDefined();
    expect(err).toMatch(/"status": "error"/);
    expect(err).toMatch(/no-such-host\.invalid|ERR_NAME_NOT_RESOLVED|blocked|not resolve|ENOTFOUND/i);
    // the same page by the host's raw address: a private IP that OpenClaw's policy does not name
    const hosts = podman(['exec', NAME, 'cat', '/etc/hosts']).stdout;
    const hostIp = /^(\d+\.\d+\.\d+\.\d+)\s.*\bhost\.containers\.internal\b/m.exec(hosts)?.[1] ?? hosts;
    expect(hostIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const raw = `http://${hostIp}:${pagePort}/`;
    await chat(`browse ${raw}`);
    const [blocked] = toolResultsFor(raw);
    expect(blocked).toMatch(/"status": "error"/);
    expect(blocked).toContain('blocked by policy');
    expect(visits.length).toBe(before);
    for (const e of [err, blocked]) console.log(`tool error: ${/(?:---\\n)([^\\]*)/.exec(e!)?.[1] ?? e!.slice(-300)}`);
  }, 240_000);
});
