// YAML text → validated Agent documents. Every problem in a file is reported at once,
// each with file:line:col, the field path, the value found and what was expected.
import { dirname, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ClawpodError } from '../errors.js';
import { AgentSchema, type Agent } from './schema.js';
import { API_VERSION, KIND_AGENT } from './defaults.js';
import { closest } from './suggest.js';
import { withProfileDefaults } from '../profiles/index.js';

export interface LoadedAgent {
  readonly agent: Agent;
  /** Where the spec came from; relative host paths resolve against `dir`. */
  readonly file: string;
  readonly dir: string;
}

type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(document)';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(root: unknown, path: Path): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg as string];
  }
  return cur;
}

/** The object keys the schema accepts at `path`, for did-you-mean. */
function knownKeysAt(schema: z.core.$ZodType, path: Path): string[] {
  let cur: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return s;
  };
  for (const seg of [...path, undefined]) {
    if (!cur) return [];
    cur = unwrap(cur);
    const def = cur._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    if (seg === undefined) return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    if (def.type === 'object' && def.shape) cur = def.shape[seg as string];
    else if (def.type === 'array' && def.element) cur = def.element;
    else return [];
  }
  return [];
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.startsWith('expected') ? issue.message : `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'invalid_union': {
      const alts = issue.errors.map((branch) => branch.map(expectedOf).join(', ').replace(/^expected /, ''));
      return `expected ${[...new Set(alts)].join(' or ')}`;
    }
    default:
      return issue.message.startsWith('expected') ? issue.message : `expected ${issue.message.replace(/^Too (small|big): expected /, '')}`;
  }
}

function lineCol(doc: Document, lc: LineCounter, path: Path): string {
  for (let p = [...path]; ; p = p.slice(0, -1)) {
    const node = p.length === 0 ? doc.contents : doc.getIn(p as unknown[], true);
    const range = (node as { range?: [number, number] } | undefined)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return `${pos.line}:${pos.col}`;
    }
    if (p.length === 0) return '1:1';
  }
}

function describeIssues(schema: z.core.$ZodType, issues: readonly z.core.$ZodIssue[], raw: unknown, at: (p: Path) => string): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const p = [...issue.path, key];
        const guess = closest(key, known);
        const tail = guess ? `did you mean "${guess}"?` : `expected one of: ${known.join(', ')}`;
        lines.push(`${at(p)} ${formatPath(p)}: unknown field — ${tail}`);
      }
      continue;
    }
    const value = valueAt(raw, issue.path);
    const got = value === undefined ? (issue.code === 'custom' ? 'not set (its default applies)' : 'missing') : `got ${show(value)}`;
    lines.push(`${at(issue.path)} ${formatPath(issue.path)}: ${got}, ${expectedOf(issue)}`);
  }
  return lines;
}

function sortByPosition(lines: string[]): string[] {
  const key = (l: string) => (/:(\d+):(\d+) /.exec(l) ?? [0, 0, 0]).slice(1).map(Number);
  return lines.sort((a, b) => { const [la, ca] = key(a); const [lb, cb] = key(b); return la! - lb! || ca! - cb!; });
}

/** What a document kind needs for parsing and for errors that say how to fix the file. */
export interface DocKind<T> {
  readonly schema: z.ZodType<T>;
  /** "Agent", "ControlPlane": used in messages. */
  readonly kind: string;
  readonly hint: string;
  /** Fills in what the document implies before validation (an Agent's profile defaults). */
  readonly prepare?: (raw: Record<string, unknown>) => { raw: Record<string, unknown>; problem?: { path: (string | number)[]; message: string } };
}

const AGENT: DocKind<Agent> = {
  schema: AgentSchema,
  kind: 'Agent',
  prepare: withProfileDefaults,
  hint: 'start the file with "apiVersion: clawpod.dev/v1alpha1" and "kind: Agent"; see examples/hello.yaml',
};

/** Parse and validate every Agent document in YAML `text`. */
export function parseAgents(text: string, file = '<input>'): LoadedAgent[] {
  return parseDocuments(text, file, AGENT).map((d) => ({ agent: d.value, file: d.file, dir: d.dir }));
}

/** Parse and validate every document of one kind in YAML `text`; all problems are reported at once. */
export function parseDocuments<T>(text: string, file: string, kind: DocKind<T>): { value: T; file: string; dir: string }[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  if (!Array.isArray(docs)) return [];
  const problems: string[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      const pos = lc.linePos(e.pos[0]);
      problems.push(`${file}:${pos.line}:${pos.col} ${e.message.split('\n')[0]}`);
    }
  }
  if (problems.length > 0) {
    throw new ClawpodError('YAML_MALFORMED', `${file} is not valid YAML`, {
      details: problems,
      hint: 'fix the YAML syntax at the line shown (indentation, a missing ":" or an unclosed quote are the usual causes)',
    });
  }
  const out: { value: T; file: string; dir: string }[] = [];
  const dir = file === '<input>' ? process.cwd() : dirname(resolve(file));
  docs.forEach((doc, i) => {
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) return; // empty document between separators
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${where}: got ${show(raw)}, expected a mapping with apiVersion, kind, metadata and spec`);
      return;
    }
    const prepared: ReturnType<NonNullable<DocKind<T>['prepare']>> = kind.prepare ? kind.prepare(raw as Record<string, unknown>) : { raw: raw as Record<string, unknown> };
    if (prepared.problem) {
      problems.push(`${file}:${lineCol(doc, lc, prepared.problem.path)} ${formatPath(prepared.problem.path)}: ${prepared.problem.message}`);
      return;
    }
    const r = kind.schema.safeParse(prepared.raw);
    if (r.success) out.push({ value: r.data, file, dir });
    else problems.push(...sortByPosition(describeIssues(kind.schema, r.error.issues, raw, (p) => `${file}:${lineCol(doc, lc, p)}`)));
  });
  if (problems.length > 0) {
    throw new ClawpodError('SPEC_INVALID', `${file}: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the ${kind.kind} spec`, {
      details: problems,
      hint: 'fix each field listed; `clawpod validate FILE` checks a spec without running it',
    });
  }
  if (out.length === 0) {
    throw new ClawpodError('SPEC_INVALID', `${file} holds no ${kind.kind} document`, { hint: kind.hint });
  }
  return out;
}

