// Property-based fuzzing of the spec parser: whatever YAML text comes in, the answer is validated
// Agents or a ClawpodError (YAML_MALFORMED / SPEC_INVALID) that points at file:line:col. Inputs:
// arbitrary strings, the examples mutated (structure and text: aliases, tags, bombs), and
// arbitrary JSON-like objects written as YAML.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAgents, parseProfileAgent } from '../../src/spec/parse.js';
import { mutatedObject, mutatedText, params, timed, valueOrCoded, yamlBomb, yamlHazard } from './fuzz-kit.js';

const FILE = 'fuzz.yaml';
const CODES = ['YAML_MALFORMED', 'SPEC_INVALID'];
const EXAMPLES = readdirSync(join(__dirname, '../../examples')).filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(__dirname, '../../examples', f), 'utf8'))
  .filter((t) => /kind: Agent/.test(t));

/** The parse, and a check that an accepted spec is what it claims (no prototype tricks, JSON-clean). */
function check(text: string): void {
  const r = valueOrCoded(() => parseAgents(text, FILE), CODES, FILE);
  if (Array.isArray(r)) {
    for (const l of r) {
      expect(l.agent.kind).toBe('Agent');
      expect(Object.getPrototypeOf(l.agent.spec)).toBe(Object.prototype);
      expect(JSON.parse(JSON.stringify(l.agent))).toEqual(JSON.parse(JSON.stringify(l.agent)));
    }
  }
}

const yamlish = fc.string({ unit: fc.constantFrom(...'ab:- \n\t[]{},&*!|>\'"#?%@`~.01\\'.split(''), 'kind', 'Agent', 'spec', '*a', '&a', '!!'), maxLength: 80 });

describe('fuzz: spec parser', () => {
  it('arbitrary strings → Agents or a coded error with file:line', () => {
    timed('spec strings (3000)', () => fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), yamlish), check), params(3000)));
  });

  it('mutated examples (text: aliases, tags, bombs, lines cut) → Agents or a coded error', () => {
    timed('spec text mutations (1000)', () => fc.assert(fc.property(fc.constantFrom(...EXAMPLES).chain((t) => mutatedText(t)), check), params(1000)));
  });

  it('mutated examples with bombs (deep nesting past the parser, alias expansion, 100 kB scalars) → a coded error or Agents', () => {
    timed('spec bombs (60)', () => fc.assert(fc.property(fc.constantFrom(...EXAMPLES).chain((t) => mutatedText(t, yamlBomb)), check), params(60)));
  });

  it('mutated examples (structure: values, keys, nesting) → Agents or a coded error', () => {
    const objects = EXAMPLES.map((t) => parse(t) as unknown);
    timed('spec structure mutations (1000)', () => fc.assert(fc.property(fc.constantFrom(...objects).chain(mutatedObject), (o) => check(stringify(o))), params(1000)));
  });

  it('arbitrary JSON-like objects as YAML, bare and inside an Agent', () => {
    const doc = fc.oneof(fc.anything({ maxDepth: 4, withNullPrototype: false }), fc.jsonValue({ maxDepth: 6 }).map((spec) => ({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec })));
    timed('spec JSON-like objects (2000)', () => fc.assert(fc.property(doc, (o) => {
      let text: string | undefined;
      try { text = stringify(o); } catch { return; } // not representable as YAML (a symbol, a function)
      if (typeof text === 'string') check(text);
    }), params(2000)));
  });

  it('`clawpod run PROFILE -f overrides.yaml`: mutated overrides → an Agent or a coded error', () => {
    const overrides = fc.oneof(fc.constant('spec:\n  config:\n    values: {a: 1}\n'), fc.constant('metadata: {name: x}\n')).chain((t) => mutatedText(t));
    const any = fc.oneof(overrides, yamlHazard, fc.string({ maxLength: 60 }));
    timed('profile overrides (2000)', () => fc.assert(fc.property(any, (text) => {
      valueOrCoded(() => parseProfileAgent('openclaw', undefined, text, FILE), [...CODES, 'USAGE']);
    }), params(2000)));
  });
});
