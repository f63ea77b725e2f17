// A Podman API service whose default OCI runtime is the one a container needs.
// Podman 4.3's API, compat and libpod alike, ignores a per-container runtime (HostConfig.Runtime,
// specgen oci_runtime: podman#28429, fixed upstream in 2026); only the engine-wide default
// (`podman --runtime NAME`) is honoured. So a container of another tier is created through a
// service started with `--runtime NAME` on a private socket; it shares the main service's storage
// (same user, same containers.conf), so the main service starts and runs it afterwards, and the
// isolation check reads its OCIRuntime back. Starting one takes 0.3 s idle and over a second on a
// busy 2-core machine, most of a gVisor cold start (bench/README.md), so with a private folder to
// keep its socket in, the service stays up for IDLE_SECONDS after its last request and later creates
// reuse it; it stops on its own.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClawpodError } from '../errors.js';
import { privateDir } from '../security/safe-fs.js';
import { probeSocket } from './probe.js';

/** How to run the podman CLI on this host: the binary and the environment it needs (PATH, HOME, CONTAINERS_CONF...). */
export interface PodmanLocal {
  readonly podmanBin: string;
  readonly env: Readonly<Record<string, string>>;
  /** A private folder of clawpod's (0700, ours) for the sockets of services kept between runs; without one each create starts and stops its own. */
  readonly serviceDir?: string;
}

/** How long a kept service outlives its last request (Podman's --time). */
export const IDLE_SECONDS = 60;

/**
 * Starts `podman --runtime RUNTIME system service` on socketPath and waits until it answers; its
 * output goes to socketPath.log, whose end is shown if it fails. A kept one (idleSeconds > 0) is
 * detached from this process, which may exit while it keeps serving.
 */
async function startService(local: PodmanLocal, runtime: string, socketPath: string, idleSeconds: number): Promise<{ stop(): Promise<void> }> {
  const logFile = `${socketPath}.log`;
  const log = openSync(logFile, 'w', 0o600);
  const kept = idleSeconds > 0;
  let child;
  try {
    child = spawn(local.podmanBin, ['--runtime', runtime, 'system', 'service', `--time=${idleSeconds}`, `unix://${socketPath}`], {
      stdio: ['ignore', 'ignore', log], env: { ...local.env }, detached: kept,
    });
  } finally { closeSync(log); }
  if (kept) child.unref();
  let exited = false;
  const gone = new Promise<void>((res) => { child.on('exit', () => { exited = true; res(); }); child.on('error', () => { exited = true; res(); }); });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await Promise.race([gone, sleep(5000)]);
    if (!exited) child.kill('SIGKILL');
  };
  const deadline = Date.now() + 30_000; // 0.3 s when idle; a loaded 2-core machine took over 15 s once
  while (!(await probeSocket(socketPath, 1000))) {
    if (exited || Date.now() > deadline) {
      await stop();
      let said = '';
      try { said = readFileSync(logFile, 'utf8').trim().slice(-2000); } catch { /* nothing written */ }
      throw new ClawpodError('ISOLATION_UNAVAILABLE', `could not start \`${local.podmanBin} --runtime ${runtime} system service\` to create a ${runtime} container: ${exited ? 'it exited' : 'no answer within 30 s'}${said ? `: ${said}` : ''}`, {
        hint: `check that \`${local.podmanBin} --runtime ${runtime} run --rm IMAGE true\` works on this host (clawpod doctor tries it)`,
      });
    }
    await sleep(50);
  }
  return { stop };
}

/** The kept service's socket: one per podman binary, runtime and containers.conf (its path and text), so a changed setup gets a new service. */
function keptSocket(local: PodmanLocal, dir: string, runtime: string): string {
  const conf = local.env.CONTAINERS_CONF;
  let text = '';
  try { text = conf ? readFileSync(conf, 'utf8') : ''; } catch { /* missing: the service reports it */ }
  const key = createHash('sha256').update(`${local.podmanBin}\0${runtime}\0${conf ?? ''}\0${text}`).digest('hex').slice(0, 12);
  return join(dir, `${runtime}-${key}.sock`);
}

/** Runs `fn` with the socket of a `podman --runtime RUNTIME system service`: the kept one when it answers, else a new one (kept, or stopped afterwards). */
export async function withRuntimeService<T>(local: PodmanLocal, runtime: string, fn: (socketPath: string) => Promise<T>): Promise<T> {
  if (local.serviceDir) {
    // whoever could write here could answer on the socket in the engine's place: the folder must be ours alone
    privateDir(local.serviceDir, { create: true, what: 'CLAWPOD_RUN_DIR' });
    const socketPath = keptSocket(local, local.serviceDir, runtime);
    if (!(await probeSocket(socketPath, 1000))) {
      rmSync(socketPath, { force: true }); // a stale socket of a service that ended
      await startService(local, runtime, socketPath, IDLE_SECONDS);
    }
    return fn(socketPath);
  }
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-rt-'));
  try {
    const service = await startService(local, runtime, join(dir, 'podman.sock'), 0);
    try { return await fn(join(dir, 'podman.sock')); } finally { await service.stop(); }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
