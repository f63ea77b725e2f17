// Operator-forced config paths: the model provider, its base URL and keys (and clawpod's own wiring)
// are the operator's. A tenant's config values that reach one of them — at it, under it, or by
// replacing a parent with a non-object — are refused, each named, before anything is created.
import { ClawpodError } from '../errors.js';
import { isPlainObject } from '../profiles/merge.js';
import type { Profile } from '../profiles/types.js';
import type { Plan, Tenant } from './schema.js';

export interface ForcedPath { readonly path: string; readonly by: string }

/** Every forced path of a tenant on `plan` running `profile`, with who forces it. */
export function forcedPaths(plan: Plan, profile: Profile | undefined): ForcedPath[] {
  const out: ForcedPath[] = [];
  for (const p of profile?.forcedConfig ?? []) out.push({ path: p, by: `profile ${profile!.name}` });
  for (const p of plan.spec.config.forced) out.push({ path: p, by: `plan ${plan.metadata.name} (spec.config.forced)` });
  for (const p of leafPaths(plan.spec.config.values)) out.push({ path: p, by: `plan ${plan.metadata.name} (spec.config.values)` });
  return out;
}

/** Dotted paths of every leaf (a non-object value or an empty object) under `values`. */
export function leafPaths(values: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length > 0) out.push(...leafPaths(v, p));
    else out.push(p);
  }
  return out;
}

const under = (p: string, base: string) => p === base || p.startsWith(`${base}.`);

/** Keys a config file reads as instructions, not values: an include could bring in any path, forced ones too. */
const DIRECTIVES = new Set(['$include']);

/** The tenant's config paths that touch a forced one: at or under it, or a leaf that replaces its parent. */
export function forcedConflicts(values: Record<string, unknown>, forced: readonly ForcedPath[]): { path: string; forced: ForcedPath }[] {
  const out: { path: string; forced: ForcedPath }[] = [];
  for (const leaf of leafPaths(values)) {
    const directive = leaf.split('.').find((k) => DIRECTIVES.has(k));
    if (directive) { out.push({ path: leaf, forced: { path: directive, by: 'clawpod (an include could set any path)' } }); continue; }
    const hit = forced.find((f) => under(leaf, f.path) || under(f.path, leaf));
    if (hit) out.push({ path: leaf, forced: hit });
  }
  return out;
}

/** Throws CONFIG_FORCED naming every tenant path that an operator forces. */
export function refuseForced(tenant: Tenant, plan: Plan, profile: Profile | undefined): void {
  const hits = forcedConflicts(tenant.spec.config?.values ?? {}, forcedPaths(plan, profile));
  if (hits.length === 0) return;
  throw new ClawpodError('CONFIG_FORCED', `tenant ${tenant.metadata.name}: ${hits.length === 1 ? 'a config path is' : `${hits.length} config paths are`} set by the operator and cannot be overridden`, {
    details: hits.map((h) => `spec.config.values.${h.path}: forced by ${h.forced.by} ("${h.forced.path}")`),
    hint: 'remove these paths from the tenant; the model provider, its base URL and keys come from the plan and clawpod',
  });
}
