// Shared by the property-based fuzz tests: the seed, the "a value or a coded error" check, and
// mutations of real documents (structure-level on the parsed object, text-level on the YAML).
// FUZZ_SEED=N reproduces a CI failure (fast-check prints the seed and the path when one fails);
// FUZZ_RUNS_SCALE=10 runs ten times as many cases.
import fc from 'fast-check';
import { expect } from 'vitest';
import { isClawpodError, type ClawpodError } from '../../src/errors.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);

/** fast-check parameters: a fixed seed and `n` runs (times FUZZ_RUNS_SCALE). */
export function params(n: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)), endOnFailure: true };
}

/** The thrown value is a ClawpodError with a code and a message; for file errors, `file:LINE:COL` is in the text. */
export function expectCoded(e: unknown, codes: readonly string[], file?: string): ClawpodError {
  if (!isClawpodError(e)) throw new Error(`uncoded escape: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  expect(codes).toContain(e.code);
  expect(e.message.length).toBeGreaterThan(0);
  if (file) {
    const text = [e.message, ...e.details].join('\n');
    const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(text, `no ${file}:line:col in:\n${text}`).toMatch(new RegExp(`${esc}:\\d+:\\d+`));
  }
  return e;
}

/** Calls `fn`; a value passes, a throw must be coded. */
export function valueOrCoded<T>(fn: () => T, codes: readonly string[], file?: string): T | ClawpodError {
  try { return fn(); } catch (e) { return expectCoded(e, codes, file); }
}

type Json = unknown;
type Seg = string | number;

/** Every path into a JSON-like value, the root included. */
export function pathsOf(v: Json, prefix: Seg[] = [], out: Seg[][] = []): Seg[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

/** Values that have broken parsers before: wrong types, edge numbers, prototype names, huge strings. */
export const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e21, Number.MAX_SAFE_INTEGER + 2, 0.5, '', ' ', '0', 'null', '~', 'true', '1e999', '-', '__proto__', 'constructor',
    'toString', '{}', '[]', '../../etc/passwd', '/', 'x'.repeat(5000), '\u202e', 'é', '💥', '\\', '"', "'", '\t', [], {}, [[[]]], { __proto__x: 1 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '<<', '0', 'kind', 'spec', 'image', 'name', 'value'),
  fc.string({ maxLength: 12 }),
);

type Mutation = { at: number; op: 'set' | 'delete' | 'rename' | 'wrap' | 'unwrap' | 'dup'; value: Json; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('set', 'set', 'delete', 'rename', 'wrap', 'unwrap', 'dup'),
  value: nastyValue,
  key: nastyKey,
});

function applyMutation(root: Json, m: Mutation): Json {
  const paths = pathsOf(root);
  const path = paths[m.at % paths.length]!;
  if (path.length === 0) return m.op === 'wrap' ? [root] : m.op === 'set' ? m.value : root;
  const parent = path.slice(0, -1).reduce<Json>((o, s) => (o as Record<Seg, Json>)[s], root) as Record<Seg, Json> | Json[];
  const last = path[path.length - 1]!;
  const cur = (parent as Record<Seg, Json>)[last];
  const put = (k: Seg, v: Json) => Object.defineProperty(parent, k, { value: v, enumerable: true, writable: true, configurable: true });
  switch (m.op) {
    case 'set': put(last, m.value); break;
    case 'delete': if (Array.isArray(parent)) parent.splice(last as number, 1); else delete (parent as Record<Seg, Json>)[last]; break;
    case 'rename': if (!Array.isArray(parent)) { delete (parent as Record<Seg, Json>)[last]; put(m.key, cur); } break;
    case 'wrap': put(last, [cur]); break;
    case 'unwrap': put(last, Array.isArray(cur) ? cur[0] : cur && typeof cur === 'object' ? Object.values(cur)[0] : cur); break;
    case 'dup': if (Array.isArray(parent)) parent.push(structuredClone(cur)); else put(m.key, structuredClone(cur)); break;
  }
  return root;
}

/** `base` with 1..4 structural mutations (values replaced, keys renamed, structure wrapped or cut). */
export function mutatedObject(base: Json): fc.Arbitrary<Json> {
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => ms.reduce((o, m) => applyMutation(o, m), structuredClone(base)));
}

/** Text that has broken YAML readers: aliases with and without anchors, tags, merge keys, bombs, deep nesting. */
export const yamlHazard: fc.Arbitrary<string> = fc.constantFrom(
  '*a', '&a x', '&a', '*a\n', '!!js/function "function(){return 1}"', '!!js/undefined ~', '!!binary aGVsbG8=', '!!set {a, b}', '!!omap [a: 1]',
  '!!timestamp 2001-01-01', '!!int x', '!!float y', '!foo bar', '!<tag:yaml.org,2002:str> 1', '<<: *a', '__proto__: {polluted: 1}', '[', '{', ']', '}', "'",
  '"', '\t', '\u0000', '\u0007', '\u007f', '\ufeff', '---', '...', '%YAML 1.1', '%TAG ! tag:x,2000:', '? [a, b]\n: 1', '|', '>-', '-', ':', '#',
  '&c [*c]', '&d {k: *d}', `${'['.repeat(70)}${']'.repeat(70)}`, `${'{a: '.repeat(70)}1${'}'.repeat(70)}`,
  'a: &a [x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  '1e999', '0x10', '0o7', '.nan', '-.inf', '2001-01-01', 'null', 'yes', '\u2028', '\ud800',
);

/** The expensive ones (each costs the parser 10-300 ms), mutated in fewer runs. */
export const yamlBomb: fc.Arbitrary<string> = fc.constantFrom(
  `${'['.repeat(3000)}${']'.repeat(3000)}`, `${'['.repeat(900)}`, `${'- '.repeat(400)}x`, 'x'.repeat(100_000),
  'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
);

type TextEdit = { at: number; op: 'insert' | 'replaceValue' | 'deleteLine' | 'dupLine' | 'indent'; hazard: string };

function applyTextEdit(text: string, e: TextEdit): string {
  const lines = text.split('\n');
  const i = e.at % lines.length;
  const line = lines[i]!;
  switch (e.op) {
    case 'insert': { const p = e.at % (text.length + 1); return text.slice(0, p) + e.hazard + text.slice(p); }
    case 'replaceValue': { const c = line.indexOf(': '); lines[i] = c < 0 ? `${line} ${e.hazard}` : `${line.slice(0, c + 2)}${e.hazard}`; break; }
    case 'deleteLine': lines.splice(i, 1); break;
    case 'dupLine': lines.splice(i, 0, line); break;
    case 'indent': lines[i] = (e.at % 2 ? ' ' : '   ') + line; break;
  }
  return lines.join('\n');
}

/** `text` with 1..3 text edits: hazards inserted or put in place of a value, lines deleted, duplicated or re-indented. */
export function mutatedText(text: string, hazard: fc.Arbitrary<string> = yamlHazard): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('insert', 'replaceValue', 'replaceValue', 'deleteLine', 'dupLine', 'indent'), hazard });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((es) => es.reduce(applyTextEdit, text));
}

/** Times a property and prints it, for the figures in the test output. */
export function timed<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  const r = fn();
  console.log(`fuzz ${label}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  return r;
}
