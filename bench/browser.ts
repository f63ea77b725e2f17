// Browser sidecar start → first page read (issue 17). One agent (`clawpod run -d`, network bridge,
// spec.browser) stays up; each round removes its sidecar, then times creating and starting a new
// one (what `clawpod run` adds for a browser) and, from that same instant, the reference runner in the
// agent calling browser_open on a page this bench serves until the tool result arrives (the tool
// waits for the DevTools endpoint itself). Rounds are few: each starts a Chromium on a 2-core machine.
//   node dist/bench/browser.js [--rounds 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { parseAgents } from '../src/spec/parse.js';
import { planContainer } from '../src/plan/plan.js';
import { prepareBrowser, sidecarOf, startSidecar } from '../src/browser/run.js';
import { sidecarName } from '../src/browser/sidecar.js';
import { summarize } from '../src/bench-lib/stats.js';
import { startModelServer, type Reply, type ScriptRequest } from '../test/fixtures/model-server.js';
import { RunnerProcess } from '../test/fixtures/runner-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const NAME = `bench-browser-${process.pid}`;
const CONF = join(ROOT, '.clawpod/containers.conf');
const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONF };

const page = createServer((_q, res) => { res.setHeader('content-type', 'text/html'); res.end('<title>bench page</title><p>hello</p>'); });
await new Promise<void>((r) => page.listen(0, '0.0.0.0', r));
const url = `http://host.containers.internal:${(page.address() as AddressInfo).port}/`;
const model = await startModelServer((req: ScriptRequest): Reply => (req.last.toolResults.length ? { text: 'done' } : { toolCalls: [{ name: 'browser_open', input: { url } }] }));

const yaml = `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: { name: ${NAME} }\nspec:\n  network: bridge\n  command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']\n  browser: { enabled: true }\n`;
const file = join(mkdtempSync(join(tmpdir(), 'clawpod-bench-browser-')), 'agent.yaml');
writeFileSync(file, yaml);
const config = loadConfig(env);
const rt = await connectRuntime(config);
const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/clawpod.js'), ...args], { env, encoding: 'utf8' });

const startMs: number[] = [];
const readMs: number[] = [];
try {
  const agent = parseAgents(yaml, file)[0]!.agent;
  const image = (await prepareBrowser(rt, agent, (s) => process.stderr.write(`${s}\n`)))!;
  const r = cli('run', '-d', '-f', file);
  if (r.status !== 0) throw new Error(`clawpod run failed: ${r.stderr}`);
  const sidecar = sidecarOf(agent, planContainer(agent, { instanceName: NAME, index: 0, ports: [], mounts: [], secretEnv: {}, secretsHostDir: undefined, specDir: '/tmp', now: new Date() }), image);
  for (let i = 0; i < ROUNDS; i++) {
    const old = await rt.inspectContainer(sidecarName(NAME));
    if (old) await rt.removeContainer(old.id, { force: true });
    const runner = new RunnerProcess('podman', ['exec', '-i', NAME, 'clawpod-agent'], {
      type: 'start', protocol: 1, sessionId: `bench-${i}`, nonce: '0123456789abcdef0123456789abcdef', message: { id: 'm1', text: 'open' },
      model: { provider: 'anthropic', model: 'bench', apiKey: 'sk-bench', baseUrl: model.baseUrl('anthropic', 'container'), timeoutMs: 30_000 },
      workspace: '/workspace', input: { mode: 'stdin' },
    }, env);
    // the runner starts first and waits for its model's first answer: only then is t0 taken, so the
    // figure is the sidecar's, not the runner's start
    await runner.waitFor((e) => e.type === 'tool_call', 30_000);
    const t0 = performance.now();
    await startSidecar(rt, sidecar);
    startMs.push(performance.now() - t0);
    const res = await runner.waitFor((e) => e.type === 'tool_result', 60_000);
    readMs.push(res.at - t0);
    const v = res.value as { output: string; isError: boolean };
    if (v.isError || !v.output.includes('bench page')) throw new Error(`round ${i}: ${v.output}`);
    runner.endStdin();
    await runner.exited;
    process.stderr.write(`round ${i + 1}/${ROUNDS}: sidecar created+started ${startMs[i]!.toFixed(0)} ms, first page read ${readMs[i]!.toFixed(0)} ms\n`);
  }
  const s = summarize(startMs);
  const p = summarize(readMs);
  console.log(JSON.stringify({ rounds: ROUNDS, sidecarStartMs: s, startToFirstPageReadMs: p }, null, 2));
} finally {
  cli('rm', '-f', '--volumes', NAME);
  await model.close();
  page.close();
}
