// The payload profiles clawpod knows. Adding one: a file next to this one, and a line below.
import { ClawpodError } from '../errors.js';
import { closest } from '../spec/suggest.js';
import { deepMerge, isPlainObject } from './merge.js';
import { openclaw } from './openclaw.js';
import { reference, runnerShell } from './reference.js';
import { runner } from './runner.js';
import type { Profile, RenderContext, SpecTier } from './types.js';
import type { Agent, SecretSpec } from '../spec/schema.js';
import { CDP_URL } from '../browser/sidecar.js';

// no prototype: a profile named "toString" or "constructor" must miss, not find Object's method
export const PROFILES: Readonly<Record<string, Profile>> = Object.freeze(Object.assign(Object.create(null) as Record<string, Profile>, { reference, openclaw, runner }));

/** The profile an agent names, if any (the schema has already checked the name). */
export function profileOf(agent: Agent): Profile | undefined {
  return agent.spec.profile ? PROFILES[agent.spec.profile.name] : undefined;
}

/** A secret the profile needs, delivered as /run/secrets/NAME from a vault entry. */
export function vaultFileSecret(name: string, vaultName: string): SecretSpec {
  return { name, source: 'vault', secretRef: { name: vaultName }, exposeAs: 'file' };
}

/** The profile's config file for an agent: what the profile renders, with spec.config.values over it. */
export function renderConfig(profile: Profile, agent: Agent, ctx: RenderContext): Record<string, unknown> | undefined {
  const shell = runnerShell(agent.spec);
  const full: RenderContext = { ...ctx, ...(agent.spec.browser?.enabled ? { browserCdpUrl: CDP_URL } : {}), ...(shell ? { shell } : {}) };
  return profile.config ? deepMerge(profile.config.render(full), agent.spec.config?.values ?? {}) : undefined;
}

export function profileNamed(name: string): Profile {
  const p = PROFILES[name];
  if (p) return p;
  const guess = closest(name, Object.keys(PROFILES));
  throw new ClawpodError('USAGE', `no profile named "${name}"`, { hint: `${guess ? `did you mean "${guess}"? ` : ''}profiles: ${Object.keys(PROFILES).join(', ')}` });
}

/**
 * A raw Agent document with its profile's defaults filled in under the user's own values, and the
 * profile's version made explicit (so labels and exports say which one runs). Raw in, raw out:
 * the schema validates the result, so errors still point at the user's lines.
 */
export function withProfileDefaults(raw: Record<string, unknown>): { raw: Record<string, unknown>; problem?: { path: (string | number)[]; message: string } } {
  const spec = raw.spec;
  if (!isPlainObject(spec) || spec.profile === undefined) return { raw };
  const ref = typeof spec.profile === 'string' ? { name: spec.profile } : spec.profile;
  if (!isPlainObject(ref) || typeof ref.name !== 'string') return { raw }; // the schema reports the shape
  const profile = PROFILES[ref.name];
  if (!profile) {
    const guess = closest(ref.name, Object.keys(PROFILES));
    return { raw, problem: { path: ['spec', 'profile'], message: `got "${ref.name}", expected ${guess ? `"${guess}" (or another profile: ` : 'a profile: '}${Object.keys(PROFILES).join(', ')}${guess ? ')' : ''}` } };
  }
  const version = typeof ref.version === 'string' ? ref.version : profile.defaultVersion;
  const merged = withTierEnv(profile, deepMerge(profile.specDefaults(version), spec));
  return { raw: { ...raw, spec: { ...merged, profile: { ...ref, version } } } };
}

/** The profile's env for the spec's isolation tier appended, except variables the spec sets itself. */
function withTierEnv(profile: Profile, spec: Record<string, unknown>): Record<string, unknown> {
  const tiers = profile.tierEnv ?? {};
  // own keys only: the schema has not checked spec.isolation yet ("toString" must miss)
  const extra = typeof spec.isolation === 'string' && Object.hasOwn(tiers, spec.isolation) ? tiers[spec.isolation as SpecTier] : undefined;
  if (!extra?.length) return spec;
  const env: unknown[] = Array.isArray(spec.env) ? spec.env : [];
  const named = new Set(env.map((e) => (isPlainObject(e) ? e.name : undefined)));
  return { ...spec, env: [...env, ...extra.filter((e) => !named.has(e.name)).map((e) => ({ ...e }))] };
}
