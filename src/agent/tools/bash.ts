// The bash tool: `/bin/sh -c COMMAND` in the workspace with a clean environment (no secrets: the
// runner's own env is not inherited), stdin closed, a time limit that kills the whole process
// group, and output (stdout and stderr interleaved as they arrive) capped.
import { spawn } from 'node:child_process';
import { capOutput } from './output.js';
import type { ToolOutcome } from './toolbox.js';

export interface BashOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly signal: AbortSignal;
}

export interface BashResult {
  readonly output: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** The process could not be started at all (e.g. the cwd is gone). */
  readonly spawnError?: string;
}

// After the shell exits, a background job may still hold the pipes open; wait this long for
// the rest of the output, then stop reading (the job itself is left running).
const DRAIN_MS = 200;

export function runBash(command: string, o: BashOptions): Promise<BashResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    let timedOut = false;
    let interrupted = false;
    let exitCode: number | null = null;
    let done = false;
    // detached: the shell leads its own process group, so a kill reaches what it started
    const child = spawn('/bin/sh', ['-c', command], { cwd: o.cwd, env: { ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (): void => { try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } };
    const onData = (d: Buffer): void => {
      total += d.length;
      if (kept < o.maxOutputBytes) { chunks.push(d); kept += d.length; }
    };
    const finish = (spawnError?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ output: capOutput(Buffer.concat(chunks), o.maxOutputBytes, total), exitCode, timedOut, interrupted, ...(spawnError ? { spawnError } : {}) });
    };
    const onAbort = (): void => { interrupted = true; killGroup(); };
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, o.timeoutMs);
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (e) => finish(e.message));
    child.on('exit', (code) => {
      exitCode = code;
      setTimeout(() => finish(), DRAIN_MS).unref();
    });
    child.on('close', () => finish());
  });
}

/** How the model reads a bash result: the output, then one line with how it ended. */
export function describeBash(r: BashResult, timeoutMs: number): ToolOutcome {
  if (r.spawnError) return { output: `bash could not start: ${r.spawnError}`, isError: true };
  const out = r.output.endsWith('\n') || r.output === '' ? r.output : `${r.output}\n`;
  const ended = { exitCode: r.exitCode, timedOut: r.timedOut };
  if (r.timedOut) return { output: `${out}[killed: the command ran longer than ${timeoutMs} ms (tools.bash.timeoutMs); its process group was killed]`, isError: true, ...ended };
  if (r.interrupted) return { output: `${out}[killed: the runner is stopping]`, isError: true, ...ended };
  return { output: `${out}[exit code ${r.exitCode ?? 'unknown'}]`, isError: r.exitCode !== 0, ...ended };
}
