// The runner's built-in tools: workspace confinement, the file tools, and bash's clean env,
// time limit (process group killed) and output cap.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeBash, runBash, type BashOptions } from '../../src/agent/tools/bash.js';
import { builtinTools } from '../../src/agent/tools/builtin.js';
import { editFile, listFiles, readFile, writeFile } from '../../src/agent/tools/files.js';
import { ToolBox } from '../../src/agent/tools/toolbox.js';
import { Workspace } from '../../src/agent/tools/workspace.js';

let root: string;
let outside: string;
let ws: Workspace;

beforeAll(() => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'agent-tools-')));
  root = join(base, 'workspace');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  writeFileSync(join(root, 'sub', 'a.txt'), 'alpha');
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'secret-link'));
  symlinkSync(join(root, 'sub', 'a.txt'), join(root, 'inner-link'));
  symlinkSync(join(outside, 'missing'), join(root, 'dangling'));
  ws = new Workspace(root);
});

describe('workspace confinement', () => {
  it('resolves relative paths and absolute paths inside the workspace', () => {
    expect(ws.resolve('sub/a.txt')).toBe(join(root, 'sub', 'a.txt'));
    expect(ws.resolve(join(root, 'sub', 'a.txt'))).toBe(join(root, 'sub', 'a.txt'));
    expect(ws.resolve('new/deeper/file.txt')).toBe(join(root, 'new', 'deeper', 'file.txt'));
    expect(ws.resolve('inner-link')).toBe(join(root, 'sub', 'a.txt'));
    expect(ws.resolve('sub/../sub/a.txt')).toBe(join(root, 'sub', 'a.txt'));
  });

  it('refuses .. escapes, absolute paths outside, symlinks leading out and dangling links', () => {
    expect(() => ws.resolve('../outside/secret.txt')).toThrow(/"\.\.\/outside\/secret.txt" is outside the workspace/);
    expect(() => ws.resolve('sub/../../outside')).toThrow(/outside the workspace/);
    expect(() => ws.resolve('/etc/passwd')).toThrow(/"\/etc\/passwd" is outside the workspace/);
    expect(() => ws.resolve('escape/secret.txt')).toThrow(/leads out of the workspace .* through a symlink \(it resolves to .*outside\/secret.txt\)/);
    expect(() => ws.resolve('escape/new-file')).toThrow(/through a symlink/);
    expect(() => ws.resolve('secret-link')).toThrow(/through a symlink/);
    expect(() => ws.resolve('dangling')).toThrow(/a symlink to a missing target/);
    expect(() => ws.resolve('')).toThrow(/non-empty string/);
  });

  it('gives the model the refusal as a tool error, and writes nothing outside', async () => {
    const box = new ToolBox();
    for (const t of builtinTools({ workspace: ws, env: {}, bashTimeoutMs: 5000, maxOutputBytes: 1000 })) box.add(t);
    const signal = new AbortController().signal;
    const r = await box.run({ type: 'tool_call', id: 'c1', name: 'write_file', input: { path: 'escape/pwned.txt', content: 'x' } }, signal);
    expect(r).toMatchObject({ isError: true, output: expect.stringContaining('write_file failed: path "escape/pwned.txt" leads out of the workspace') });
    expect(existsSync(join(outside, 'pwned.txt'))).toBe(false);
    const read = await box.run({ type: 'tool_call', id: 'c2', name: 'read_file', input: { path: '../outside/secret.txt' } }, signal);
    expect(read.isError).toBe(true);
    expect(read.output).not.toContain('top secret');
    expect(await box.run({ type: 'tool_call', id: 'c3', name: 'read_file', input: {} }, signal)).toMatchObject({ isError: true, output: expect.stringContaining('"path" must be a string') });
    expect(await box.run({ type: 'tool_call', id: 'c4', name: 'nope', input: {} }, signal)).toMatchObject({ isError: true, output: expect.stringContaining('available: bash, read_file') });
    expect(await box.run({ type: 'tool_call', id: 'c5', name: 'bash', input: {}, badArguments: 'not JSON' }, signal)).toEqual({ isError: true, output: 'bash was not run: not JSON' });
  });
});

