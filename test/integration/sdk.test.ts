// @clawpod/sdk against a real `clawpod serve` on real Podman, as a program drives sandboxes: from a
// spec (its command is PID 1) and from a profile (an idle keeper is), exec with output streaming,
// exit codes, env, cwd, stdin and a timeout that kills the command's processes; files in and out
// (binary too), listed and removed; logs; stop (files still readable); kill (container and volume
// gone); connect and list; a claim from a warm pool (and a cold start when the pool cannot serve);
// errors with clawpod's codes; and examples/sdk/hello.mjs run as a user runs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, SandboxError } from '../../packages/sdk/src/index.js';
import { agentYaml, cleanup, clawpod, podman, ROOT, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('sdk');
let plane: Plane;
let opts: { url: string; token: string };

/** The error a call rejects with. */
async function failure(p: Promise<unknown>): Promise<SandboxError> {
  try { await p; } catch (e) { if (e instanceof SandboxError) return e; throw e; }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  plane = await startPlane('apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec: {}\n');
  opts = { url: plane.client.url, token: readFileSync(join(plane.dataDir, 'control', 'token'), 'utf8').trim() };
}, 60_000);

afterAll(async () => {
  // whatever a failed test left (the example's sandbox has a made-up name): this plane's sandboxes are all this file's
  if (opts) for (const s of await Sandbox.list(opts).catch(() => [])) await (await Sandbox.connect(s.id, opts)).kill().catch(() => undefined);
  await plane?.stop();
  cleanup(P);
});

