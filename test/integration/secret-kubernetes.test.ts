// The `kubernetes` secret source against a real kube-apiserver (test/helpers/kube.ts): a key of a
// Secret is read with the user's kubeconfig; a missing Secret or key and a user without RBAC
// rights each get a clear error naming the Secret and the fix.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { resolveRef } from '../../src/secrets/resolve.js';
import { KubeUnavailableError, startKube, type Kube, kubectlBin } from '../helpers/kube.js';

let kube: Kube | undefined;
let skip = '';

beforeAll(async () => {
  try { kube = await startKube(); } catch (e) {
    if (e instanceof KubeUnavailableError) { skip = e.reason; return; }
    throw e;
  }
  const kubectl = (...args: string[]) => spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, ...args], { encoding: 'utf8' });
  kubectl('create', 'namespace', 'cpsec');
  const r = kubectl('-n', 'cpsec', 'create', 'secret', 'generic', 'llm', '--from-literal=token=k8s-s3cret-value', '--from-literal=other=x');
  expect(r.status, r.stderr).toBe(0);
  kubectl('-n', 'cpsec', 'create', 'secret', 'generic', 'single', '--from-literal=only=just-one-value');
}, 1_800_000);

afterAll(async () => { await kube?.stop(); });

const ctx = (kubeconfig: string) => ({ specDir: process.cwd(), config: loadConfig({ ...process.env, KUBECONFIG: kubeconfig }) });
const refused = async (p: Promise<string>) => p.then(() => { throw new Error('expected a refusal'); }, (e: Error) => e.message);

describe('kubernetes secret source', () => {
  it('reads a key of a Secret; a lone key needs no name', async (t) => {
    if (skip) t.skip(skip);
    expect(await resolveRef('kubernetes', { name: 'cpsec/llm', key: 'token' }, 'spec.secrets[0] (T)', ctx(kube!.kubeconfig))).toBe('k8s-s3cret-value');
    expect(await resolveRef('kubernetes', { name: 'cpsec/single' }, 'spec.secrets[0] (T)', ctx(kube!.kubeconfig))).toBe('just-one-value');
  });

  it('names a missing Secret, a missing key, and a user RBAC does not allow', async (t) => {
    if (skip) t.skip(skip);
    expect(await refused(resolveRef('kubernetes', { name: 'cpsec/nope', key: 'k' }, 'spec.secrets[0] (T)', ctx(kube!.kubeconfig)))).toMatch(/no Secret cpsec\/nope on https:/);
    expect(await refused(resolveRef('kubernetes', { name: 'cpsec/llm', key: 'missing' }, 'spec.secrets[0] (T)', ctx(kube!.kubeconfig)))).toContain('has no key "missing"');
    expect(await refused(resolveRef('kubernetes', { name: 'cpsec/llm' }, 'spec.secrets[0] (T)', ctx(kube!.kubeconfig)))).toContain('2 keys, so secretRef.key must name one');
    if (kube!.limitedKubeconfig) {
      const msg = await refused(resolveRef('kubernetes', { name: 'cpsec/llm', key: 'token' }, 'spec.secrets[0] (T)', ctx(kube!.limitedKubeconfig)));
      expect(msg).toMatch(/not allowed to read Secret cpsec\/llm .*HTTP 403/);
      expect(msg).not.toContain('k8s-s3cret-value');
    }
  });
});