describe('file tools', () => {
  it('writes (creating folders), reads, edits exactly once and lists', () => {
    expect(writeFile(ws, 'notes/todo.md', 'one\ntwo $1\n')).toBe('wrote 11 bytes to notes/todo.md');
    expect(readFile(ws, 'notes/todo.md', 1000)).toBe('one\ntwo $1\n');
    expect(editFile(ws, 'notes/todo.md', 'two $1', "three $& $'")).toBe('replaced 1 occurrence in notes/todo.md');
    expect(readFileSync(join(root, 'notes/todo.md'), 'utf8')).toBe("one\nthree $& $'\n");
    expect(() => editFile(ws, 'notes/todo.md', 'absent', 'x')).toThrow(/old_string was not found in notes\/todo.md/);
    writeFile(ws, 'dup.txt', 'x x x');
    expect(() => editFile(ws, 'dup.txt', 'x', 'y')).toThrow(/occurs 3 times in dup.txt; include more surrounding text/);
    expect(() => readFile(ws, 'nothing.txt', 100)).toThrow(/nothing.txt does not exist/);
    expect(() => readFile(ws, 'sub', 100)).toThrow(/sub is a folder; use list_files/);
    expect(listFiles(ws, '.', false, 10_000).split('\n')).toEqual(expect.arrayContaining(['sub/', 'notes/', 'escape -> ' + outside, 'dup.txt']));
    expect(listFiles(ws, '.', true, 10_000)).toContain('notes/todo.md');
  });

  it('caps a large file and refuses to dump a binary one', () => {
    writeFile(ws, 'big.txt', 'y'.repeat(5000));
    expect(readFile(ws, 'big.txt', 100)).toBe(`${'y'.repeat(100)}\n[output truncated: showing the first 100 of 5000 bytes]`);
    writeFileSync(join(root, 'bin.dat'), Buffer.from([1, 0, 2, 3]));
    expect(readFile(ws, 'bin.dat', 100)).toBe('[bin.dat is a binary file of 4 bytes; not shown]');
  });
});

describe('bash', () => {
  const opts = (o: Partial<BashOptions> = {}): BashOptions => ({ cwd: root, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', WORKSPACE: root }, timeoutMs: 10_000, maxOutputBytes: 64 * 1024, signal: new AbortController().signal, ...o });

  it('runs in the workspace with only the env it is given, stdin closed, and reports the exit code', async () => {
    process.env.CLAWPOD_TEST_SECRET = 'must-not-leak';
    try {
      const r = await runBash('pwd; env | sort; cat; echo err >&2; exit 3', opts());
      expect(r.exitCode).toBe(3);
      expect(r.output).toContain(`${root}\n`);
      expect(r.output).toContain(`WORKSPACE=${root}`);
      expect(r.output).toContain('err');
      expect(r.output).not.toContain('must-not-leak');
      expect(describeBash(r, 10_000)).toMatchObject({ isError: true, output: expect.stringMatching(/\[exit code 3\]$/) });
    } finally {
      delete process.env.CLAWPOD_TEST_SECRET;
    }
  });

  it('kills the whole process group at the time limit', async () => {
    const t0 = Date.now();
    // a duration no other process on the machine uses: the check below reads the whole host's process list
    const r = await runBash(`echo started; (sleep 30.4711; echo late > ${join(root, 'late.txt')}) & sleep 30.4711`, opts({ timeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.timedOut).toBe(true);
    expect(describeBash(r, 300).output).toBe('started\n[killed: the command ran longer than 300 ms (tools.bash.timeoutMs); its process group was killed]');
    const ps = await runBash('ps -eo args 2>/dev/null || ps', opts());
    expect(ps.output).not.toContain('sleep 30.4711');
  });

  it('caps output with a marker saying how much was left out', async () => {
    const r = await runBash('head -c 100000 /dev/zero | tr "\\0" x', opts({ maxOutputBytes: 1024 }));
    expect(r.output).toBe(`${'x'.repeat(1024)}\n[output truncated: showing the first 1024 of 100000 bytes]`);
    expect(describeBash(r, 1).isError).toBe(false);
  });

  it('returns promptly when a background job keeps the pipes open', async () => {
    const t0 = Date.now();
    const r = await runBash('sleep 5 & echo done', opts());
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ exitCode: 0, output: 'done\n' });
  });

  it('stops when the runner is stopping', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runBash('sleep 20', opts({ signal: ac.signal }));
    expect(r.interrupted).toBe(true);
  });
});
