import { describe, expect, it } from 'vitest';
import { parseAgents } from '../../src/spec/parse.js';
import { ClawpodError } from '../../src/errors.js';
import { DEFAULTS } from '../../src/spec/defaults.js';

const head = 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: demo}\n';

function problems(yaml: string): { code: string; details: readonly string[]; message: string } {
  try {
    parseAgents(yaml, 'agent.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ClawpodError);
    const err = e as ClawpodError;
    return { code: err.code, details: err.details, message: err.message };
  }
  throw new Error('expected the spec to be rejected');
}

describe('spec parsing', () => {
  it('fills every default from defaults.ts', () => {
    const [a] = parseAgents(head);
    expect(a!.agent.spec.image).toBe(DEFAULTS.image);
    expect(a!.agent.spec.user).toBe(DEFAULTS.user);
    expect(a!.agent.spec.network).toBe('none');
    expect(a!.agent.spec.isolation).toBe('runc');
    expect(a!.agent.spec.resources).toEqual({ cpu: DEFAULTS.cpu, memory: DEFAULTS.memory, pids: DEFAULTS.pids });
    expect(a!.agent.spec.workspace).toEqual({ enabled: true, mountPath: '/workspace' });
    expect(a!.agent.spec.lifecycle.idleTimeout).toBe('30m');
  });

  it('reads several documents from one file', () => {
    const two = `${head}---\n${head.replace('demo', 'other')}`;
    expect(parseAgents(two).map((l) => l.agent.metadata.name)).toEqual(['demo', 'other']);
  });

  it('names an unknown field with its line and a did-you-mean', () => {
    const p = problems(`${head}spec:\n  resources:\n    memroy: 1Gi\n`);
    expect(p.code).toBe('SPEC_INVALID');
    expect(p.details).toEqual(['agent.yaml:6:13 spec.resources.memroy: unknown field — did you mean "memory"?']);
  });

  it('lists the accepted fields when no name is close', () => {
    const p = problems(`${head}spec:\n  zzzzzz: 1\n`);
    expect(p.details[0]).toMatch(/spec\.zzzzzz: unknown field — expected one of: image, command, args/);
  });

  it('rejects bad quantities with the value and what was expected', () => {
    const p = problems(`${head}spec:\n  resources: {memory: 512m, cpu: fast, pids: 3}\n  lifecycle: {ttl: 5}\n`);
    expect(p.details.join('\n')).toContain('spec.resources.memory: got "512m", expected a memory quantity');
    expect(p.details.join('\n')).toContain('did you mean "512Mi"?');
    expect(p.details.join('\n')).toContain('spec.resources.cpu: got "fast", expected a CPU quantity');
    expect(p.details.join('\n')).toContain('spec.resources.pids: got 3');
    expect(p.details.join('\n')).toContain('spec.lifecycle.ttl: got 5, expected a duration');
    expect(p.details).toHaveLength(4);
  });

  it('rejects bad names', () => {
    const p = problems('apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: My_Agent}\n');
    expect(p.details[0]).toMatch(/^agent\.yaml:3:18 metadata\.name: got "My_Agent", expected a DNS-1123 label/);
  });

  it('rejects a wrong apiVersion and kind', () => {
    const p = problems('apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n');
    expect(p.details).toEqual([
      'agent.yaml:1:13 apiVersion: got "v1", expected "clawpod.dev/v1alpha1"',
      'agent.yaml:2:7 kind: got "Pod", expected "Agent"',
    ]);
  });

  it('refuses root, env numbers and reserved labels', () => {
    const p = problems(`${head}spec:
  user: "0"
  env: [{name: PORT, value: 8080}]
  labels: {dev.clawpod.managed: "x"}
`);
    const all = p.details.join('\n');
    expect(all).toContain('spec.user: got "0", expected a non-root uid');
    expect(all).toContain('spec.env[0].value: got 8080, expected a string value');
    expect(all).toContain('spec.labels.dev.clawpod.managed: got "x", expected a key outside the reserved prefixes');
  });

  // Cross-field rules run once every field is well-formed on its own.
  it('checks rules across fields: ports need a network, names are unique', () => {
    const p = problems(`${head}spec:
  ports: [{containerPort: 80}]
  secrets:
    - {name: a, secretRef: {name: A}}
    - {name: a, secretRef: {name: B}}
    - {name: b, source: env, secretRef: {name: B, key: k}}
`);
    const all = p.details.join('\n');
    expect(all).toContain('spec.network: not set (its default applies), expected "bridge" when spec.ports is set');
    expect(all).toContain('spec.secrets[1].name: got "a", expected a unique secret name');
    expect(all).toContain('spec.secrets[2].secretRef.key: got "k", expected no key for source env');
  });

  it('rejects unsafe container paths', () => {
    const p = problems(`${head}spec:\n  mounts: [{hostPath: /tmp, containerPath: /proc/x}, {hostPath: /tmp, containerPath: rel}]\n`);
    expect(p.details.join('\n')).toContain('spec.mounts[0].containerPath: got "/proc/x", expected a path outside /, /proc, /sys, /dev');
    expect(p.details.join('\n')).toContain('spec.mounts[1].containerPath: got "rel", expected an absolute path');
    // the engine cleans "//proc" and "/./proc" to /proc: refused as written, not let past the prefix check
    const q = problems(`${head}spec:\n  mounts: [{hostPath: /tmp, containerPath: //proc}, {hostPath: /tmp, containerPath: /./sys}]\n  workspace: {mountPath: /data//x}\n`);
    expect(q.details.join('\n')).toContain('spec.mounts[0].containerPath: got "//proc", expected a plain path');
    expect(q.details.join('\n')).toContain('spec.mounts[1].containerPath: got "/./sys", expected a plain path');
    expect(q.details.join('\n')).toContain('spec.workspace.mountPath: got "/data//x", expected a plain path');
  });

  it('reports malformed YAML with a line and column', () => {
    const p = problems('apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: x\n');
    expect(p.code).toBe('YAML_MALFORMED');
    expect(p.details[0]).toMatch(/^agent\.yaml:\d+:\d+ /);
  });

  it('refuses a file with no Agent in it', () => {
    expect(problems('# nothing\n').message).toContain('holds no Agent document');
    expect(problems('- a\n- b\n').details[0]).toContain('expected a mapping with apiVersion');
  });
});
