// The Kubernetes test harness itself: a real kube-apiserver (built from k8s.io/kubernetes, see
// docs/kubernetes-harness.md) on loopback, driven with the real kubectl.
//
// Runtime: a few seconds once the binary is cached. The very first run on a machine builds
// kube-apiserver (one-time, 10-25 minutes on 2 cores) unless `scripts/kube-harness.sh build` ran
// before; CLAWPOD_KUBE_BUILD=0 skips instead of building. Skips with the reason when no server can
// be had (no Go toolchain / module proxy / etcd).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeUnavailableError, startKube, type Kube, kubectlBin } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const pexec = promisify(execFile);

let kube: Kube | undefined;
let skipReason = '';

async function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await pexec(kubectlBin(), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

beforeAll(async () => {
  try {
    kube = await startKube();
  } catch (e) {
    if (!(e instanceof KubeUnavailableError)) throw e;
    skipReason = e.reason;
    console.warn(`[kube-harness] skipping: ${e.reason}`);
  }
}, 45 * 60_000); // the one-time build; a cached start takes seconds

afterAll(async () => {
  await kube?.stop();
});

describe('kube harness (real kube-apiserver + etcd)', () => {
  const ns = `clawpod-it-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

  it('serves the pinned release and writes a usable kubeconfig', async (ctx) => {
    if (!kube) return ctx.skip(skipReason);
    expect(kube.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kube.token.length).toBeGreaterThan(20);
    const v = await kubectl(kube.kubeconfig, ['version', '-o', 'json']);
    expect(v.code, v.stderr).toBe(0);
    if (kube.version !== 'external') expect(JSON.parse(v.stdout).serverVersion.gitVersion).toBe(kube.version);
  });

  it('creates a namespace and a Secret and reads the Secret back', async (ctx) => {
    if (!kube) return ctx.skip(skipReason);
    const created = await kubectl(kube.kubeconfig, ['create', 'namespace', ns]);
    expect(created.code, created.stderr).toBe(0);
    const secret = await kubectl(kube.kubeconfig, ['-n', ns, 'create', 'secret', 'generic', 'api-key', '--from-literal=token=s3cr3t-value']);
    expect(secret.code, secret.stderr).toBe(0);
    const got = await kubectl(kube.kubeconfig, ['-n', ns, 'get', 'secret', 'api-key', '-o', 'jsonpath={.data.token}']);
    expect(got.code, got.stderr).toBe(0);
    expect(Buffer.from(got.stdout, 'base64').toString()).toBe('s3cr3t-value');
  });

  it('enforces RBAC: the limited user may not read that Secret', async (ctx) => {
    if (!kube) return ctx.skip(skipReason);
    if (!kube.limitedKubeconfig) return missing(ctx, 'no limited user on an external cluster');
    const denied = await kubectl(kube.limitedKubeconfig, ['-n', ns, 'get', 'secret', 'api-key']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);
    expect(denied.stderr).toContain('clawpod-limited');
  });
});