/**
 * An Agent of profile `profile`, with the overrides file's fields over the profile's defaults.
 * The file may leave out apiVersion, kind and metadata; --name wins over metadata.name.
 */
export function parseProfileAgent(profile: string, name: string | undefined, text: string, file: string | undefined): LoadedAgent {
  const doc = parseDocument(text);
  if (doc.errors.length === 0) {
    if (!doc.has('apiVersion')) doc.set('apiVersion', API_VERSION);
    if (!doc.has('kind')) doc.set('kind', KIND_AGENT);
    if (name !== undefined || doc.getIn(['metadata', 'name']) === undefined) doc.setIn(['metadata', 'name'], name ?? profile);
    const p = doc.getIn(['spec', 'profile']);
    if (p === undefined) doc.setIn(['spec', 'profile'], profile);
    else if (typeof p === 'object' && p !== null && !doc.hasIn(['spec', 'profile', 'name'])) doc.setIn(['spec', 'profile', 'name'], profile);
  }
  const where = file ?? `profile ${profile}`;
  const loaded = parseAgents(doc.errors.length ? text : String(doc), where);
  if (loaded.length !== 1) throw new ClawpodError('USAGE', `${where} holds ${loaded.length} agents; overrides for one profile run hold one`, { hint: 'keep one document in the overrides file' });
  const l = loaded[0]!;
  if (l.agent.spec.profile?.name !== profile) {
    throw new ClawpodError('USAGE', `${where} says spec.profile ${l.agent.spec.profile?.name ?? '(none)'}, and the command line says ${profile}`, { hint: `drop spec.profile from the file, or run \`clawpod run -f ${where}\`` });
  }
  return { agent: l.agent, file: file ?? '', dir: file && file !== '-' ? dirname(resolve(file)) : process.cwd() };
}
