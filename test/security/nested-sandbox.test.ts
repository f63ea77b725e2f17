// T-nested: the sandbox token a session of a group with `sandboxes` gets (docs/mcp.md), used as
// its agent would, through clawpod's MCP endpoint on the gateway socket, and as a thief would,
// against the API. It cannot go past its count, resources, network none, no mounts, ports or
// secrets; it sees no other owner's sandbox; the socket's /mcp takes no other kind of token; it
// is revoked when the session ends; its value never shows in events, logs, inspect or env; and
// the session container has no engine socket. Real `clawpod serve`, real Podman.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followAnswer } from '../../src/cli/answer.js';
import { loadConfig } from '../../src/config.js';
import { unixFetch } from '../../src/agent/tools/unix-fetch.js';
import type { ModelServer } from '../fixtures/model-server.js';
import { cleanup, clawpod, podman, uniquePrefix } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type Plane } from '../helpers/control.js';

const P = uniquePrefix('nest');
const G = `${P}a`;
const OTHER = `${P}b`;
const CONTAINER = `clawpod-grp-${G}`;
let model: ModelServer;
let plane: Plane;
let token: string;

const spec = (extra: string) => `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${P}x}\nspec: {image: localhost/clawpod-agent:latest${extra}}\n`;
/** Sends to the group; its answer and every event of the message, as JSON. */
async function say(text: string): Promise<{ text: string; events: string }> {
  const events: unknown[] = [];
  const r = await followAnswer(plane.client.send(G, text), { text: () => undefined, note: () => undefined, json: (e) => events.push(e) });
  return { text: r.text, events: JSON.stringify(events) };
}

/** An MCP client on the gateway socket, as the session's runner connects. */
async function mcp(bearer: string): Promise<Client> {
  const c = new Client({ name: 'attacker', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL('http://clawpod/mcp'), {
    fetch: unixFetch(join(plane.dataDir, 'control', 'gateway', 'llm.sock')),
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  }));
  return c;
}
async function tool(c: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const r = await c.callTool({ name, arguments: args });
  return { text: (r.content as { text: string }[]).map((x) => x.text).join('\n'), isError: r.isError === true };
}
const api = (bearer: string, method: string, path: string, body?: unknown) =>
  fetch(`${plane.client.url}${path}`, { method, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });

