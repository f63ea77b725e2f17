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

function buildHarness(): void {
  if (process.env.CLAWPOD_KUBE_BUILD === '0') {
    if (IN_CI) throw new Error('CLAWPOD_KUBE_BUILD=0 in CI: the Kubernetes tests need the harness; unset it');
    return;
  }
  const t0 = Date.now();
  const r = spawnSync('bash', [KUBE_HARNESS, 'kubectl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status === 0) {
    const s = (Date.now() - t0) / 1000;
    if (s > 5) process.stderr.write(`[global-setup] Kubernetes harness built in ${s.toFixed(0)} s\n`);
    return;
  }
  const why = `scripts/kube-harness.sh kubectl exited ${r.status} (see the lines above)`;
  if (IN_CI) throw new Error(`prerequisite missing in CI: the Kubernetes harness binaries: ${why}`);
  process.stderr.write(`[global-setup] no Kubernetes harness: ${why}; the Kubernetes tests will skip\n`);
}

function buildJaegerHarness(): void {
  if (process.env.CLAWPOD_JAEGER_BUILD === '0') {
    if (IN_CI) throw new Error('CLAWPOD_JAEGER_BUILD=0 in CI: the tracing tests need the Jaeger harness; unset it');
    return;
  }
  const t0 = Date.now();
  const r = spawnSync('bash', [JAEGER_HARNESS, 'build'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status === 0) {
    const s = (Date.now() - t0) / 1000;
    if (s > 5) process.stderr.write(`[global-setup] Jaeger harness built in ${s.toFixed(0)} s\n`);
    return;
  }
  const why = `scripts/jaeger-harness.sh build exited ${r.status} (see the lines above)`;
  if (IN_CI) throw new Error(`prerequisite missing in CI: the Jaeger harness binary: ${why}`);
  process.stderr.write(`[global-setup] no Jaeger harness: ${why}; the tracing tests will skip\n`);
}
