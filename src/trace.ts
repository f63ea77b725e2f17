// CLAWPOD_TRACE=1: milliseconds since process start for each phase and Engine API call, on
// stderr. For finding where a slow command spends its time; off by default and free when off.
let enabled = false;

/** Milliseconds since the process started. Not performance.now(): the global `performance` loads perf_hooks on first use, 1-2 ms of every CLI start. */
export const now = (): number => process.uptime() * 1000;

// the first module the CLI evaluates imports this one: what came before is Node's own start
const codeStartedAt = now();
let announced = false;

export function enableTrace(on: boolean): void {
  enabled = on;
  if (on && !announced) {
    announced = true;
    trace(`node started, clawpod's first module ran at ${codeStartedAt.toFixed(1)} ms`);
  }
}

export function trace(label: string): void {
  if (enabled) process.stderr.write(`[trace ${now().toFixed(1)} ms] ${label}\n`);
}

/** Times an async step: start and end lines with its duration. */
export async function traced<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const t0 = now();
  try { return await fn(); } finally { trace(`${label} (${(now() - t0).toFixed(1)} ms)`); }
}
