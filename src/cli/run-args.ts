// `clawpod run`'s command line as one table, read by two parsers: commander (main.ts), which takes
// every form and gives help and errors, and fastRunArgs, which reads the common forms without loading
// commander (a fifth of a cold `clawpod run`'s own time on a 2-core VM: bench/README.md). Anything
// fastRunArgs is not sure of — help, `--`, bundled short flags, unknown or misspelt options, a missing
// value, two profiles — goes to commander, so behaviour and errors stay commander's.
import type { GlobalOptions } from './context.js';

export interface OptionDef {
  readonly flags: string;
  readonly description: string;
}

export const GLOBAL_OPTIONS: readonly OptionDef[] = [
  { flags: '--host <url>', description: 'container runtime socket, e.g. unix:///run/podman/podman.sock' },
  { flags: '--json', description: 'print one JSON object on stdout' },
];

export const RUN_ARGUMENT = { name: '[profile]', description: 'a payload profile to run (openclaw, reference); -f then holds overrides' } as const;

export const RUN_OPTIONS: readonly OptionDef[] = [
  { flags: '-f, --file <file>', description: 'agent spec (YAML), or overrides for the profile; - reads stdin' },
  { flags: '--name <name>', description: 'instance name (default: the spec name, then NAME-1, NAME-2, ...)' },
  { flags: '-d, --detach', description: 'start in the background and print the name' },
  { flags: '--rm', description: 'remove the container when it exits (the workspace volume is kept)' },
];

export interface RunOpts { file?: string; name?: string; detach?: boolean; rm?: boolean }

interface Flag { readonly key: string; readonly takesValue: boolean }

/** "-f, --file <file>" → names ["-f", "--file"], key "file", takes a value. As commander reads them. */
function flagsOf(defs: readonly OptionDef[]): Map<string, Flag> {
  const out = new Map<string, Flag>();
  for (const d of defs) {
    const names = d.flags.split(/[ ,|]+/).filter((w) => w.startsWith('-'));
    const long = names.find((n) => n.startsWith('--'))!;
    const key = long.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    for (const n of names) out.set(n, { key, takesValue: /<[^>]+>/.test(d.flags) });
  }
  return out;
}

const GLOBAL_FLAGS = flagsOf(GLOBAL_OPTIONS);
const RUN_FLAGS = flagsOf(RUN_OPTIONS);

/**
 * Reads options from argv[i..] while they are known flags; returns the index of the first word that
 * is not an option, or undefined when a form is one to leave to commander. A value is the next word
 * whatever it looks like (commander's rule for a required value), or the text after `=` or `-x`.
 */
function readOptions(argv: readonly string[], i: number, flags: Map<string, Flag>, into: Record<string, string | boolean>, positional: (word: string) => boolean): number | undefined {
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      if (!positional(a)) return i;
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    let flag = flags.get(name);
    let inline = eq > 0 ? a.slice(eq + 1) : undefined;
    // -fFILE: a short flag with its value attached (bundled boolean flags like -df go to commander)
    if (!flag && !a.startsWith('--') && a.length > 2) {
      flag = flags.get(a.slice(0, 2));
      if (!flag?.takesValue) return undefined;
      inline = a.slice(2);
    }
    if (!flag) return undefined;
    if (!flag.takesValue) {
      if (inline !== undefined) return undefined;
      into[flag.key] = true;
    } else if (inline !== undefined) into[flag.key] = inline;
    else {
      if (i + 1 >= argv.length) return undefined;
      into[flag.key] = argv[++i]!;
    }
  }
  return i;
}

export interface FastRun { readonly globals: GlobalOptions; readonly profile: string | undefined; readonly opts: RunOpts }

/** `clawpod [--host H] [--json] run [profile] [-f F] [--name N] [-d] [--rm]` as commander would parse it, or undefined: ask commander. */
export function fastRunArgs(argv: readonly string[]): FastRun | undefined {
  const globals: Record<string, string | boolean> = {};
  // global options come before the verb (enablePositionalOptions): the first non-option word must be `run`
  const verb = readOptions(argv, 0, GLOBAL_FLAGS, globals, () => false);
  if (verb === undefined || argv[verb] !== 'run') return undefined;
  const opts: Record<string, string | boolean> = {};
  const words: string[] = [];
  const end = readOptions(argv, verb + 1, RUN_FLAGS, opts, (w) => {
    words.push(w);
    // `-` and a second word are commander's to judge (a profile named "-", too many arguments)
    return w !== '-' && words.length === 1;
  });
  if (end === undefined || end < argv.length) return undefined;
  return { globals: globals as GlobalOptions, profile: words[0], opts: opts as RunOpts };
}
