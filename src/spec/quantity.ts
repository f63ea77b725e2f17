// Kubernetes-style quantities and Go-style durations, parsed once so every driver
// (local and Kubernetes) sees the same numbers.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

const MEMORY_EXPECTED =
  'a memory quantity: bytes or a number with a suffix Ki, Mi, Gi, Ti (binary) or k, M, G, T (decimal), e.g. "512Mi"';

/** "512Mi" → 536870912. Lowercase "m" (milli-bytes in Kubernetes) is refused as a likely typo. */
export function parseMemory(input: string | number): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input > 0 ? { ok: true, value: input } : { ok: false, expected: MEMORY_EXPECTED };
  }
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(input.trim());
  if (!m) {
    const hint = /^\d+(?:\.\d+)?[mg]b?$/i.test(input.trim())
      ? `${MEMORY_EXPECTED}; did you mean "${input.trim().replace(/[mg]b?$/i, (s) => (s[0]!.toLowerCase() === 'm' ? 'Mi' : 'Gi'))}"?`
      : MEMORY_EXPECTED;
    return { ok: false, expected: hint };
  }
  const n = Number(m[1]);
  const unit = m[2];
  const mult = unit ? (BINARY[unit] ?? DECIMAL[unit] ?? 1) : 1;
  const value = Math.round(n * mult);
  if (value < 4 * 2 ** 20) return { ok: false, expected: `${MEMORY_EXPECTED}, at least 4Mi` };
  return { ok: true, value };
}

const CPU_EXPECTED = 'a CPU quantity: cores ("0.5", "2") or millicores ("500m"), more than 0';

/** "500m" → 0.5 cores; "2" → 2 cores. */
export function parseCpu(input: string | number): Parsed<number> {
  const s = typeof input === 'number' ? String(input) : input.trim();
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(s);
  if (!m) return { ok: false, expected: CPU_EXPECTED };
  const cores = m[2] ? Number(m[1]) / 1000 : Number(m[1]);
  if (!(cores > 0) || cores > 1024) return { ok: false, expected: CPU_EXPECTED };
  return { ok: true, value: cores };
}

const DURATION_EXPECTED = 'a duration such as "90s", "30m", "1h30m", "24h" or "7d"';
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" → 5400000 (milliseconds). */
export function parseDuration(input: string | number): Parsed<number> {
  if (typeof input === 'number') return { ok: false, expected: `${DURATION_EXPECTED} (a bare number has no unit)` };
  const s = input.trim();
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h|d))+$/.test(s)) return { ok: false, expected: DURATION_EXPECTED };
  let total = 0;
  for (const part of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  }
  if (total <= 0) return { ok: false, expected: `${DURATION_EXPECTED}, longer than 0` };
  return { ok: true, value: Math.round(total) };
}

/** Milliseconds of a duration a schema has already validated (spec, ControlPlane file). */
export function validatedDurationMs(input: string | number): number {
  const r = parseDuration(input);
  if (!r.ok) throw new Error(`unreachable: the duration ${String(input)} was validated`);
  return r.value;
}

/** Bytes of a memory quantity a schema has already validated (ControlPlane file). */
export function validatedBytes(input: string | number): number {
  const r = parseMemory(input);
  if (!r.ok) throw new Error(`unreachable: the quantity ${String(input)} was validated`);
  return r.value;
}

export function formatBytes(n: number): string {
  for (const [unit, mult] of [['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (n >= mult && n % mult === 0) return `${n / mult}${unit}`;
  }
  return String(n);
}
