// Deep merge of plain JSON-like objects: `over` wins key by key; arrays and scalars replace whole.
// Used for profile defaults under a user's spec, and for seeding a payload's config file.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge<T>(under: T, over: unknown): T {
  if (!isPlainObject(under) || !isPlainObject(over)) return (over === undefined ? under : over) as T;
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}
