// The lifecycle's clock. Idle time is measured on the monotonic clock; a ttl needs wall time (an
// agent's creation time comes from the engine), but a wall clock that jumps forward must not
// destroy agents early: "now" never runs ahead of the wall time this daemon started at plus
// the monotonic time since. A backward jump only delays. Across a restart the baseline is the
// wall time at that start (docs/lifecycle.md says so).
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Trusted wall time, ms since the epoch. */
  now(): number;
  /** Monotonic ms, for idle times. */
  mono(): number;
}

export function trustedClock(wall: () => number = Date.now, mono: () => number = () => performance.now()): Clock {
  const w0 = wall();
  const m0 = mono();
  return { now: () => Math.min(wall(), w0 + (mono() - m0)), mono };
}
