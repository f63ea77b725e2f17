// A whole command timed from the outside, as a user waits for it: spawn → first byte on stdout, and
// spawn → exit. A failing command is an error carrying its stderr, never a figure.
import { spawn } from 'node:child_process';

export interface ProcessTiming { readonly firstOutputMs: number | undefined; readonly totalMs: number; readonly stdout: string }

/** `signal` ends the child (Ctrl-C of a benchmark); its run then rejects. */
export function timeProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<ProcessTiming> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    let first: number | undefined;
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { first ??= ms(); out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      const total = ms();
      if (code === 0) resolve({ firstOutputMs: first, totalMs: total, stdout: out });
      else reject(new Error(`\`${[cmd, ...args].join(' ')}\` exited ${code}: ${err.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}
