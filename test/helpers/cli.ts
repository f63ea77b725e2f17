// Drives the built CLI as a user does: a child process, real Podman, real files. Every test
// names its objects with a per-run prefix and labels nothing by hand, so `cleanup` can find them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/clawpod.js');
export const CONF = join(ROOT, '.clawpod/containers.conf');

export interface CliResult { code: number; stdout: string; stderr: string }

/** An OCI runtime (runsc, runsc-net) that scripts/setup.sh registered in the project's containers.conf, gVisor installed. */
export function runtimeRegistered(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v runsc']).status === 0 && existsSync(CONF) && new RegExp(`^${name}\\s*=`, 'm').test(readFileSync(CONF, 'utf8'));
}
/** What installs and registers gVisor. */
export const GVISOR_FIX = 'apt-get install -y runsc, then ./scripts/setup.sh';

/** A scratch HOME/config so the user's own allowlist and data are never touched. */
export function scratchEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'clawpod-it-home-'));
  return { PATH: process.env.PATH ?? '', HOME: home, CONTAINERS_CONF: CONF, ...extra };
}

export function clawpod(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: opts.env ?? scratchEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`clawpod ${args.join(' ')} timed out\n${stderr}`)); }, opts.timeoutMs ?? 120_000);
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
}

/** The podman CLI, for checking what clawpod did from the outside. */
export function podman(args: string[]): CliResult {
  const r = spawnSync('podman', args, { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF: CONF } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function uniquePrefix(tag: string): string {
  return `it${tag}${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
}

export function writeSpec(dir: string, file: string, yaml: string): string {
  const p = join(dir, file);
  writeFileSync(p, yaml);
  return p;
}

/**
 * A spec's `command` that idles until stopped and ends at once on SIGTERM: a bare `sleep` as PID 1
 * ignores SIGTERM, so every graceful stop or remove of it waits out the 10 s timeout.
 */
export const IDLE_COMMAND = `command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']`;

export function agentYaml(name: string, spec: string): string {
  return `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: ${name}\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

/** Containers and volumes of agents whose name starts with prefix. */
export function leftovers(prefix: string): { containers: string[]; volumes: string[] } {
  const c = podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter((n) => n.startsWith(prefix));
  const v = podman(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((n) => n.startsWith(`clawpod-${prefix}`));
  return { containers: c, volumes: v };
}

export function cleanup(prefix: string): void {
  const { containers, volumes } = leftovers(prefix);
  if (containers.length) podman(['rm', '-f', '-t', '0', ...containers]); // teardown: no graceful stop (a sleep as PID 1 would take the 10 s timeout)
  if (volumes.length) podman(['volume', 'rm', '-f', ...volumes]);
  // the secret folders clawpod delivered to them (a container removed behind clawpod's back leaves its folder on the tmpfs)
  const secrets = loadConfig(process.env).secretsDir;
  let folders: string[] = [];
  try { folders = readdirSync(secrets).filter((n) => n.startsWith(prefix)); } catch { /* nothing delivered */ }
  for (const f of folders) rmSync(join(secrets, f), { recursive: true, force: true });
}

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'clawpod-it-'));
}
