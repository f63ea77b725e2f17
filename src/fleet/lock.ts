// One fleet operation at a time per data folder: tenant apply/update/delete and fleet upgrade each
// hold dataDir/fleet/lock (made with O_EXCL, holding the pid). A second one is refused while the
// holder lives — a "resume" beside a rollout still running would put its tenants back under it —
// and takes over a lock whose holder is gone (killed: what resuming is for).
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } };

export async function withFleetLock<T>(config: Config, what: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(config.dataDir, 'fleet');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${what}`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      let holder = '';
      try { holder = readFileSync(file, 'utf8'); } catch { /* gone meanwhile */ }
      const pid = Number(holder.split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new ClawpodError('IN_USE', `another fleet operation is running here (pid ${pid}: ${holder.split(' ').slice(1).join(' ')})`, { hint: `wait for it, or stop it (kill ${pid}); this command resumes what it left` });
      }
      rmSync(file, { force: true }); // its holder is gone
    }
  }
  try { return await fn(); } finally { rmSync(file, { force: true }); }
}
