// A short-lived Podman API service whose default OCI runtime is the one a container needs.
// Podman 4.3's API, compat and libpod alike, ignores a per-container runtime (HostConfig.Runtime,
// specgen oci_runtime: podman#28429, fixed upstream in 2026); only the engine-wide default
// (`podman --runtime NAME`) is honoured. So a container of another tier is created through a
// service started with `--runtime NAME` on a private socket; it shares the main service's storage
// (same user, same containers.conf), so the main service starts and runs it afterwards, and the
// isolation check reads its OCIRuntime back. Measured here: the service answers in about 0.3 s.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClawpodError } from '../errors.js';
import { probeSocket } from './probe.js';

/** How to run the podman CLI on this host: the binary and the environment it needs (PATH, HOME, CONTAINERS_CONF...). */
export interface PodmanLocal {
  readonly podmanBin: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Runs `fn` with the socket of a `podman --runtime RUNTIME system service`, stopped afterwards whatever happens. */
export async function withRuntimeService<T>(local: PodmanLocal, runtime: string, fn: (socketPath: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-rt-'));
  const socketPath = join(dir, 'podman.sock');
  const child = spawn(local.podmanBin, ['--runtime', runtime, 'system', 'service', '--time=0', `unix://${socketPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...local.env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  let exited = false;
  const gone = new Promise<void>((res) => { child.on('exit', () => { exited = true; res(); }); child.on('error', () => { exited = true; res(); }); });
  try {
    const deadline = Date.now() + 30_000; // 0.3 s when idle; a loaded 2-core machine took over 15 s once
    while (!(await probeSocket(socketPath, 1000))) {
      if (exited || Date.now() > deadline) {
        throw new ClawpodError('ISOLATION_UNAVAILABLE', `could not start \`${local.podmanBin} --runtime ${runtime} system service\` to create a ${runtime} container: ${exited ? 'it exited' : 'no answer within 30 s'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, {
          hint: `check that \`${local.podmanBin} --runtime ${runtime} run --rm IMAGE true\` works on this host (clawpod doctor tries it)`,
        });
      }
      await sleep(50);
    }
    return await fn(socketPath);
  } finally {
    if (!exited) child.kill('SIGTERM');
    await Promise.race([gone, sleep(5000)]);
    if (!exited) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
