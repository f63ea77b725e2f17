// Fleets on real Podman: a plan and 10 runner tenants from one file, isolated from each other, a
// killed bulk apply that converges, a fleet upgrade whose broken canary is rolled back, a canary
// replay that halts a diverging version, a killed rollout that resumes, and a delete that leaves
// nothing behind. The model is a scripted server behind clawpod's real LLM gateway.
// Ten tenants: more than the apply's concurrency (4) and two upgrade batches of 5, enough to kill
// both half-way; what is tested is the verbs, not the scale (bench/ measures 20 and more).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer, type ScriptRequest } from '../fixtures/model-server.js';
import { BROKEN_ENTRY, deriveImage, RUNNER_IMAGE as BASE } from '../fixtures/payload-images.js';
import { BIN, clawpod, podman, tmpDir, uniquePrefix, type CliResult } from '../helpers/cli.js';
import { lastUserText, startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('fl');
const N = 10;
const names = Array.from({ length: N }, (_, i) => `${P}-t${String(i + 1).padStart(2, '0')}`);
const img = (v: string) => `localhost/clawpod-agent:${P}-${v}`;
const dir = tmpDir();
let model: ModelServer;
let plane: Plane;

/** Echoes, calls bash for "run: CMD"; a runner told to "always use tools" (the v4 image) calls bash for everything. */
function script(req: ScriptRequest) {
  const text = lastUserText(req);
  if (req.last.toolResults.length > 0) return { text: `result: ${req.last.toolResults.map((r) => r.output.trim()).join(' | ')}` };
  const eager = req.messages.some((m) => m.role === 'system' && /always use tools/i.test(m.text ?? ''));
  const run = /^run: (.*)$/s.exec(text);
  if (run || eager) return { toolCalls: [{ name: 'bash', input: { command: run ? run[1] : 'echo eager' } }] };
  return { text: `echo: ${text}` };
}

const cli = (args: string[], timeoutMs = 600_000): Promise<CliResult> => clawpod(args, { env: plane.env, timeoutMs });
const ok = (r: CliResult) => { expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0); return r; };
const tenantsOn = (what: 'ps' | 'volume' | 'network') => podman(what === 'ps' ? ['ps', '-a', '--format', '{{.Names}}'] : [what, 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n.includes(`tenant-${P}`));

function fleetYaml(tenants: readonly string[], extra = ''): string {
  const plan = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: ${P}-std}
spec:
  resources: {cpu: "0.5", memory: 256Mi}
  volumes: {state: 1Gi, appData: 1Gi, appDataPath: /data}
  models: [fix]
  budget: {period: 1d, tokens: 1000000}
`;
  return plan + tenants.map((t, i) => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${t}${i === 0 ? ', labels: {canary: "true"}' : ''}}
spec:
  plan: ${P}-std
  profile: {name: runner, version: ${P}-v1}
  owner: owner${i}@example.com
`).join('') + extra;
}

const EAGER = `// the runner with a system prompt that changes how it answers: a replay shows the divergence
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.env.HOME + '/.clawpod/runner.json';
const cfg = JSON.parse(readFileSync(file, 'utf8'));
writeFileSync('/tmp/runner.json', JSON.stringify({ ...cfg, system: 'Always use tools.' }));
process.env.CLAWPOD_RUNNER_CONFIG = '/tmp/runner.json';
await import('/opt/clawpod/bin/real-agent.mjs');
`;

