// spec.browser end to end on real Podman: `clawpod run -d` makes the agent and its Chromium
// sidecar; the reference runner inside the agent (driven by the scripted model server) opens a page
// this test serves and reads its title through browser_open; a host it cannot reach is a clear
// tool error; Chromium killed, the sidecar restarts by itself while the agent keeps running; stop,
// start and rm take the sidecar along.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartDoc } from '../../src/agent/protocol.js';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { IN_CI } from '../helpers/prereq.js';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';
import { RunnerProcess } from '../fixtures/runner-process.js';
import { existsSync } from 'node:fs';

const P = uniquePrefix('brw');
const NAME = `${P}-a`;
const TITLE = 'clawpod browser test page';
const env = scratchEnv();
let page: Server;
let pageUrl = '';
let model: ModelServer;
const haveChromium = existsSync('/usr/lib/chromium/chromium');

// the scripted model: "open URL" → browser_open(URL); a tool result → its text back, marked
function script(req: ScriptRequest): Reply {
  const r = req.last.toolResults[0];
  if (r) return { text: `TOOL ${r.isError ? 'ERROR' : 'OK'}: ${r.output}` };
  const m = /^open (\S+)$/.exec(req.last.text);
  if (m) return { toolCalls: [{ name: 'browser_open', input: { url: m[1] } }] };
  return { text: `tools: ${req.tools.join(',')}` };
}

beforeAll(async () => {
  if (!haveChromium && IN_CI) throw new Error('chromium is missing: run ./scripts/setup.sh (it installs Debian\'s chromium)');
  if (!haveChromium) return;
  // the agent image carries the runner with browser_open (rebuilt here: it is shared with other tests)
  const b = await clawpod(['image', 'build'], { env: scratchEnv(), timeoutMs: 300_000 });
  if (b.code !== 0) throw new Error(`clawpod image build failed (run npm run build first):\n${b.stderr}`);
  page = createServer((_q, res) => { res.setHeader('content-type', 'text/html'); res.end(`<!doctype html><title>${TITLE}</title><body><p>Hello from the test.</p></body>`); });
  await new Promise<void>((r) => page.listen(0, '0.0.0.0', r));
  pageUrl = `http://host.containers.internal:${(page.address() as AddressInfo).port}/`;
  model = await startModelServer(script);
  const spec = writeSpec(tmpDir(), 'agent.yaml', agentYaml(NAME, `network: bridge\n${IDLE_COMMAND}\nbrowser: { enabled: true }`));
  const r = await clawpod(['run', '-d', '-f', spec], { env, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`clawpod run failed:\n${r.stderr}`);
}, 500_000);

afterAll(async () => {
  cleanup(P);
  await model?.close();
  page?.close();
});

function runner(): RunnerProcess {
  const doc: StartDoc = {
    type: 'start', protocol: 1, sessionId: `${P}-s`, nonce: '0123456789abcdef0123456789abcdef', message: { id: 'm1', text: `open ${pageUrl}` },
    model: { provider: 'anthropic', model: 'claude-test', apiKey: 'sk-brw-test', baseUrl: model.baseUrl('anthropic', 'container'), timeoutMs: 30_000 },
    workspace: '/workspace', input: { mode: 'stdin' },
  };
  return new RunnerProcess('podman', ['exec', '-i', NAME, 'clawpod-agent'], doc, { ...process.env, CONTAINERS_CONF: env.CONTAINERS_CONF });
}

const state = (n: string): string => podman(['inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', n]).stdout.trim();

describe.skipIf(!haveChromium)('browser sidecar', () => {
  it('the agent reads a page title; an unreachable host is a tool error; a killed browser comes back while the agent runs', async () => {
    expect(podman(['inspect', '-f', '{{.State.Status}}', `${NAME}-browser`]).stdout.trim()).toBe('running');
    const ps = await clawpod(['--json', 'ps'], { env });
    expect((JSON.parse(ps.stdout) as { name: string; browser: string | null }[]).find((x) => x.name === NAME)?.browser).toBe('running');

    const r = runner();
    await r.message('m1', 60_000);
    expect(r.text('m1')).toContain(`TOOL OK: Title: ${TITLE}`);
    expect(r.text('m1')).toContain('Hello from the test.');

    r.send(JSON.stringify({ type: 'message', id: 'm2', text: 'open http://no-such-host.invalid/' }));
    await r.message('m2', 60_000);
    expect(r.text('m2')).toMatch(/TOOL ERROR: .*could not be opened: net::ERR_NAME_NOT_RESOLVED/);

    // Chromium (tini's child) killed from the host: the engine restarts the sidecar, the agent is untouched
    const agentBefore = state(NAME);
    const pid = podman(['inspect', '-f', '{{.State.Pid}}', `${NAME}-browser`]).stdout.trim();
    const chromium = (await import('node:child_process')).execFileSync('pgrep', ['-P', pid], { encoding: 'utf8' }).split('\n')[0]!;
    process.kill(Number(chromium), 'SIGKILL');
    r.send(JSON.stringify({ type: 'message', id: 'm3', text: `open ${pageUrl}` }));
    await r.message('m3', 60_000);
    expect(r.text('m3')).toContain(`TOOL OK: Title: ${TITLE}`);
    expect(Number(podman(['inspect', '-f', '{{.RestartCount}}', `${NAME}-browser`]).stdout.trim())).toBeGreaterThanOrEqual(1);
    expect(state(NAME)).toBe(agentBefore);
    r.endStdin();
    expect(await r.exited).toBe(0);
  }, 180_000);

  it('stop and start take the sidecar along (it joins the restarted agent\'s new namespace); rm removes it', async () => {
    expect((await clawpod(['stop', NAME], { env })).code).toBe(0);
    expect(podman(['inspect', '-f', '{{.State.Status}}', `${NAME}-browser`]).stdout.trim()).toBe('exited');
    expect((await clawpod(['start', NAME], { env })).code).toBe(0);
    const r = runner();
    await r.message('m1', 60_000);
    expect(r.text('m1')).toContain(`TOOL OK: Title: ${TITLE}`);
    r.endStdin();
    await r.exited;
    const rm = await clawpod(['rm', '-f', '--volumes', NAME], { env });
    expect(rm.code, rm.stderr).toBe(0);
    expect(podman(['container', 'exists', `${NAME}-browser`]).code).toBe(1);
  }, 120_000);
});
