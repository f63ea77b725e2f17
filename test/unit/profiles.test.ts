// Payload profiles, pure parts: defaults under a user's spec, config seeding modes, the gateway
// address a container can reach, and OpenClaw's rendered config.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFiles, containerGatewayUrl, seedContent, settleOnce } from '../../src/ops/payload.js';
import { openclaw } from '../../src/profiles/openclaw.js';
import { deepMerge } from '../../src/profiles/merge.js';
import { parseAgents, parseProfileAgent } from '../../src/spec/parse.js';
import { ClawpodError } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';

const head = 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: alice\n';

function problem(f: () => unknown): ClawpodError {
  try { f(); } catch (e) { if (e instanceof ClawpodError) return e; throw e; }
  throw new Error('expected an error');
}

describe('profile defaults', () => {
  it('fill in what the user did not write, with the pinned version made explicit', () => {
    const [a] = parseAgents(`${head}spec:\n  profile: openclaw\n`);
    expect(a!.agent.spec.profile).toEqual({ name: 'openclaw', version: openclaw.defaultVersion });
    expect(a!.agent.spec.image).toBe(`localhost/clawpod-openclaw:${openclaw.defaultVersion}`);
    expect(a!.agent.spec.ports).toMatchObject([{ containerPort: 18789 }]);
    expect(a!.agent.spec.workspace.mountPath).toBe('/home/agent');
    expect(a!.agent.spec.network).toBe('bridge');
  });

  it("let the user's fields win, objects merged and arrays replaced whole", () => {
    const [a] = parseAgents(`${head}spec:\n  profile: {name: openclaw, version: "2026.10.1"}\n  resources: {memory: 3Gi}\n  env: [{name: A, value: b}]\n`);
    expect(a!.agent.spec.image).toBe('localhost/clawpod-openclaw:2026.10.1');
    expect(a!.agent.spec.resources).toMatchObject({ memory: '3Gi', cpu: '2' });
    expect(a!.agent.spec.env).toEqual([{ name: 'A', value: 'b' }]);
  });

  it("add the profile's env for the spec's isolation tier only, a variable the user set winning", () => {
    const env = (extra: string) => parseAgents(`${head}spec:\n  profile: openclaw\n${extra}`)[0]!.agent.spec.env;
    const native = (e: { name: string; value: string }[]) => e.filter((v) => v.name === 'OPENCLAW_FS_SAFE_NATIVE_MODE');
    expect(native(env(''))).toEqual([]);
    expect(native(env('  isolation: runc\n'))).toEqual([]);
    // gVisor 2022-12 has no openat2, which fs-safe's native helper needs (docs/runtimes.md)
    expect(native(env('  isolation: gvisor\n'))).toEqual([{ name: 'OPENCLAW_FS_SAFE_NATIVE_MODE', value: 'off' }]);
    expect(env('  isolation: gvisor\n').map((v) => v.name)).toContain('OPENCLAW_STATE_DIR');
    expect(env('  isolation: gvisor\n  env: [{name: OPENCLAW_FS_SAFE_NATIVE_MODE, value: require}, {name: A, value: b}]\n')).toEqual([
      { name: 'OPENCLAW_FS_SAFE_NATIVE_MODE', value: 'require' }, { name: 'A', value: 'b' },
    ]);
    expect(problem(() => env('  isolation: toString\n')).details[0]).toMatch(/spec\.isolation/);
  });

  it('name an unknown profile with the closest one, at its line', () => {
    const e = problem(() => parseAgents(`${head}spec:\n  profile: opencla\n`, 'a.yaml'));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.details[0]).toMatch(/^a\.yaml:6:12 spec\.profile: got "opencla", expected "openclaw"/);
  });

  it('make `clawpod run PROFILE` specs from a partial overrides file, --name first', () => {
    const l = parseProfileAgent('openclaw', 'bob', 'spec:\n  resources: {cpu: "1"}\n', 'o.yaml');
    expect(l.agent.metadata.name).toBe('bob');
    expect(l.agent.spec.resources.cpu).toBe('1');
    expect(parseProfileAgent('openclaw', undefined, '', undefined).agent.metadata.name).toBe('openclaw');
    const e = problem(() => parseProfileAgent('openclaw', 'x', 'spec:\n  profile: reference\n', 'o.yaml'));
    expect(e.message).toContain('the command line says openclaw');
  });
});

