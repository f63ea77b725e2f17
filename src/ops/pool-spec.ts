// What a warm pool's members are made from, and when a claimer may take one: the pool's spec with
// what a claim delivers into a running container taken out, hashed. Members carry the hash of the
// spec they were made from (in their instance record; the label is for display); a claimer whose
// hash differs starts cold, and a fill whose hash differs drains the members first.
import { createHash } from 'node:crypto';
import { ClawpodError } from '../errors.js';
import { profileOf } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { Agent } from '../spec/schema.js';

/** The agent name members are created under (their index and host ports count apart from the pool's own instances). */
export const memberAgentName = (pool: string) => `${pool}-pool`;

/**
 * Spec fields a claim delivers into a running member: secret files always, the bundle copied in;
 * config and model wiring only where the payload applies a changed config in place (hot reload).
 */
function claimTimeFields(profile: Profile | undefined): readonly string[] {
  return ['secrets', 'bundle', ...(profile?.hotReload ? ['config', 'llm'] : [])];
}

/** JSON with sorted keys: the same spec, however written, gives the same text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The container-level spec: everything a running container cannot change. */
function normalized(agent: Agent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...agent.spec };
  for (const k of claimTimeFields(profileOf(agent))) delete out[k];
  return out;
}

export function specHash(agent: Agent): string {
  return createHash('sha256').update(canonical(normalized(agent))).digest('hex').slice(0, 24);
}

/** The top-level spec fields where two agents differ for a pool (what "starts cold" names). */
export function differingFields(a: Agent, b: Agent): string[] {
  const x = normalized(a);
  const y = normalized(b);
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => canonical(x[k]) !== canonical(y[k])).sort();
}

/** Why a running member can never become this agent, or undefined when one can. */
export function claimBlocker(agent: Agent): string | undefined {
  const s = agent.spec.secrets.find((x) => x.exposeAs !== 'file');
  if (s) return `spec.secrets ${s.name} is exposed as ${s.exposeAs}, which only a new container can be given`;
  if (agent.spec.egress?.credentials.length) return 'spec.egress.credentials are read when the proxy starts, and a member\'s proxy would hold the filler\'s, not the claimer\'s';
  const profile = profileOf(agent);
  if (profile?.config && !profile.hotReload) return `${profile.name} reads its config only when it starts, and a claim would have to write the instance's`;
  return undefined;
}

/** What `pool fill` checks before making anything: a spec no claim could ever take is refused. */
export function checkPoolable(agent: Agent, where: string): void {
  const why = claimBlocker(agent);
  if (why) {
    throw new ClawpodError('USAGE', `${where}: cannot keep a warm pool of ${agent.metadata.name}: ${why}`, {
      hint: why.startsWith('spec.secrets') ? 'deliver secrets as files (exposeAs: file, the default): a claim writes them into the member'
        : why.startsWith('spec.egress') ? 'run it cold with `clawpod run` (each instance starts its own proxy with its own credentials), or pool a spec whose egress has no credentials'
        : 'run it cold with `clawpod run`; a warm pool is for plain specs, the reference profile and hot-reloading payloads such as openclaw',
    });
  }
}

/**
 * The spec a member runs: the pool's, under the members' agent name, without what a claim delivers
 * (no secrets of anyone's, no bundle; no model while the claim wires it).
 */
export function memberAgent(pool: Agent): Agent {
  const hot = profileOf(pool)?.hotReload !== undefined;
  const { bundle: _bundle, ...spec } = pool.spec;
  return { ...pool, metadata: { ...pool.metadata, name: memberAgentName(pool.metadata.name) }, spec: { ...spec, secrets: [], ...(hot ? { llm: false as const } : {}) } };
}
