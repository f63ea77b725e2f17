// What every verb receives: config, a lazily connected runtime, and the output contract
// (human text or one JSON object on stdout; progress and logs on stderr).
import { loadConfig, type Config } from '../config.js';
import type { EngineRuntime } from '../runtime/runtime.js';
import { enableTrace, trace } from '../trace.js';

export interface GlobalOptions { host?: string; json?: boolean }

export interface Ctx {
  readonly config: Config;
  readonly json: boolean;
  /** The local engine (Podman or Docker), with every engine facet. */
  runtime(): Promise<EngineRuntime>;
  /** Progress for humans, on stderr (quiet under --json). */
  say(line: string): void;
  print(line: string): void;
  printJson(value: unknown): void;
}

export function makeCtx(g: GlobalOptions): Ctx {
  const config = loadConfig();
  enableTrace(config.trace);
  trace('config loaded');
  let rt: Promise<EngineRuntime> | undefined;
  const json = g.json ?? false;
  return {
    config,
    json,
    runtime: () => (rt ??= import('../runtime/connect.js').then((m) => m.connectRuntime(config, g.host))),
    say: (line) => { process.stderr.write(`${line}\n`); },
    print: (line) => { process.stdout.write(`${line}\n`); },
    printJson: (value) => { process.stdout.write(`${JSON.stringify(value, null, 2)}\n`); },
  };
}

/** Left-aligned columns, like podman ps. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')).join('\n');
}
