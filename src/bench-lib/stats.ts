// Percentiles of a sample, as every clawpod benchmark reports them.

/** The p-th percentile (nearest rank) of xs; NaN for an empty sample. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface Summary { readonly n: number; readonly p50: number; readonly p95: number; readonly p99: number }

export function summarize(xs: readonly number[]): Summary {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: xs.length, p50: r(pct(xs, 50)), p95: r(pct(xs, 95)), p99: r(pct(xs, 99)) };
}
