// A POST /v1/sandboxes body → the agent to run: an Agent spec's text (checked like a file: every
// problem with its path, value and fix) or a profile's defaults, under the sandbox's name, and
// which resources the spec set itself (those it leaves out get a scoped token's limits).
import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { ClawpodError } from '../errors.js';
import { profileNamed, withProfileDefaults } from '../profiles/index.js';
import { API_VERSION, KIND_AGENT } from '../spec/defaults.js';
import { AGENT_NAME_MAX, checkAgentName } from '../spec/names.js';
import { parseAgents, type LoadedAgent } from '../spec/parse.js';
import type { GivenResources } from './limits.js';

export interface CreateRequest { readonly spec?: string; readonly profile?: string; readonly pool?: string; readonly name?: string }

const SUFFIX = 6;
/** A fresh name from a base: base-xxxxxx, within an agent name's length. */
export function freshName(base: string): string {
  return `${base.slice(0, AGENT_NAME_MAX - SUFFIX - 1).replace(/-+$/, '')}-${randomBytes(SUFFIX).toString('hex').slice(0, SUFFIX)}`;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which of spec.resources the document (with its profile's defaults) sets. */
function givenResources(raw: unknown): GivenResources {
  const merged = isMap(raw) ? withProfileDefaults(raw).raw : {};
  const r = isMap(merged.spec) && isMap(merged.spec.resources) ? merged.spec.resources : {};
  return { cpu: r.cpu !== undefined, memory: r.memory !== undefined, pids: r.pids !== undefined };
}

/** The agent of a request, its relative host paths resolving in `dir` (an empty folder); the name is still the spec's. */
export function loadRequest(r: CreateRequest, dir: string): { loaded: LoadedAgent; given: GivenResources } {
  if ((r.spec === undefined) === (r.profile === undefined)) {
    throw new ClawpodError('USAGE', r.spec === undefined ? 'the body names neither spec nor profile' : 'the body names both spec and profile', { hint: 'send one: {"profile": "reference"} or {"spec": "<an Agent document, YAML or JSON>"}' });
  }
  if (r.name !== undefined) checkAgentName(r.name, 'body.name');
  if (r.pool !== undefined) checkAgentName(r.pool, 'body.pool');
  if (r.profile !== undefined) {
    const profile = profileNamed(r.profile);
    const raw = { apiVersion: API_VERSION, kind: KIND_AGENT, metadata: { name: r.name ?? freshName(profile.name) }, spec: { profile: profile.name } };
    const [loaded] = parseAgents(JSON.stringify(raw), `profile ${profile.name}`);
    return { loaded: { ...loaded!, dir }, given: givenResources(raw) };
  }
  const loaded = parseAgents(r.spec!, 'the spec of POST /v1/sandboxes');
  if (loaded.length !== 1) throw new ClawpodError('USAGE', `the spec holds ${loaded.length} agents`, { hint: 'send one Agent document' });
  // already parsed without a problem just above (aliases and sizes bounded): this reads it back as plain data
  const raw = parseAllDocuments(r.spec!).map((d) => d.toJS() as unknown).find((v) => v !== null && v !== undefined);
  return { loaded: { ...loaded[0]!, dir }, given: givenResources(raw) };
}
