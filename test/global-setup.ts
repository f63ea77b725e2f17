// Runs once before any test file: builds the Kubernetes harness (kube-apiserver, controller
// manager, scheduler, kubelet and kubectl from one pinned k8s.io/kubernetes release) when it is not
// cached yet, with its progress on stderr, so that no single test's time-out has to cover a
// one-time build of ~15 minutes. Outside CI a machine that cannot build it goes on (those tests
// skip and say why); with CI=true that is a failure naming what is missing.
//
// It also hands the test files one shared harness-with-a-node (test/helpers/kube.ts sharedNode):
// the first file that needs a node starts it and records its folder in the file provided here;
// the teardown stops it.
//
// And it builds the Jaeger harness (scripts/jaeger-harness.sh, docs/tracing-harness.md; 15-20
// minutes on 2 cores, one-time) the same way: skipped quietly outside CI when it cannot be built,
// fatal in CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { JAEGER_HARNESS } from './helpers/jaeger.js';
import { KUBE_HARNESS, stopSharedKube } from './helpers/kube-harness-path.js';
import { IN_CI } from './helpers/prereq.js';

export default function setup(project: TestProject): (() => void) | undefined {
  buildJaegerHarness();
  if (process.env.CLAWPOD_TEST_KUBECONFIG || process.env.CLAWPOD_TEST_KUBECTL) return undefined;
  const shared = join(mkdtempSync(join(tmpdir(), 'clawpod-shared-kube-')), 'dir');
  project.provide('sharedKubeFile', shared);
  // also on Ctrl-C / a crash of vitest itself
  const stop = () => stopSharedKube(shared);
  process.once('exit', stop);
  buildHarness();
  return () => { process.removeListener('exit', stop); stop(); };
}

interface Build {
  /** What it is, for the messages ("the Kubernetes harness"). */
  readonly what: string;
  readonly script: string;
  readonly args: readonly string[];
  /** The env var that turns the build off for a developer's quick run (refused in CI). */
  readonly off: string;
  /** The tests that skip without it. */
  readonly tests: string;
}

/** Builds one harness if it is not cached; outside CI a failure only says which tests will skip. */
function build(b: Build): void {
  if (process.env[b.off] === '0') {
    if (IN_CI) throw new Error(`${b.off}=0 in CI: the ${b.tests} tests need ${b.what}; unset it`);
    return;
  }
  const t0 = Date.now();
  const r = spawnSync('bash', [b.script, ...b.args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status === 0) {
    const s = (Date.now() - t0) / 1000;
    if (s > 5) process.stderr.write(`[global-setup] ${b.what} built in ${s.toFixed(0)} s\n`);
    return;
  }
  const why = `${b.script.replace(/.*\/scripts\//, 'scripts/')} ${b.args.join(' ')} exited ${r.status} (see the lines above)`;
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${b.what}: ${why}`);
  process.stderr.write(`[global-setup] no ${b.what}: ${why}; the ${b.tests} tests will skip\n`);
}

const buildHarness = () => build({ what: 'Kubernetes harness', script: KUBE_HARNESS, args: ['kubectl'], off: 'CLAWPOD_KUBE_BUILD', tests: 'Kubernetes' });
const buildJaegerHarness = () => build({ what: 'Jaeger harness', script: JAEGER_HARNESS, args: ['build'], off: 'CLAWPOD_JAEGER_BUILD', tests: 'tracing' });
