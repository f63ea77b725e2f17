// The warm pool's spec hash: what a claim can deliver into a running member is left out of it, the
// rest decides whether a claimer may take a member; a spec no claim could take is refused at fill.
import { describe, expect, it } from 'vitest';
import { parseAgents, parseProfileAgent } from '../../src/spec/parse.js';
import { checkPoolable, claimBlocker, differingFields, memberAgent, specHash } from '../../src/ops/pool-spec.js';

const agent = (body: string, name = 'sb') => parseAgents(`apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n${body.replace(/^/gm, '  ')}\n`)[0]!.agent;
const base = 'command: [sleep, infinity]\nresources: {cpu: 500m, memory: 256Mi}';

describe('specHash', () => {
  it('is the same for the same spec however written, and apart from the name', () => {
    const a = agent(base);
    expect(specHash(agent('resources: {memory: 256Mi, cpu: 500m}\ncommand: [sleep, infinity]', 'other'))).toBe(specHash(a));
    expect(specHash(agent(`${base}\nworkspace: {enabled: true}`))).toBe(specHash(a)); // a default written out
  });

  it('leaves out the secrets and the bundle a claim delivers, and names the fields that differ', () => {
    const a = agent(base);
    expect(specHash(agent(`${base}\nsecrets: [{name: T, source: env, secretRef: {name: X}}]`))).toBe(specHash(a));
    const b = agent('command: [sleep, infinity]\nresources: {cpu: "1", memory: 256Mi}\nenv: [{name: MODE, value: two}]');
    expect(specHash(b)).not.toBe(specHash(a));
    expect(differingFields(b, a)).toEqual(['env', 'resources']);
  });

  it('leaves out config and model for a payload that reloads its config in place, and only then', () => {
    const oc = parseProfileAgent('openclaw', 'carol', '', undefined).agent;
    const pool = parseProfileAgent('openclaw', undefined, '', undefined).agent;
    expect(specHash(oc)).toBe(specHash(pool));
    expect(specHash(memberAgent(pool))).toBe(specHash(pool));
    expect(specHash({ ...oc, spec: { ...oc.spec, llm: false } })).toBe(specHash(pool));
    const plain = agent(base);
    expect(specHash({ ...plain, spec: { ...plain.spec, llm: false } })).not.toBe(specHash(plain));
  });
});

describe('what no claim can take', () => {
  it('refuses secrets exposed other than as files, and a payload that reads its config only at start', () => {
    expect(claimBlocker(agent(`${base}\nsecrets: [{name: T, source: env, secretRef: {name: X}, exposeAs: env}]`))).toMatch(/spec.secrets T is exposed as env/);
    expect(claimBlocker(parseProfileAgent('runner', undefined, '', undefined).agent)).toMatch(/runner reads its config only when it starts/);
    expect(claimBlocker(agent(base))).toBeUndefined();
    expect(() => checkPoolable(agent(`${base}\nsecrets: [{name: T, source: env, secretRef: {name: X}, exposeAs: env}]`), 'pool.yaml')).toThrow(/pool.yaml: cannot keep a warm pool of sb/);
  });

  it('gives members no secrets, no bundle and their own agent name', () => {
    const m = memberAgent(agent(`${base}\nsecrets: [{name: T, source: env, secretRef: {name: X}}]`));
    expect(m.metadata.name).toBe('sb-pool');
    expect(m.spec.secrets).toEqual([]);
  });
});
