// Kept apart from kube.ts, which imports vitest: vitest's global set-up (test/global-setup.ts) runs
// outside the test workers and may not import it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare module 'vitest' {
  /** The file in which the first test file that needs a node records the shared harness's folder. */
  export interface ProvidedContext { sharedKubeFile: string }
}

export const KUBE_HARNESS = join(fileURLToPath(new URL('../../', import.meta.url)), 'scripts/kube-harness.sh');

/** Stops the harness a run shared between test files (its folder is recorded in `file`), if one was started. */
export function stopSharedKube(file: string): void {
  const dir = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (dir) spawnSync('bash', [KUBE_HARNESS, 'stop', dir], { stdio: 'ignore' });
  rmSync(dirname(file), { recursive: true, force: true });
}