beforeAll(async () => {
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [G, OTHER] }).replace(`{name: ${G}, model: fix}`, `{name: ${G}, model: fix, sandboxes: {max: 1, cpu: "4", memory: 128Mi, pids: 100000}}`));
  // the session starts with the first message; its token is a tmpfs file on the host as in the container
  expect((await say('hello')).text).toBe('echo: hello');
  token = readFileSync(join(loadConfig(plane.env).secretsDir, CONTAINER, 'CLAWPOD_SANDBOX_TOKEN'), 'utf8');
  expect(token).toMatch(/^cpapi_/);
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe('T-nested a session\'s sandbox token stays within its session', () => {
  it('is minted no wider than the session container: count, cpus, memory, pids', async () => {
    const rows = await plane.client.call<{ scope: string; revokedAt: string | null; limits: { maxSandboxes: number; cpus: number; memory: string; pids: number } }[]>('GET', '/v1/api-tokens');
    const mine = rows.filter((r) => r.scope === `sandbox:${G}` && !r.revokedAt);
    expect(mine).toHaveLength(1);
    const parent = JSON.parse(podman(['inspect', CONTAINER]).stdout)[0].HostConfig as { NanoCpus: number; Memory: number; PidsLimit: number };
    // the group asked for 4 cpus and 100000 pids: it gets the session container's own
    expect(mine[0]!.limits).toEqual({ maxSandboxes: 1, cpus: parent.NanoCpus / 1e9, memory: '128Mi', pids: parent.PidsLimit });
  });

  it('cannot exceed its resources, ask for network, mounts, ports or secrets, nor its count', async () => {
    const c = await mcp(token);
    try {
      for (const [extra, field] of [
        [', resources: {memory: 1Gi}', 'spec.resources.memory'], [', resources: {cpu: "64"}', 'spec.resources.cpu'], [', resources: {pids: 100000}', 'spec.resources.pids'],
        [', network: bridge', 'spec.network'], [', mounts: [{hostPath: /etc, containerPath: /host}]', 'spec.mounts'],
        [', network: bridge, ports: [{containerPort: 80, hostPort: 18080}]', 'spec.ports'], [', secrets: [{name: K, source: env, secretRef: {name: HOME}}]', 'spec.secrets'],
      ] as const) {
        const r = await tool(c, 'sandbox_create', { spec: spec(extra) });
        expect(r.isError, extra).toBe(true);
        expect(r.text, extra).toMatch(new RegExp(`^FORBIDDEN: ${field.replace(/\./g, '\\.')} `));
      }
      const first = await tool(c, 'sandbox_create', { name: `${P}-one` });
      expect(first.isError, first.text).toBe(false);
      const second = await tool(c, 'sandbox_create', { name: `${P}-two` });
      expect(second.text).toMatch(/^FORBIDDEN: .*limit of 1/);
      expect(podman(['container', 'exists', `${P}-two`]).code).not.toBe(0);
    } finally {
      await c.close();
    }
  }, 60_000);

  it("sees no other owner's sandbox, and the socket's /mcp takes no admin, group or unknown token", async () => {
    const other = await plane.client.call<{ token: string }>('POST', '/v1/api-tokens', { scope: `sandbox:${OTHER}` });
    const made = await api(other.token, 'POST', '/v1/sandboxes', { profile: 'reference', name: `${P}-theirs` });
    expect(made.status, await made.clone().text()).toBe(201);
    const c = await mcp(token);
    try {
      expect((await tool(c, 'sandbox_list', {})).text).not.toContain(`${P}-theirs`);
      for (const [t, args] of [['sandbox_exec', { cmd: 'true' }], ['sandbox_files_read', { path: '/etc/hostname' }], ['sandbox_kill', {}]] as const) {
        expect((await tool(c, t, { id: `${P}-theirs`, ...args })).text, t).toMatch(/^NOT_FOUND: no sandbox named/);
      }
    } finally {
      await c.close();
    }
    expect(podman(['container', 'exists', `${P}-theirs`]).code).toBe(0);
    const admin = readFileSync(join(plane.dataDir, 'control', 'token'), 'utf8').trim();
    const group = (await plane.client.call<{ token: string }>('POST', '/v1/api-tokens', { scope: `group:${G}` })).token;
    for (const t of [admin, group, other.token.slice(0, -2), 'cpapi_forged']) await expect(mcp(t)).rejects.toThrow(/sandbox token only/);
  }, 60_000);

  it('never shows its value: events, the agent\'s own output, logs, inspect, env, serve\'s output', async () => {
    const raw = () => { const l = podman(['logs', CONTAINER]); return l.stdout + l.stderr; };
    // nothing clawpod or the runner writes carries it: the container's raw log before the agent prints it
    expect(raw()).not.toContain(token);
    // the agent can read its token (it is its credential), but what it prints is redacted
    const out = await say('run: cat /run/secrets/CLAWPOD_SANDBOX_TOKEN; echo; env');
    expect(out.text).toContain('[REDACTED:');
    expect(raw()).toContain(token); // the engine's own log holds what the agent printed, as for any secret file
    const logs = await clawpod(['logs', CONTAINER], { env: plane.env });
    expect(logs.stdout).toContain('[REDACTED:');
    const inspect = podman(['inspect', CONTAINER]).stdout;
    const session = JSON.parse(inspect)[0] as { Config: { Env: string[] }; Mounts: { Source: string; Destination: string }[] };
    for (const where of [out.text, out.events, inspect, logs.stdout, logs.stderr, plane.output()]) expect(where).not.toContain(token);
    expect(session.Config.Env.join('\n')).not.toMatch(/cpapi_|SANDBOX_TOKEN/);
    // no engine socket, nothing of the host but the gateway's folder, the session's inbox and its secrets
    expect(session.Mounts.map((m) => m.Destination).sort()).toEqual(['/run/clawpod/gateway', '/run/clawpod/ipc/input', '/run/secrets', '/workspace']);
    expect(JSON.stringify(session.Mounts)).not.toMatch(/podman\.sock|docker\.sock|containerd\.sock/);
  }, 60_000);

  it('is revoked, and its sandboxes killed, when the session ends', async () => {
    await plane.client.call('PUT', `/v1/groups/${G}`, { model: 'fixa' });
    await waitFor('the session to end', () => podman(['container', 'exists', CONTAINER]).code !== 0 || undefined, 60_000);
    await waitFor('its sandbox to be killed', () => podman(['container', 'exists', `${P}-one`]).code !== 0 || undefined, 60_000);
    expect((await api(token, 'GET', '/v1/sandboxes')).status).toBe(401);
    await expect(mcp(token)).rejects.toThrow(/sandbox token only/);
    // another owner's sandbox is not the session's to take along
    expect(podman(['container', 'exists', `${P}-theirs`]).code).toBe(0);
  }, 90_000);
});
