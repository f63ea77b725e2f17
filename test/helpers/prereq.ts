// What a test needs from the machine. Outside CI a missing prerequisite skips the test with the
// reason; with CI=true it fails and names what is missing, because `.ci/run` (scripts/setup.sh)
// is meant to install everything the suite needs: a silent skip there hides a broken set-up.

/** True when the suite runs in CI (CI=true): missing prerequisites fail instead of skipping. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

interface SkipCtx { skip(note?: string): void }

/**
 * Skip `ctx` (a vitest test context) because `what` is missing — or, in CI, throw an error naming
 * it and the set-up step that should have provided it. Returns only when not skipping.
 */
export function missing(ctx: SkipCtx, what: string, fix = 'run ./scripts/setup.sh'): never {
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${what} (the project's set-up should provide it: ${fix})`);
  ctx.skip(`${what} (${fix})`);
  throw new Error('unreachable: ctx.skip() returned');
}

/** `ok` or skip/fail through missing(). */
export function need(ctx: SkipCtx, ok: unknown, what: string, fix?: string): void {
  if (!ok) missing(ctx, what, fix);
}
