// S1: sandbox:OWNER tokens against a real `clawpod serve` on real Podman. Another owner's sandbox
// answers every route exactly like a missing one and is left untouched; a token cannot go over its
// count, cpus, memory or pids, nor ask for host mounts, a bundle, ports, host secrets, a network, a
// model or a weaker or unknown isolation — and a refused create makes nothing. files?path (with
// "..", through symlinks) only ever reaches the container's own filesystem: the host's files are
// neither read nor written. A container wearing clawpod's labels (or one planted under a
// sandbox's name) is not a sandbox of anyone's: ownership is the store's record of a container id.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, SandboxError } from '../../packages/sdk/src/index.js';
import { agentYaml, cleanup, clawpod, podman, uniquePrefix } from '../helpers/cli.js';
import { startPlane, type Plane } from '../helpers/control.js';

const P = uniquePrefix('sbs');
let plane: Plane;
let url: string;
let admin: string;
let alice: string;
let bob: string;
let mine: Sandbox;

async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, text: await res.text() };
}

async function failure(p: Promise<unknown>): Promise<SandboxError> {
  try { await p; } catch (e) { if (e instanceof SandboxError) return e; throw e; }
  throw new Error('expected the call to fail');
}

/** Containers and volumes of this file's objects. */
const objects = () => ({
  containers: podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter((n) => n.startsWith(P)).sort(),
  volumes: podman(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n.includes(P)).sort(),
});

beforeAll(async () => {
  plane = await startPlane('apiVersion: clawpod.dev/v1alpha1\nkind: ControlPlane\nspec: {}\n');
  url = plane.client.url;
  admin = readFileSync(join(plane.dataDir, 'control', 'token'), 'utf8').trim();
  const made = await clawpod(['--json', 'token', 'create', '--scope', 'sandbox:alice', '--max-sandboxes', '1', '--cpus', '0.5', '--memory', '128Mi', '--pids', '64'], { env: plane.env });
  expect(made.code, made.stderr).toBe(0);
  alice = (JSON.parse(made.stdout) as { token: string }).token;
  bob = (JSON.parse((await call(admin, 'POST', '/v1/api-tokens', { scope: 'sandbox:bob' })).text) as { token: string }).token;
  mine = await Sandbox.create({ url, token: alice, spec: agentYaml(`${P}-alice`, '{}') });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  cleanup(P);
});

