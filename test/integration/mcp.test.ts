// `clawpod mcp` against a real `clawpod serve` on Podman, driven by the MCP SDK's own client: over
// stdio and over --http (create, exec, write, read, kill; an API error comes back as a tool error
// with clawpod's code and hint), and nested: a session whose scripted model calls
// mcp__clawpod__sandbox_create and sandbox_exec through the gateway socket. Its sub-sandbox
// exists while the session runs, is owned by the group, is no larger than the session container,
// and is gone with the session.
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followAnswer } from '../../src/cli/answer.js';
import type { ModelServer } from '../fixtures/model-server.js';
import { BIN, cleanup, podman, uniquePrefix } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('mcp');
const NEST = `${P}nest`;
let model: ModelServer;
let plane: Plane;
let httpProc: ChildProcess | undefined;

interface Called { text: string; data: Record<string, unknown>; isError: boolean }
async function call(c: Client, name: string, args: Record<string, unknown>): Promise<Called> {
  const r = await c.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text: string }[]).map((x) => x.text).join('\n');
  return { text, data: (r.structuredContent ?? {}) as Record<string, unknown>, isError: r.isError === true };
}
const ok = (r: Called): Called => { expect(r.isError, r.text).toBe(false); return r; };

/** create → exec → write → read → list → kill, the same through any transport. */
async function roundTrip(c: Client, name: string): Promise<void> {
  const made = ok(await call(c, 'sandbox_create', { name }));
  expect(made.data).toMatchObject({ id: name, state: 'running' });
  // with a progress token the output also arrives as it comes
  const progress: string[] = [];
  const r = await c.callTool({ name: 'sandbox_exec', arguments: { id: name, cmd: 'echo hi from $(hostname); echo oops >&2; exit 3' } }, undefined, { onprogress: (p) => { progress.push(String(p.message)); } });
  const ran = { text: '', data: r.structuredContent as Record<string, unknown>, isError: r.isError === true };
  expect(ran.data).toMatchObject({ exitCode: 3, timedOut: false, stdout: expect.stringContaining('hi from'), stderr: 'oops\n' });
  expect(progress.join('')).toContain('oops');
  ok(await call(c, 'sandbox_files_write', { id: name, path: '/workspace/notes/a.txt', content: 'hello, sandbox ✓' }));
  expect(ok(await call(c, 'sandbox_files_read', { id: name, path: '/workspace/notes/a.txt' })).text).toBe('hello, sandbox ✓');
  expect(ok(await call(c, 'sandbox_files_list', { id: name, path: '/workspace/notes' })).text).toContain('"a.txt"');
  ok(await call(c, 'sandbox_kill', { id: name }));
  const gone = await call(c, 'sandbox_exec', { id: name, cmd: 'true' });
  expect(gone.isError).toBe(true);
  expect(gone.text).toMatch(/^NOT_FOUND: .*\nhint: /s);
  expect(gone.data).toMatchObject({ error: { code: 'NOT_FOUND' } });
}

beforeAll(async () => {
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [NEST] }).replace(`{name: ${NEST}, model: fix}`, `{name: ${NEST}, model: fix, sandboxes: {max: 2, memory: 128Mi}}`));
}, 120_000);

afterAll(async () => {
  httpProc?.kill();
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe('clawpod mcp', () => {
  it('over stdio: the sandbox tools, with the admin token of the data folder', async () => {
    const c = new Client({ name: 'mcp-test', version: '1' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: plane.env, stderr: 'pipe' }));
    try {
      const names = (await c.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(['sandbox_create', 'sandbox_exec', 'sandbox_files_list', 'sandbox_files_read', 'sandbox_files_remove', 'sandbox_files_write', 'sandbox_kill', 'sandbox_list', 'sandbox_logs', 'sandbox_stop']);
      await roundTrip(c, `${P}-stdio`);
    } finally {
      await c.close();
    }
  }, 120_000);

  it('over --http: each client with its own bearer token; none, or a wrong one, is 401', async () => {
    httpProc = spawn(process.execPath, [BIN, 'mcp', '--http', '127.0.0.1:0'], { env: plane.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    httpProc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const url = await waitFor('clawpod mcp --http to listen', () => /on (http:\/\/\S+\/mcp)/.exec(err)?.[1]);
    const { token } = await plane.client.call<{ token: string }>('POST', '/v1/api-tokens', { scope: `sandbox:${P}h`, limits: { maxSandboxes: 1 } });
    const connect = async (bearer?: string) => {
      const c = new Client({ name: 'mcp-test', version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(url), bearer ? { requestInit: { headers: { authorization: `Bearer ${bearer}` } } } : {}));
      return c;
    };
    for (const bad of [undefined, `${token}x`]) await expect(connect(bad)).rejects.toThrow(/bearer token|refused this token/);
    const c = await connect(token);
    try {
      // the token's own limits hold through MCP: nothing is made
      const wide = await call(c, 'sandbox_create', { spec: 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: wide}\nspec: {image: localhost/clawpod-agent:latest, network: bridge}\n' });
      expect(wide.isError).toBe(true);
      expect(wide.text).toMatch(/^FORBIDDEN: spec.network bridge .*\nhint: /s);
      await roundTrip(c, `${P}-http`);
    } finally {
      await c.close();
    }
  }, 120_000);
});

describe('nested sandboxes', () => {
  it("a session's agent starts a sandbox through mcp__clawpod__*, owned by its group, no larger than itself, gone with the session", async () => {
    const said = async (text: string) => {
      const r = await followAnswer(plane.client.send(NEST, text), { text: () => undefined, note: () => undefined });
      expect(r.status, r.reason).toBe('done');
      return r.text;
    };
    const created = await said('tool: mcp__clawpod__sandbox_create {}');
    const id = /"id": "([^"]+)"/.exec(created)?.[1];
    expect(id, created).toBeDefined();
    const ran = await said(`tool: mcp__clawpod__sandbox_exec ${JSON.stringify({ id, cmd: 'echo nested-$((6*7))' })}`);
    expect(ran).toMatch(/^result: exit code 0 .*\nstdout:\nnested-42/s);

    // while the session runs: the group owns it, and it is no larger than the session container
    const sb = await plane.client.call<{ owner: string; limits: { cpus: number; memoryBytes: number; pids: number } }>('GET', `/v1/sandboxes/${id}`);
    expect(sb.owner).toBe(NEST);
    const parent = JSON.parse(podman(['inspect', `clawpod-grp-${NEST}`]).stdout)[0].HostConfig as { NanoCpus: number; Memory: number; PidsLimit: number };
    expect(sb.limits.memoryBytes).toBe(128 * 2 ** 20);
    expect(sb.limits.cpus * 1e9).toBeLessThanOrEqual(parent.NanoCpus);
    expect(sb.limits.pids).toBeLessThanOrEqual(parent.PidsLimit);

    // the session ends (its group's model is switched while it is idle): the sandbox goes with it
    await plane.client.call('PUT', `/v1/groups/${NEST}`, { model: 'fixa' });
    await waitFor('the nested sandbox to be killed', async () => !(await plane.client.call<{ items: { id: string }[] }>('GET', '/v1/sandboxes')).items.some((x) => x.id === id) || undefined, 60_000);
    expect(podman(['container', 'exists', id!]).code).not.toBe(0);
  }, 180_000);
});
