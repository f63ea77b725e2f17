// Running a verb, shared by commander's actions (main.ts) and the fast `run` path (entry.ts): the
// context, the runtime found while the verb's code loads, the exit code; and how a failure is shown.
import { loadConfig } from '../config.js';
import { formatError, isClawpodError, messageOf } from '../errors.js';
import { redactor } from '../secrets/redact.js';
import { makeCtx, type Ctx, type GlobalOptions } from './context.js';

export type Handler = (ctx: Ctx, ...args: never[]) => Promise<number | void>;

/** `connect`: start finding the runtime while the verb's code loads (both take ~10 ms); a failure surfaces when the verb asks for it, after it has checked its input. */
export async function invoke(globals: GlobalOptions, connect: boolean, load: () => Promise<{ default: Handler }>, args: readonly unknown[]): Promise<void> {
  const ctx = makeCtx(globals);
  if (connect) ctx.runtime().catch(() => undefined);
  const mod = await load();
  const code = await mod.default(ctx, ...(args as never[]));
  if (typeof code === 'number') process.exitCode = code;
}

/** Prints a failure (redacted; one JSON object under --json) and returns the exit code. */
export function report(e: unknown): number {
  const json = process.argv.includes('--json');
  if (isClawpodError(e)) {
    if (json) process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
    process.stderr.write(redactor.redact(formatError(e)));
    return e.exitCode;
  }
  process.stderr.write(redactor.redact(`Error: ${messageOf(e)}\n`));
  if (loadConfig().debug) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
  return 1;
}