describe('S1 a sandbox token drives its owner\'s sandboxes, within its limits, and nothing else', () => {
  it('its sandbox got the token\'s limits, no network and the hardened defaults', async () => {
    expect(mine.info).toMatchObject({ owner: 'alice', limits: { cpus: 0.5, memoryBytes: 128 * 2 ** 20, pids: 64 } });
    const d = JSON.parse(podman(['inspect', mine.id]).stdout)[0] as { HostConfig: { NetworkMode: string; ReadonlyRootfs: boolean; CapDrop: string[] }; Config: { User: string } };
    expect(d.HostConfig.NetworkMode).toBe('none');
    expect(d.HostConfig.ReadonlyRootfs).toBe(true);
    expect(d.Config.User).toBe('1000:1000');
  });

  it('another owner\'s sandbox answers every route like a missing one, and is left as it was', async () => {
    await mine.files.write('/workspace/private.txt', 'alice only');
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/sandboxes/{id}'], ['POST', '/v1/sandboxes/{id}/exec', { cmd: 'rm -rf /workspace/*' }],
      ['GET', '/v1/sandboxes/{id}/files?path=/workspace/private.txt'], ['PUT', '/v1/sandboxes/{id}/files?path=/workspace/private.txt', 'x'],
      ['GET', '/v1/sandboxes/{id}/files/list?path=/workspace'], ['DELETE', '/v1/sandboxes/{id}/files?path=/workspace/private.txt'],
      ['GET', '/v1/sandboxes/{id}/logs'], ['POST', '/v1/sandboxes/{id}/stop'], ['DELETE', '/v1/sandboxes/{id}'],
    ];
    for (const [method, path, body] of routes) {
      const theirs = await call(bob, method, path.replace('{id}', mine.id), body);
      const none = await call(bob, method, path.replace('{id}', `${P}-none`), body);
      expect(theirs.status, `${method} ${path}: ${theirs.text}`).toBe(404);
      expect(theirs.text.replaceAll(mine.id, 'X')).toBe(none.text.replaceAll(`${P}-none`, 'X'));
    }
    expect(await Sandbox.list({ url, token: bob })).toEqual([]);
    expect((await Sandbox.list({ url, token: alice })).map((s) => s.id)).toEqual([mine.id]);
    expect(await mine.files.readText('/workspace/private.txt')).toBe('alice only');
    expect((await mine.refresh()).state).toBe('running');
    // a group's token gets no sandbox at all
    const group = JSON.parse((await call(admin, 'POST', '/v1/api-tokens', { scope: 'group:g' })).text) as { token: string };
    expect((await call(group.token, 'GET', `/v1/sandboxes/${mine.id}`)).status).toBe(403);
  });

  it('over the count, cpus, memory or pids, or asking for host things: 403 naming field, value and limit; nothing is made', async () => {
    const before = objects();
    const count = await failure(Sandbox.create({ url, token: alice, profile: 'reference' }));
    expect([count.status, count.code]).toEqual([403, 'FORBIDDEN']);
    expect(count.message).toContain('limit of 1');
    // the rest are refused whatever the count: bob has room for five
    const refused: [string, string, RegExp][] = [
      ['resources: {cpu: "2"}', 'FORBIDDEN', /spec\.resources\.cpu 2 .*limit is 1$/],
      ['resources: {memory: 2Gi}', 'FORBIDDEN', /spec\.resources\.memory 2Gi .*limit is 512Mi/],
      ['resources: {pids: 1000}', 'FORBIDDEN', /spec\.resources\.pids 1000 .*limit is 256/],
      [`mounts: [{hostPath: ${tmpdir()}, containerPath: /host}]`, 'FORBIDDEN', /spec\.mounts/],
      ['bundle: ./b', 'FORBIDDEN', /spec\.bundle/],
      ['network: bridge\nports: [{containerPort: 8080}]', 'FORBIDDEN', /spec\.ports 8080/],
      ['network: bridge', 'FORBIDDEN', /spec\.network bridge/],
      ['secrets: [{name: k, source: env, secretRef: {name: PATH}}]', 'FORBIDDEN', /spec\.secrets k \(source env\)/],
      ['secrets: [{name: k, source: file, secretRef: {name: /etc/shadow}}]', 'FORBIDDEN', /spec\.secrets k \(source file\)/],
      ['llm: {group: g}', 'FORBIDDEN', /spec\.llm/],
      ['profile: runner\nnetwork: none\nports: []', 'FORBIDDEN', /spec\.profile runner/],
      ['isolation: privileged', 'SPEC_INVALID', /1 problem/],
      ['privileged: true', 'SPEC_INVALID', /1 problem/],
    ];
    for (const [spec, code, message] of refused) {
      const e = await failure(Sandbox.create({ url, token: bob, spec: agentYaml(`${P}-bob`, spec) }));
      expect([e.code, e.message], spec).toEqual([code, expect.stringMatching(message)]);
      if (code === 'FORBIDDEN') expect(e.hint, spec).toBeTruthy();
    }
    expect(objects()).toEqual(before);
    expect(await Sandbox.list({ url, token: bob })).toEqual([]);
  });

  it('files?path with "..", or through symlinks, stays inside the container: no host file is read or written', async () => {
    // the host's /etc/hostname differs from the container's, which is the sandbox's name
    expect(readFileSync('/etc/hostname', 'utf8').trim()).not.toBe(mine.id);
    const host = mkdtempSync(join(tmpdir(), 'clawpod-sbs-host-'));
    writeFileSync(join(host, 'secret.txt'), 'host secret');
    try {
      for (const path of ['/../../../../etc/hostname', '/workspace/../../etc/hostname']) expect((await mine.files.readText(path)).trim(), path).toBe(mine.id);
      await mine.exec(`ln -s /etc/hostname /workspace/h; ln -s ${host}/secret.txt /workspace/s; ln -s ${host} /workspace/d; ln -s ../../../../../../../..${host} /workspace/up`);
      expect((await mine.files.readText('/workspace/h')).trim()).toBe(mine.id);
      for (const path of ['/workspace/s', '/workspace/d/secret.txt', '/workspace/up/secret.txt', `${host}/secret.txt`]) {
        expect((await failure(mine.files.read(path))).code, path).toBe('NOT_FOUND');
      }
      expect((await failure(mine.files.list('/workspace/d'))).code).toBe('NOT_FOUND');
      // writes go through the sandbox's own filesystem (here: nowhere it may write)
      for (const path of ['/workspace/d/planted.txt', '/workspace/up/planted.txt', `${host}/planted.txt`]) await mine.files.write(path, 'x').catch(() => undefined);
      expect(readdirSync(host)).toEqual(['secret.txt']);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('a container wearing clawpod\'s labels, or planted under a sandbox\'s name, is no one\'s sandbox', async () => {
    const labels = ['dev.clawpod.managed=true', `dev.clawpod.agent=${P}-forged`, `dev.clawpod.instance=${P}-forged`, 'dev.clawpod.owner=alice', 'dev.clawpod.sandbox-owner=alice', 'dev.clawpod.role=sandbox'];
    const forged = podman(['create', '--name', `${P}-forged`, ...labels.flatMap((l) => ['--label', l]), 'localhost/clawpod-agent:latest']);
    expect(forged.code, forged.stderr).toBe(0);
    for (const token of [alice, admin]) {
      expect((await failure(Sandbox.connect(`${P}-forged`, { url, token }))).code).toBe('NOT_FOUND');
      expect((await call(token, 'DELETE', `/v1/sandboxes/${P}-forged`)).status).toBe(404);
      expect((await Sandbox.list({ url, token })).map((s) => s.id)).not.toContain(`${P}-forged`);
    }
    expect(podman(['container', 'exists', `${P}-forged`]).code).toBe(0);
    // alice's sandbox renamed away and a forged container put under its name: acts go to neither
    expect(podman(['rename', mine.id, `${P}-moved`]).code).toBe(0);
    expect(podman(['rename', `${P}-forged`, mine.id]).code).toBe(0);
    expect((await failure(Sandbox.connect(mine.id, { url, token: alice }))).code).toBe('NOT_FOUND');
    expect((await call(alice, 'DELETE', `/v1/sandboxes/${mine.id}`)).status).toBe(404);
    expect(podman(['container', 'exists', mine.id]).code).toBe(0);
    expect(podman(['container', 'exists', `${P}-moved`]).code).toBe(0);
  });

  it('limits on the command line are checked: a bad one, or one on another scope, is refused', async () => {
    for (const [args, text] of [[['--scope', 'sandbox:x', '--max-sandboxes', '0'], 'maxSandboxes'], [['--scope', 'sandbox:x', '--memory', '12mb'], 'memory'], [['--scope', 'group:x', '--cpus', '1'], 'sandbox:OWNER']] as const) {
      const r = await clawpod(['token', 'create', ...args], { env: plane.env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(text);
    }
  });
});
