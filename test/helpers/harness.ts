// What the test harnesses (Kubernetes: kube.ts, Jaeger: jaeger.ts) share: running their script
// with its progress passed through, and reading the env file `start` writes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Runs `bash SCRIPT ARGS…`; its stderr (progress, errors) is kept and, with `progress`, shown as it comes. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, progress: boolean): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (progress) process.stderr.write(d);
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/** KEY=VALUE lines (a harness's DIR/env). */
export function parseEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
