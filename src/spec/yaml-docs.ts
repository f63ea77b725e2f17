// YAML text a user wrote (Agent and ControlPlane specs, manifests to import) → plain JS documents.
// Whatever the text holds, the answer is documents or a ClawpodError whose details say file:line:col:
// the yaml library throws for unresolved aliases and alias bombs (toJS), a cyclic alias would
// make any later JSON.stringify throw, and a `__proto__` key changes an object's prototype
// instead of adding a field, so all of these are refused here, before anything reads the values.
import { isAlias, isCollection, isPair, LineCounter, parseAllDocuments, type Alias, type Document } from 'yaml';
import { ClawpodError, messageOf } from '../errors.js';

/** Chosen well above what a spec or a manifest needs (a Deployment is ~12 levels deep). */
export const YAML_LIMITS = {
  /** yaml's own guard against alias expansion ("billion laughs"); the library default. */
  maxAliasCount: 100,
  maxDepth: 64,
  /** Problem lines kept in one error (a 5,000-level flow sequence gives one per level). */
  maxDetails: 20,
} as const;

export type Path = readonly PropertyKey[];

export interface YamlDoc {
  readonly doc: Document.Parsed;
  /** The document as plain data; null for an empty document. */
  readonly value: unknown;
  /** Shape problems that make the value unsafe to read further (already `file:line:col path: ...`). */
  readonly problems: readonly string[];
}

export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(document)';
}

/** line:col of the node at `path`, or of its nearest ancestor that has a position. */
export function lineCol(doc: Document | undefined, lc: LineCounter, path: Path): string {
  if (!doc) return '1:1';
  for (let p = [...path]; ; p = p.slice(0, -1)) {
    let node: unknown;
    try { node = p.length === 0 ? doc.contents : doc.getIn(p as unknown[], true); } catch { node = undefined; }
    const range = (node as { range?: [number, number] } | undefined)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return `${pos.line}:${pos.col}`;
    }
    if (p.length === 0) return '1:1';
  }
}

/** Keeps the first `maxDetails` distinct lines and says how many more there were. */
export function capDetails(lines: readonly string[]): string[] {
  const unique = [...new Set(lines)];
  if (unique.length <= YAML_LIMITS.maxDetails) return unique;
  return [...unique.slice(0, YAML_LIMITS.maxDetails), `... and ${unique.length - YAML_LIMITS.maxDetails} more`];
}

function malformed(file: string, problems: readonly string[]): ClawpodError {
  return new ClawpodError('YAML_MALFORMED', `${file} is not valid YAML`, {
    details: capDetails(problems),
    hint: 'fix the YAML at the line shown (indentation, a missing ":", an unclosed quote, or an alias (*name) without its anchor (&name) before it are the usual causes)',
  });
}

// C0 controls other than tab, LF and CR, and DEL, are not printable YAML (YAML 1.2 §5.1); the
// yaml library lets them through, and a NUL in an image or env value fails far from the file.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/g;

/** Where a toJS failure points: an alias without its anchor, else the first alias (an expansion bomb), else the document. */
function aliasAt(doc: Document.Parsed): number {
  let first: Alias | undefined;
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (isAlias(n)) {
      if (!n.resolve(doc)) return n.range?.[0] ?? 0;
      if (!first || (n.range?.[0] ?? 0) < (first.range?.[0] ?? 0)) first = n;
    } else if (isCollection(n)) for (const item of n.items) stack.push(item);
    else if (isPair(n)) stack.push(n.key, n.value);
  }
  return first?.range?.[0] ?? doc.range[0];
}

/** Depth, `__proto__` keys and non-JSON values (a Set, a Map, a Date, a Buffer), walked without recursion (a cyclic alias has no bottom). */
function shapeProblems(value: unknown, at: (p: Path) => string): string[] {
  const problems: string[] = [];
  const stack: { v: unknown; path: PropertyKey[] }[] = [{ v: value, path: [] }];
  while (stack.length && problems.length < YAML_LIMITS.maxDetails) {
    const { v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) {
      problems.push(`${at(path)} ${formatPath(path)}: a ${v.constructor?.name ?? 'tagged'} value (from a tag such as !!set, !!omap, !!binary or !!timestamp) is not plain YAML data; drop the tag, or quote the value`);
      continue;
    }
    if (path.length >= YAML_LIMITS.maxDepth) {
      problems.push(`${at(path)} ${formatPath(path)}: nested deeper than ${YAML_LIMITS.maxDepth} levels (or an alias that contains itself); flatten it`);
      continue;
    }
    for (const [k, child] of Object.entries(v)) {
      const p = [...path, Array.isArray(v) ? Number(k) : k];
      if (k === '__proto__') problems.push(`${at(p)} ${formatPath(p)}: a key named __proto__ is not allowed (it would change the object's prototype, not add a field)`);
      else stack.push({ v: child, path: p });
    }
  }
  return problems;
}

/**
 * Every document in `text`. Syntax errors, unresolvable or exploding aliases and control characters
 * throw YAML_MALFORMED (all of them at once); shape problems are returned per document.
 */
export function parseYamlDocuments(text: string, file: string): { docs: YamlDoc[]; lc: LineCounter } {
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const list = Array.isArray(parsed) ? parsed : [];
  const where = (offset: number) => { const p = lc.linePos(offset); return `${file}:${p.line}:${p.col}`; };
  const problems: string[] = [];
  for (const m of text.matchAll(CONTROL)) {
    problems.push(`${where(m.index)} control character U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in YAML; write it as an escape ("\\x..") in a double-quoted string if it is meant`);
  }
  for (const doc of list) for (const e of doc.errors) problems.push(`${where(e.pos[0])} ${e.message.split('\n')[0]}`);
  if (problems.length > 0) throw malformed(file, problems);
  const docs: YamlDoc[] = [];
  for (const doc of list) {
    let value: unknown;
    try { value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount }); } catch (e) {
      const why = /Excessive alias count/.test(messageOf(e))
        ? `aliases expand to more than ${YAML_LIMITS.maxAliasCount} times their anchors (an alias bomb); write the values out`
        : messageOf(e).split('\n')[0];
      problems.push(`${where(aliasAt(doc))} ${why}`);
      continue;
    }
    docs.push({ doc, value, problems: shapeProblems(value, (p) => `${file}:${lineCol(doc, lc, p)}`) });
  }
  if (problems.length > 0) throw malformed(file, problems);
  return { docs, lc };
}