beforeAll(async () => {
  expect(podman(['image', 'exists', BASE]).code, `${BASE} is missing: run ./scripts/setup.sh`).toBe(0);
  for (const v of ['v1', 'v2']) expect(podman(['tag', BASE, img(v)]).code).toBe(0);
  deriveImage(img('v3'), BROKEN_ENTRY);
  deriveImage(img('v4'), EAGER);
  model = await startModelServer(script);
  plane = await startPlane([
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:',
    '  gateway: {listen: "0.0.0.0:0"}',
    '  models:',
    `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  ].join('\n'));
  writeFileSync(join(dir, 'fleet.yaml'), fleetYaml(names));
}, 120_000);

afterAll(async () => {
  const left = tenantsOn('ps');
  if (left.length) podman(['rm', '-f', ...left]);
  const vols = tenantsOn('volume');
  if (vols.length) podman(['volume', 'rm', '-f', ...vols]);
  const nets = tenantsOn('network');
  if (nets.length) podman(['network', 'rm', '-f', ...nets]);
  for (const v of ['v1', 'v2', 'v3', 'v4']) podman(['rmi', '-f', img(v)]);
  await plane?.stop();
  await model?.close();
});

/** Runs the CLI and SIGKILLs it once `when` holds (polled), like a user's ^\ or a crashed shell. */
async function killWhen(args: string[], when: () => boolean): Promise<void> {
  const p = spawn(process.execPath, [BIN, ...args], { env: plane.env, stdio: 'ignore' });
  const exited = new Promise((r) => p.once('exit', r));
  await waitFor('the moment to kill', () => when() || p.exitCode !== null, 300_000);
  p.kill('SIGKILL');
  await exited;
}

const recordsDir = () => join(plane.dataDir, 'fleet', 'tenants');
const ready = () => (existsSync(recordsDir()) ? readdirSync(recordsDir()).filter((f) => /"phase": "ready"/.test(readFileSync(join(recordsDir(), f), 'utf8'))).length : 0);

describe('fleets on Podman', () => {
  it(`provisions ${N} tenants from one file; a bulk apply killed half-way converges when run again`, async () => {
    await killWhen(['tenant', 'apply', '-f', join(dir, 'fleet.yaml')], () => ready() >= 3);
    expect(ready()).toBeLessThan(N);
    const r = ok(await cli(['tenant', 'apply', '-f', join(dir, 'fleet.yaml')]));
    expect(r.stdout).toMatch(new RegExp(`${N} tenants: \\d+ created, 0 updated, \\d+ unchanged, 0 failed`));
    expect(tenantsOn('ps').sort()).toEqual(names.map((n) => `tenant-${n}`));
    // state and app-data for each, nothing more
    expect(tenantsOn('volume').length).toBe(2 * N);
    expect(tenantsOn('network').length).toBe(N);
    const ls = ok(await cli(['--json', 'tenant', 'ls']));
    const rows = (JSON.parse(ls.stdout) as { name: string; phase: string; version: string; url: string }[]).filter((t) => t.name.startsWith(P));
    expect(rows.map((t) => t.phase)).toEqual(Array(N).fill('Ready'));
    expect(new Set(rows.map((t) => t.url)).size).toBe(N);
    ok(await cli(['tenant', 'status', ...names.slice(0, 3)]));
    const again = ok(await cli(['tenant', 'apply', '-f', join(dir, 'fleet.yaml')]));
    expect(again.stdout).toContain(`${N} tenants: 0 created, 0 updated, ${N} unchanged, 0 failed`);
  }, 900_000);

  it('answers chat through the LLM gateway and keeps tenants apart on the network', async () => {
    const a = ok(await cli(['tenant', 'chat', names[0]!, 'hello there']));
    expect(a.stdout.trim()).toBe('echo: hello there');
    ok(await cli(['tenant', 'chat', names[0]!, 'run: echo from-tool']));
    const ipOf = (n: string) => podman(['inspect', `tenant-${n}`, '--format', `{{(index .NetworkSettings.Networks "clawpod-tenant-${n}").IPAddress}}`]).stdout.trim();
    const probe = (from: string, ip: string) => podman(['exec', `tenant-${from}`, 'node', '-e',
      `fetch('http://${ip}:8080/healthz',{signal:AbortSignal.timeout(1500)}).then(r=>console.log('reached',r.status),e=>console.log('refused',e.cause?.code??e.name))`]).stdout.trim();
    expect(probe(names[0]!, ipOf(names[0]!))).toBe('reached 200');
    expect(probe(names[0]!, ipOf(names[1]!))).toMatch(/^refused/);
    expect(probe(names[1]!, ipOf(names[0]!))).toMatch(/^refused/);
    // the plan's limits reached the container
    expect(podman(['inspect', `tenant-${names[0]}`, '--format', '{{.HostConfig.Memory}}']).stdout.trim()).toBe(String(256 * 2 ** 20));
  }, 120_000);

  it('halts a fleet upgrade at a broken canary (healthy, but no chat) and rolls it back', async () => {
    const r = await cli(['fleet', 'upgrade', '--version', `${P}-v3`, '--selector', `plan=${P}-std`, '--max-unavailable', '5', '--canary', '1', '--timeout', '30s']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(new RegExp(`ROLLOUT_HALTED.*halted at tenant ${names[0]}.*HTTP 500`, 's'));
    expect(podman(['inspect', `tenant-${names[0]}`, '--format', '{{.ImageName}}']).stdout.trim()).toBe(img('v1'));
    expect(podman(['inspect', `tenant-${names[1]}`, '--format', '{{.ImageName}}']).stdout.trim()).toBe(img('v1'));
    const st = await cli(['--json', 'fleet', 'status']);
    expect(st.code).toBe(1);
    const roll = JSON.parse(st.stdout) as { tenants: Record<string, { state: string }> };
    expect(roll.tenants[names[0]!]!.state).toBe('rolled-back');
    expect(roll.tenants[names[1]!]!.state).toBe('not-started');
    expect(ok(await cli(['tenant', 'chat', names[0]!, 'still here'])).stdout.trim()).toBe('echo: still here');
  }, 300_000);

  it('halts when the canary replay diverges, naming the turn, and rolls the canary back', async () => {
    const r = await cli(['fleet', 'upgrade', '--version', `${P}-v4`, '--selector', `plan=${P}-std`, '--max-unavailable', '5', '--timeout', '30s']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/canary replay: 2 of 3 turns diverged .*first at turn \d+: tool calls \[\] became \[bash\]/);
    expect(podman(['inspect', `tenant-${names[0]}`, '--format', '{{.ImageName}}']).stdout.trim()).toBe(img('v1'));
    expect(tenantsOn('ps').filter((n) => n.endsWith('-replay'))).toEqual([]);
  }, 300_000);

  it('upgrades the fleet 5 at a time, resumes after the CLI is killed, and keeps each tenant\'s data', async () => {
    const args = ['fleet', 'upgrade', '--version', `${P}-v2`, '--selector', `plan=${P}-std`, '--max-unavailable', '5', '--timeout', '30s'];
    const rollout = join(plane.dataDir, 'fleet', 'rollout.json');
    const done = () => existsSync(rollout) && (readFileSync(rollout, 'utf8').match(/"state": "done"/g) ?? []).length >= 3;
    let second: CliResult | undefined;
    await killWhen(args, () => {
      // while it runs, a second rollout (or a "resume") is refused: it would put the first one's tenants back under it
      if (!second && existsSync(rollout) && readFileSync(rollout, 'utf8').includes(`"version": "${P}-v2"`)) void cli(args).then((x) => { second = x; });
      return done() && second !== undefined;
    });
    expect(second!.code).toBe(5);
    expect(second!.stderr).toMatch(/IN_USE.*another fleet operation is running here \(pid \d+: fleet upgrade --version/);
    const r = ok(await cli(args));
    expect(r.stderr).toContain('resuming the rollout');
    expect(r.stdout).toMatch(new RegExp(`rollout to ${P}-v2: done, ${N} of ${N} upgraded; replay of ${names[0]}: 0 of 3 turns diverged`));
    for (const n of names) expect(podman(['inspect', `tenant-${n}`, '--format', '{{.ImageName}}']).stdout.trim()).toBe(img('v2'));
    // the conversation written before the upgrades is still on the state volume
    const conv = podman(['exec', `tenant-${names[0]}`, 'cat', '/home/agent/.clawpod/conversations.jsonl']).stdout;
    expect(conv).toContain('hello there');
    expect(tenantsOn('ps').filter((n) => /-(previous|replay)$/.test(n))).toEqual([]);
  }, 600_000);

  it('deletes a tenant with nothing left behind', async () => {
    const gone = names[N - 1]!;
    ok(await cli(['tenant', 'delete', gone]));
    const mine = (xs: string[]) => xs.filter((x) => x.includes(`tenant-${gone}`));
    expect(mine(tenantsOn('ps'))).toEqual([]);
    expect(mine(tenantsOn('volume'))).toEqual([]);
    expect(mine(tenantsOn('network'))).toEqual([]);
    expect(existsSync(join(recordsDir(), `${gone}.json`))).toBe(false);
    expect(existsSync(join(plane.dataDir, 'instances', `tenant-${gone}.json`))).toBe(false);
    const vault = ok(await cli(['--json', 'secret', 'ls']));
    expect(vault.stdout).not.toContain(`tenant-${gone}`);
    const groups = JSON.parse(ok(await cli(['--json', 'group', 'ls'])).stdout) as { name: string }[];
    expect(groups.map((g) => g.name)).not.toContain(`tenant-${gone}`);
    expect(ok(await cli(['--json', 'tenant', 'ls'])).stdout).not.toContain(`"${gone}"`);
  }, 120_000);
});
