// Deep merge of plain JSON-like objects: `over` wins key by key; arrays and scalars replace whole.
// Used for profile defaults under a user's spec, and for seeding a payload's config file — also
// inside a Kubernetes init container, which gets this very function's source (src/kube/payload.ts),
// so it must not refer to anything but itself.

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge<T>(under: T, over: unknown): T {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!plain(under) || !plain(over)) return (over === undefined ? under : over) as T;
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}
