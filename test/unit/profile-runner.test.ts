// The `runner` payload profile (the reference runner's serve mode): its defaults under a user's
// spec, the config it renders (which src/agent/serve.ts reads), probes and generated secrets.
// The runner answering on that config is test/unit/agent-serve.test.ts.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/serve.js';
import { containerGatewayUrl } from '../../src/ops/payload.js';
import { PROFILES, profileNamed, withProfileDefaults } from '../../src/profiles/index.js';
import { reference } from '../../src/profiles/reference.js';
import { runner } from '../../src/profiles/runner.js';
import { parseAgents } from '../../src/spec/parse.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const head = 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: t1\n';
const llm = { baseUrl: containerGatewayUrl('0.0.0.0:7879', 'anthropic'), api: 'anthropic' as const, model: 'claude-x', tokenFile: '/run/secrets/llm-token' };

describe('the runner profile', () => {
  it('is registered, and uses the reference image recipe', () => {
    expect(PROFILES.runner).toBe(runner);
    expect(profileNamed('runner').summary).toBe("clawpod's reference runner as a long-running chat service (HTTP), for tenants and fleets");
    expect(runner.image.dir).toBe('agent');
    for (const v of ['latest', '1.2.3']) expect(runner.image.tag(v)).toBe(reference.image.tag(v));
    expect(runner.image.contextFiles?.('/pkg')).toEqual(reference.image.contextFiles?.('/pkg'));
    expect(runner).toMatchObject({ defaultVersion: 'latest', portStep: 10, startupBudget: '1m', service: true, egress: 'https' });
  });

  it('fills in its defaults under the raw spec, the version made explicit', () => {
    const { raw, problem } = withProfileDefaults({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 't1' }, spec: { profile: 'runner' } });
    expect(problem).toBeUndefined();
    expect(raw.spec).toEqual({
      image: 'localhost/clawpod-agent:latest',
      command: ['node', '/opt/clawpod/bin/clawpod-agent', 'serve'],
      network: 'bridge',
      ports: [{ name: 'http', containerPort: 8080 }],
      workspace: { mountPath: '/home/agent', size: '1Gi' },
      resources: { cpu: '1', memory: '256Mi', pids: 256 },
      profile: { name: 'runner', version: 'latest' },
    });
  });

  it('gives a spec the schema accepts, with the user\'s fields winning', () => {
    const [a] = parseAgents(`${head}spec:\n  profile: {name: runner, version: "0.2.0"}\n  resources: {memory: 512Mi}\n`);
    const spec = a!.agent.spec;
    expect(spec.image).toBe('localhost/clawpod-agent:0.2.0');
    expect(spec.command).toEqual(['node', '/opt/clawpod/bin/clawpod-agent', 'serve']);
    expect(spec.resources).toMatchObject({ cpu: '1', memory: '512Mi', pids: 256 });
    expect(spec.ports).toMatchObject([{ name: 'http', containerPort: 8080 }]);
    expect(spec.workspace.mountPath).toBe('/home/agent');
    expect(spec.network).toBe('bridge');
  });

  it('probes /healthz and /readyz on 8080 by their JSON bodies', () => {
    const p = runner.probes!;
    expect(p.port).toBe(8080);
    expect(p.health.path).toBe('/healthz');
    expect(p.health.ok({ ok: true })).toBe(true);
    expect(p.health.ok({ ok: 'yes' })).toBe(false);
    expect(p.health.ok('<html>')).toBe(false);
    expect(p.ready!.path).toBe('/readyz');
    expect(p.ready!.ok({ ready: true })).toBe(true);
    expect(p.ready!.ok({ ready: false, reason: 'x' })).toBe(false);
    expect(p.ready!.ok(null)).toBe(false);
  });

  it('generates a gateway token per instance, kept in the vault', () => {
    expect(runner.generatedSecrets).toHaveLength(1);
    const g = runner.generatedSecrets![0]!;
    expect(g).toMatchObject({ name: 'gateway-token', label: 'gateway token' });
    expect(g.vaultName('t1')).toBe('runner-t1-gateway-token');
  });

  it('renders runner.json with secret file paths, never values, and the model when wired', () => {
    expect(runner.config!.file).toBe('.clawpod/runner.json');
    expect(runner.config!.render({ instance: 't1', secretsDir: '/run/secrets', llm })).toEqual({
      port: 8080,
      gatewayTokenFile: '/run/secrets/gateway-token',
      llm: { baseUrl: 'http://host.containers.internal:7879', api: 'anthropic', model: 'claude-x', tokenFile: '/run/secrets/llm-token' },
    });
    expect(runner.config!.render({ instance: 't1', secretsDir: '/run/secrets' })).toEqual({ port: 8080, gatewayTokenFile: '/run/secrets/gateway-token' });
  });

  it('renders what the runner\'s serve mode reads', () => {
    const home = mkdtempSync(join(tmpdir(), 'profile-runner-'));
    const file = join(home, 'runner.json');
    writeFileSync(file, JSON.stringify(runner.config!.render({ instance: 't1', secretsDir: '/run/secrets', llm: { ...llm, api: 'openai', baseUrl: containerGatewayUrl('10.88.0.1:7879', 'openai') } })));
    expect(loadConfig(file, home)).toEqual({
      port: 8080, gatewayTokenFile: '/run/secrets/gateway-token', workspace: join(home, 'workspace'), maxTurns: 20,
      llm: { baseUrl: 'http://10.88.0.1:7879/v1', api: 'openai', model: 'claude-x', tokenFile: '/run/secrets/llm-token' },
    });
  });

  it('carries spec.tools.shell.ssh into runner.json as files, and the serve mode checks it', () => {
    const ssh = { host: 'build.example', port: 2222, user: 'agent', keyFile: '/run/secrets/k', knownHostsFile: '/run/secrets/kh', workdir: '/srv' };
    const home = mkdtempSync(join(tmpdir(), 'profile-runner-'));
    const file = join(home, 'runner.json');
    writeFileSync(file, JSON.stringify(runner.config!.render({ instance: 't1', secretsDir: '/run/secrets', shell: { ssh } })));
    expect(loadConfig(file, home).shell).toEqual({ ssh });
    expect(runner.forcedConfig).toContain('shell');
    writeFileSync(file, JSON.stringify({ port: 8080, gatewayTokenFile: '/x', shell: { ssh: { ...ssh, host: '', keyFile: 'relative' } } }));
    expect(() => loadConfig(file, home)).toThrow(/shell\.ssh\.host: found "", expected a host name or address; shell\.ssh\.keyFile: found "relative"/);
  });
});
