// The fast `clawpod run` reader (src/cli/run-args.ts) against commander configured from the same
// table, as main.ts configures it: whatever the fast path accepts, commander parses to the same
// globals, profile and options; whatever commander refuses, the fast path leaves to commander.
import { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastRunArgs, GLOBAL_OPTIONS, RUN_ARGUMENT, RUN_OPTIONS } from '../../src/cli/run-args.js';

type Parsed = { ok: true; globals: Record<string, unknown>; profile: unknown; opts: Record<string, unknown> } | { ok: false; code: string };

function commander(argv: readonly string[]): Parsed {
  const program = new Command('clawpod').version('0.1.0').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const o of GLOBAL_OPTIONS) program.option(o.flags, o.description);
  program.enablePositionalOptions();
  let got: Parsed | undefined;
  const run = program.command('run').argument(RUN_ARGUMENT.name, RUN_ARGUMENT.description);
  for (const o of RUN_OPTIONS) run.option(o.flags, o.description);
  run.action((profile: unknown, opts: Record<string, unknown>) => { got = { ok: true, globals: program.opts(), profile, opts: { ...opts } }; });
  program.command('ps').action(() => { got = { ok: false, code: 'other verb' }; });
  try { program.parse([...argv], { from: 'user' }); } catch (e) { return { ok: false, code: (e as { code?: string }).code ?? String(e) }; }
  return got ?? { ok: false, code: 'no action' };
}

function agrees(argv: readonly string[]): void {
  const fast = fastRunArgs(argv);
  if (!fast) return; // commander's to handle: nothing to compare
  const c = commander(argv);
  expect(c, JSON.stringify(argv)).toEqual({ ok: true, globals: fast.globals, profile: fast.profile, opts: fast.opts });
}

describe('fastRunArgs', () => {
  it('reads the common forms as commander does', () => {
    const forms = [
      ['run', '--rm', '-f', 'agent.yaml'], ['run', '-f', 'agent.yaml', '--rm'], ['run', '--file=a.yaml', '--name', 'x'],
      ['run', '-fa.yaml', '-d'], ['run', '--detach', '-f', '-'], ['--json', 'run', '-d', '-f', 'a.yaml'],
      ['--host', 'unix:///x.sock', 'run', '-f', 'a'], ['--host=unix:///x.sock', '--json', 'run', 'openclaw', '--name', 'alice'],
      ['run', 'openclaw'], ['run'], ['run', '-f', 'a', '-f', 'b'], ['run', '--name='], ['run', '-f', '--rm'], ['run', '--name', '-x', '-f', 'a'],
    ];
    for (const argv of forms) {
      expect(fastRunArgs(argv), JSON.stringify(argv)).toBeDefined();
      agrees(argv);
    }
    expect(fastRunArgs(['--json', 'run', '--rm', '-f', 'a.yaml'])).toEqual({ globals: { json: true }, profile: undefined, opts: { rm: true, file: 'a.yaml' } });
  });

  it('leaves help, errors and unusual forms to commander', () => {
    const forms = [
      ['run', '--help'], ['run', '-h'], ['--help'], ['-V'], ['run', '--json', '-f', 'a'], ['run', 'a', 'b'], ['run', '-f'], ['run', '--fil', 'a'],
      ['run', '--rm=true'], ['run', '--', 'x'], ['run', '-df', 'a'], ['run', '-'], ['ps'], [], ['run', '--host', 'x'], ['--verbose', 'run'],
    ];
    for (const argv of forms) expect(fastRunArgs(argv), JSON.stringify(argv)).toBeUndefined();
  });

  it('agrees with commander on generated command lines', () => {
    const word = fc.constantFrom('run', 'ps', '-f', '--file', '--file=x.yaml', '-fy.yaml', '--name', '--name=n', '-d', '--detach', '--rm', '--json',
      '--host', '--host=unix:///s', '-', '--', '-h', '-df', 'openclaw', 'agent.yaml', '--rm=1', '--nam', '-x', '');
    fc.assert(fc.property(fc.array(word, { maxLength: 8 }), (argv) => { agrees(argv); }), { numRuns: 3000 });
  });
});