describe('seeding a config file', () => {
  const rendered = { gateway: { port: 18789, auth: { mode: 'token' } } };
  it('creates it when missing, whatever the mode', () => {
    for (const mode of ['seedOnly', 'merge', 'overwrite'] as const) expect(seedContent(undefined, rendered, mode, 'f').action).toBe('created');
  });
  it("merges clawpod's keys over the file's, keeping the rest (JSON5 with comments read)", () => {
    const r = seedContent('// mine\n{ gateway: { port: 1, bind: "lan" }, agents: { x: 1 }, }', rendered, 'merge', 'f');
    expect(r.action).toBe('merged');
    expect(JSON.parse(r.text!)).toEqual({ gateway: { port: 18789, bind: 'lan', auth: { mode: 'token' } }, agents: { x: 1 } });
  });
  it('keeps it under seedOnly and replaces it under overwrite', () => {
    expect(seedContent('{"a":1}', rendered, 'seedOnly', 'f')).toEqual({ text: undefined, action: 'kept' });
    expect(JSON.parse(seedContent('{"a":1}', rendered, 'overwrite', 'f').text!)).toEqual(rendered);
  });
  it('refuses to merge a file that does not parse, saying how to go on', () => {
    const e = problem(() => seedContent('{ nope', rendered, 'merge', '/home/agent/.openclaw/openclaw.json'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('/home/agent/.openclaw/openclaw.json');
    expect(e.hint).toContain('mode: overwrite');
  });
  it('deepMerge replaces arrays and keeps the under side for undefined', () => {
    expect(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } })).toEqual({ a: [3], b: { c: 1, d: 2 } });
    expect(deepMerge({ a: 1 }, undefined)).toEqual({ a: 1 });
  });
});

describe("the LLM gateway's address from inside a container", () => {
  it('maps a wildcard listener to host.containers.internal and adds /v1 for OpenAI', () => {
    expect(containerGatewayUrl('0.0.0.0:7879', 'anthropic')).toBe('http://host.containers.internal:7879');
    expect(containerGatewayUrl('10.88.0.1:7879', 'openai')).toBe('http://10.88.0.1:7879/v1');
  });
  it('refuses loopback, which no container reaches', () => {
    const e = problem(() => containerGatewayUrl('127.0.0.1:7879', 'openai'));
    expect(e.hint).toContain('0.0.0.0:7879');
  });
});

describe('openclaw.json as clawpod renders it', () => {
  it('names secret files, never values, and wires the model to the gateway', () => {
    const c = openclaw.config!.render({ instance: 'alice', secretsDir: '/run/secrets', llm: { baseUrl: 'http://gw:7879', api: 'anthropic', model: 'claude-x', tokenFile: '/run/secrets/llm-token' } });
    expect(c).toMatchObject({
      gateway: { bind: 'lan', port: 18789, auth: { mode: 'token', token: { source: 'file', provider: 'clawpod-gateway-token', id: 'value' } } },
      secrets: { providers: { 'clawpod-gateway-token': { path: '/run/secrets/gateway-token' }, 'clawpod-llm-token': { path: '/run/secrets/llm-token' } } },
      models: { providers: { clawpod: { baseUrl: 'http://gw:7879', api: 'anthropic-messages', apiKey: { source: 'file', provider: 'clawpod-llm-token' } } } },
      agents: { defaults: { model: { primary: 'clawpod/claude-x' } } },
      update: { checkOnStart: false },
    });
    const plain = openclaw.config!.render({ instance: 'a', secretsDir: '/run/secrets' });
    expect(plain).not.toHaveProperty('agents');
  });
});

describe('the agent bundle', () => {
  it('is read from a folder inside the spec\'s folder, and nowhere else', () => {
    const specDir = mkdtempSync(join(tmpdir(), 'clawpod-bundle-'));
    mkdirSync(join(specDir, 'b', 'skills'), { recursive: true });
    writeFileSync(join(specDir, 'b', 'AGENTS.md'), 'hi');
    writeFileSync(join(specDir, 'b', 'skills', 'x.md'), 'x');
    const config = loadConfig({ HOME: mkdtempSync(join(tmpdir(), 'clawpod-bundle-home-')) });
    expect(bundleFiles('./b', config, specDir).map((f) => f.path).sort()).toEqual(['AGENTS.md', 'skills/x.md']);
    for (const outside of ['..', '/', '/etc', '../other']) {
      const e = problem(() => bundleFiles(outside, config, specDir));
      expect(e.code).toBe('MOUNT_BLOCKED');
      expect(e.message).toContain("outside the spec's folder");
    }
  });
});

describe('settling a run\'s tokens', () => {
  it('does whichever of commit and rollback comes first, once', async () => {
    const done: string[] = [];
    const f = settleOnce({ commit: async () => { done.push('commit'); }, rollback: async () => { done.push('rollback'); } });
    await f.commit();
    await f.rollback();
    await f.commit();
    expect(done).toEqual(['commit']);
  });
});
