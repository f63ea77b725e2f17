// YAML text → validated Agent documents. Every problem in a file is reported at once,
// each with file:line:col, the field path, the value found and what was expected.
import { dirname, resolve } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { ClawpodError } from '../errors.js';
import { capDetails, formatPath, lineCol, parseYamlDocuments, type Path } from './yaml-docs.js';
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

export { formatPath };

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(root: unknown, path: Path): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    // own fields only: a path through "values" must not find Map.prototype.values
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
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
  return parseMixedDocuments(text, file, { [kind.kind]: kind }, kind).map((d) => ({ value: d.value as T, file: d.file, dir: d.dir }));
}

/**
 * Documents of several kinds in one file (a fleet file holds Plans and Tenants), each validated by
 * the DocKind its `kind:` names; `fallback` validates documents that name none of them (its errors
 * then say which kind was expected). All problems of all documents are reported at once.
 */
export function parseMixedDocuments(text: string, file: string, kinds: Readonly<Record<string, DocKind<unknown>>>, fallback: DocKind<unknown>): { kind: string; value: unknown; file: string; dir: string }[] {
  const { docs, lc } = parseYamlDocuments(text, file);
  const out: { kind: string; value: unknown; file: string; dir: string }[] = [];
  const problems: string[] = [];
  const dir = file === '<input>' ? process.cwd() : dirname(resolve(file));
  docs.forEach(({ doc, value, problems: unsafe }, i) => {
    if (value === null || value === undefined) return; // empty document between separators
    const named = isMapping(value) && typeof value.kind === 'string' ? value.kind : undefined;
    const kind = (named !== undefined && Object.hasOwn(kinds, named) ? kinds[named] : undefined) ?? fallback;
    const r = validateDoc(kind, doc, lc, value, unsafe, docs.length > 1 ? ` (document ${i + 1})` : '', file);
    if ('value' in r) out.push({ kind: kind.kind, value: r.value, file, dir });
    else problems.push(...r.problems);
  });
  throwProblems(problems, file, fallback);
  if (out.length === 0) {
    const names = Object.keys(kinds).join(' or ');
    throw new ClawpodError('SPEC_INVALID', `${file} holds no ${names} document`, { details: [`${file}:1:1 the file is empty or holds only comments and "---"`], hint: fallback.hint });
  }
  return out;
}

function throwProblems(problems: readonly string[], file: string, kind: DocKind<unknown>): void {
  if (problems.length === 0) return;
  throw new ClawpodError('SPEC_INVALID', `${file}: ${problems.length} problem${problems.length > 1 ? 's' : ''} in the ${kind.kind} spec`, {
    details: capDetails(problems),
    hint: 'fix each field listed; `clawpod validate FILE` checks a spec without running it',
  });
}

/** One document's value → the kind's type, or its problems, each at file:line:col. */
function validateDoc<T>(kind: DocKind<T>, doc: Document | undefined, lc: LineCounter, raw: unknown, unsafe: readonly string[], which: string, file: string): { value: T } | { problems: string[] } {
  if (unsafe.length > 0) return { problems: [...unsafe] }; // cyclic or prototype-changing: not safe to read further
  const at = (p: Path) => `${file}:${lineCol(doc, lc, p)}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { problems: [`${at([])}${which}: got ${show(raw)}, expected a mapping with apiVersion, kind, metadata and spec`] };
  }
  const prepared: ReturnType<NonNullable<DocKind<T>['prepare']>> = kind.prepare ? kind.prepare(raw as Record<string, unknown>) : { raw: raw as Record<string, unknown> };
  if (prepared.problem) return { problems: [`${at(prepared.problem.path)} ${formatPath(prepared.problem.path)}: ${prepared.problem.message}`] };
  const r = kind.schema.safeParse(prepared.raw);
  if (r.success) return { value: r.data };
  return { problems: sortByPosition(describeIssues(kind.schema, r.error.issues, raw, at)) };
}

function isMapping(v: unknown): v is Record<string, unknown> { return typeof v === 'object' && v !== null && !Array.isArray(v); }

/**
 * An Agent of profile `profile`, with the overrides file's fields over the profile's defaults.
 * The file may leave out apiVersion, kind and metadata; --name wins over metadata.name.
 * Problems point at the lines of the overrides file as the user wrote it.
 */
export function parseProfileAgent(profile: string, name: string | undefined, text: string, file: string | undefined): LoadedAgent {
  const where = file ?? `profile ${profile}`;
  const { docs, lc } = parseYamlDocuments(text, where);
  const given = docs.filter((d) => d.value !== null && d.value !== undefined);
  if (given.length > 1) throw new ClawpodError('USAGE', `${where} holds ${given.length} documents; overrides for one profile run hold one`, { hint: 'keep one document in the overrides file' });
  const d = given[0];
  const raw: unknown = d ? d.value : {};
  if (d && isMapping(raw) && d.problems.length === 0) {
    if (!('apiVersion' in raw)) raw.apiVersion = API_VERSION;
    if (!('kind' in raw)) raw.kind = KIND_AGENT;
    if (raw.metadata === undefined || raw.metadata === null) raw.metadata = {};
    if (isMapping(raw.metadata) && (name !== undefined || raw.metadata.name === undefined)) raw.metadata.name = name ?? profile;
    if (raw.spec === undefined || raw.spec === null) raw.spec = {};
    if (isMapping(raw.spec)) {
      const p = raw.spec.profile;
      if (p === undefined) raw.spec.profile = profile;
      else if (isMapping(p) && !('name' in p)) p.name = profile;
    }
  } else if (!d) {
    Object.assign(raw as object, { apiVersion: API_VERSION, kind: KIND_AGENT, metadata: { name: name ?? profile }, spec: { profile } });
  }
  const r = validateDoc(AGENT, d?.doc, lc, raw, d?.problems ?? [], '', where);
  if ('problems' in r) throwProblems(r.problems, where, AGENT);
  const agent = (r as { value: Agent }).value;
  if (agent.spec.profile?.name !== profile) {
    throw new ClawpodError('USAGE', `${where} says spec.profile ${agent.spec.profile?.name ?? '(none)'}, and the command line says ${profile}`, { hint: `drop spec.profile from the file, or run \`clawpod run -f ${where}\`` });
  }
  return { agent, file: file ?? '', dir: file && file !== '-' ? dirname(resolve(file)) : process.cwd() };
}