describe('@clawpod/sdk on a real clawpod serve', () => {
  it('a spec sandbox: its command is PID 1, exec streams with exit code, env, cwd and stdin, logs, files, stop, kill', async () => {
    const spec = agentYaml(`${P}-spec`, 'command: [sh, -c, \'echo "pid1 says $GREETING"; trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done\']\nenv: [{name: GREETING, value: hi}]');
    const sb = await Sandbox.create({ ...opts, spec });
    expect(sb.info).toMatchObject({ id: `${P}-spec`, state: 'running', owner: null, image: 'localhost/clawpod-agent:latest' });
    expect(sb.info.claimedFrom).toBeUndefined();

    const seen: string[] = [];
    const r = await sb.exec('for i in 1 2 3; do echo "line $i"; done; echo oops >&2; exit 7', { onStdout: (s) => seen.push(s), onStderr: (s) => seen.push(`E:${s}`) });
    expect(r).toMatchObject({ exitCode: 7, stdout: 'line 1\nline 2\nline 3\n', stderr: 'oops\n', timedOut: false });
    expect(seen.join('')).toContain('line 3');
    expect(seen.join('')).toContain('E:oops');
    const argv = await sb.exec(['sh', '-c', 'echo "$PWD $X"; cat'], { env: { X: 'y z' }, cwd: '/tmp', stdin: 'from stdin' });
    expect(argv.stdout).toBe('/tmp y z\nfrom stdin');

    // logs: what PID 1 wrote
    expect(await sb.logs()).toContain('pid1 says hi');

    // files: text, binary (every byte value), nested folders made, listed, removed
    await sb.files.write('/workspace/notes/a.txt', 'hello ✓');
    expect(await sb.files.readText('/workspace/notes/a.txt')).toBe('hello ✓');
    const bin = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    await sb.files.write('/tmp/blob.bin', bin, { mode: '0700' });
    expect(Buffer.from(await sb.files.read('/tmp/blob.bin')).equals(Buffer.from(bin))).toBe(true);
    const listed = await sb.files.list('/workspace/notes');
    expect(listed).toEqual([expect.objectContaining({ name: 'a.txt', path: '/workspace/notes/a.txt', type: 'file', size: Buffer.byteLength('hello ✓'), mode: 0o644 })]);
    expect((await sb.files.list('/tmp')).find((f) => f.name === 'blob.bin')).toMatchObject({ type: 'file', size: 70_000, mode: 0o700 });
    // written as the sandbox's user, not as root
    expect((await sb.exec('stat -c %u /workspace/notes /workspace/notes/a.txt')).stdout).toBe('1000\n1000\n');
    await sb.files.remove('/workspace/notes/a.txt');
    const gone = await failure(sb.files.read('/workspace/notes/a.txt'));
    expect([gone.code, gone.status]).toEqual(['NOT_FOUND', 404]);
    const dir = await failure(sb.files.remove('/workspace/notes'));
    expect(dir.code).toBe('USAGE');
    expect(dir.hint).toContain('recursive');
    await sb.files.remove('/workspace/notes', { recursive: true });
    expect((await sb.files.list('/workspace')).map((f) => f.name)).not.toContain('notes');

    // stop keeps it: its files can still be read, commands cannot run
    await sb.files.write('/workspace/kept.txt', 'still here');
    expect((await sb.stop()).state).toBe('stopped');
    expect(await sb.files.readText('/workspace/kept.txt')).toBe('still here');
    const stopped = await failure(sb.exec('true'));
    expect(stopped.code).toBe('USAGE');
    expect(stopped.message).toContain('stopped');

    // kill: the container and the volume it made are gone
    const volume = `clawpod-${P}-spec-workspace`;
    expect(podman(['volume', 'exists', volume]).code).toBe(0);
    await sb.kill();
    expect(podman(['container', 'exists', `${P}-spec`]).code).toBe(1);
    expect(podman(['volume', 'exists', volume]).code).toBe(1);
    expect((await failure(Sandbox.connect(sb.id, opts))).code).toBe('NOT_FOUND');
  }, 120_000);

  it('a profile sandbox runs the idle keeper; a timeout kills the command and what it started; connect and list', async () => {
    // a pool that does not exist: started cold, and the answer says so
    const sb = await Sandbox.create({ ...opts, profile: 'reference', name: `${P}-prof`, pool: `${P}-nopool` });
    try {
      expect(sb.info.claimedFrom).toBeUndefined();
      expect((await sb.exec('cat /proc/1/cmdline | tr "\\0" " "')).stdout).toContain('while :; do sleep 3600');
      const t0 = Date.now();
      const r = await sb.exec('sleep 777 & sleep 778; echo never', { timeoutMs: 800 });
      expect(r).toMatchObject({ timedOut: true, exitCode: 137, stdout: '' });
      expect(Date.now() - t0).toBeLessThan(10_000);
      // both sleeps are gone: the whole session was killed, not only the shell
      const left = await sb.exec('cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "');
      expect(left.stdout).not.toMatch(/sleep 77[78]/);

      const again = await Sandbox.connect(`${P}-prof`, opts);
      expect(again.info).toMatchObject({ id: `${P}-prof`, state: 'running', limits: { cpus: 1, memoryBytes: 512 * 2 ** 20, pids: 256 } });
      expect((await Sandbox.list(opts)).map((s) => s.id)).toContain(`${P}-prof`);
    } finally {
      await sb.kill();
    }
  }, 120_000);

  it('pool: a running member of a warm pool filled from the same spec is claimed, then the pool refills', async () => {
    const pool = `${P}pl`;
    const file = writeSpec(tmpDir(), 'pool.yaml', agentYaml(pool, 'command: [sh, -c, \'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done\']'));
    const fill = await clawpod(['pool', 'fill', '--spec', file, '--size', '1'], { env: plane.env });
    expect(fill.code, fill.stderr).toBe(0);
    const sb = await Sandbox.create({ ...opts, spec: readFileSync(file, 'utf8'), pool, name: `${P}-warm` });
    expect(sb.info).toMatchObject({ id: `${P}-warm`, claimedFrom: pool, state: 'running' });
    expect((await sb.exec('echo warm')).stdout).toBe('warm\n');
    await sb.kill();
    expect(podman(['container', 'exists', `${P}-warm`]).code).toBe(1);
    // the claim's refill runs in the background: once it is done, the pool goes with its member
    await waitFor('the refill after the claim', () => !existsSync(join(plane.dataDir, 'pools', `${pool}.refill`)) || undefined, 60_000);
    const rm = await clawpod(['pool', 'rm', pool], { env: plane.env });
    expect(rm.code, rm.stderr).toBe(0);
  }, 120_000);

  it('errors carry clawpod\'s code, message, hint and status', async () => {
    const bad = await failure(Sandbox.create({ ...opts, spec: agentYaml(`${P}-bad`, 'resources: {cpu: lots}') }));
    expect([bad.code, bad.status]).toEqual(['SPEC_INVALID', 400]);
    expect(bad.details.join('\n')).toContain('spec.resources.cpu');
    expect(bad.hint).toBeTruthy();
    const profile = await failure(Sandbox.create({ ...opts, profile: 'referense' }));
    expect(profile.code).toBe('USAGE');
    expect(profile.hint).toContain('did you mean "reference"');
    const both = await failure(Sandbox.create({ ...opts, profile: 'reference', spec: agentYaml(`${P}-x`, '{}') }));
    expect(both.message).toContain('both spec and profile');
    const missing = await failure(Sandbox.connect(`${P}-none`, opts));
    expect([missing.code, missing.status, missing.message]).toEqual(['NOT_FOUND', 404, `no sandbox named ${P}-none`]);
    const token = await failure(Sandbox.list({ ...opts, token: 'cpapi_wrong' }));
    expect([token.code, token.status]).toEqual(['UNAUTHORIZED', 401]);
    const down = await failure(Sandbox.list({ ...opts, url: 'http://127.0.0.1:9' }));
    expect(down.code).toBe('RUNTIME_UNAVAILABLE');
    expect(down.status).toBeUndefined();
  }, 60_000);

  it('examples/sdk/hello.mjs runs with a sandbox token from `clawpod token create`', async () => {
    const made = await clawpod(['--json', 'token', 'create', '--scope', `sandbox:${P}`, '--max-sandboxes', '1'], { env: plane.env });
    expect(made.code, made.stderr).toBe(0);
    const t = JSON.parse(made.stdout) as { token: string; limits: { maxSandboxes: number } };
    expect(t.limits).toEqual({ maxSandboxes: 1, cpus: 1, memory: '512Mi', pids: 256 });
    // as a user has it: the example next to a node_modules holding @clawpod/sdk (built by npm run build)
    const dir = tmpDir();
    mkdirSync(join(dir, 'node_modules', '@clawpod'), { recursive: true });
    symlinkSync(join(ROOT, 'packages', 'sdk'), join(dir, 'node_modules', '@clawpod', 'sdk'));
    copyFileSync(join(ROOT, 'examples', 'sdk', 'hello.mjs'), join(dir, 'hello.mjs'));
    const r = spawnSync(process.execPath, ['hello.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', CLAWPOD_URL: opts.url, CLAWPOD_TOKEN: t.token } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hello from reference-[0-9a-f]{6}\nread back: hello from reference-[0-9a-f]{6}\n\n$/);
    // it killed what it made
    expect(await Sandbox.list({ url: opts.url, token: t.token })).toEqual([]);
  }, 60_000);
});
