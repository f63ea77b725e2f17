// OpenShift detection against a real kube-apiserver: plain Kubernetes is not OpenShift; once the
// server serves the route.openshift.io group (registered here as a CRD, as OpenShift's own
// types appear in discovery), it is.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { detectOpenShift, isOpenShift } from '../../src/kube/openshift.js';
import { KubeUnavailableError, startKube, type Kube, kubectlBin } from '../helpers/kube.js';
import { agentYaml, clawpod, scratchEnv, tmpDir, writeSpec } from '../helpers/cli.js';

let kube: Kube | undefined;
let skip = '';
beforeAll(async () => {
  try { kube = await startKube(); } catch (e) { if (e instanceof KubeUnavailableError) skip = e.reason; else throw e; }
}, 1_800_000);
afterAll(async () => { await kube?.stop(); });

const kcOf = (file: string) => { const kc = new KubeConfig(); kc.loadFromFile(file); return kc; };

it('decides from the API groups', () => {
  expect(isOpenShift(['apps', 'batch'])).toBe(false);
  expect(isOpenShift(['apps', 'security.openshift.io'])).toBe(true);
});

it('detects OpenShift by its API groups on a real server', async (t) => {
  if (skip) t.skip(skip);
  expect(await detectOpenShift(kcOf(kube!.kubeconfig))).toBe(false);
  const crd = join(tmpDir(), 'routes.yaml');
  writeFileSync(crd, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: routes.route.openshift.io}
spec:
  group: route.openshift.io
  scope: Namespaced
  names: {plural: routes, singular: route, kind: Route}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`);
  const r = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, 'apply', '-f', crd], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  let seen = false;
  for (let i = 0; i < 50 && !seen; i++) { seen = await detectOpenShift(kcOf(kube!.kubeconfig)); if (!seen) await new Promise((res) => setTimeout(res, 200)); }
  expect(seen).toBe(true);

  // apply then renders for OpenShift by itself: a Route, no fixed uid
  expect(spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, 'create', 'namespace', 'osx'], { encoding: 'utf8' }).status).toBe(0);
  const spec = writeSpec(tmpDir(), 'os.yaml', agentYaml('osagent', 'command: [sleep, "600"]\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: 18900, hostIP: 0.0.0.0}]'));
  const applied = await clawpod(['apply', '-f', spec, '-n', 'osx', '--no-wait'], { env: scratchEnv({ KUBECONFIG: kube!.kubeconfig }) });
  expect(applied.code, applied.stderr).toBe(0);
  expect(applied.stderr).toContain('OpenShift detected');
  const get = (...a: string[]) => { const g = spawnSync(kubectlBin(), ['--kubeconfig', kube!.kubeconfig, '-n', 'osx', 'get', ...a, '-o', 'json'], { encoding: 'utf8' }); if (g.status !== 0) throw new Error(`kubectl get ${a.join(' ')}: ${g.stderr}\n${applied.stderr}`); return g; };
  expect(JSON.parse(get('routes.route.openshift.io', 'osagent-8080').stdout).spec.to).toMatchObject({ kind: 'Service', name: 'osagent' });
  const pod = JSON.parse(get('job', 'osagent').stdout).spec.template.spec;
  expect(pod.securityContext.runAsUser).toBeUndefined();
  expect(pod.securityContext.runAsNonRoot).toBe(true);
});

it('names an unreachable server', async () => {
  const file = join(tmpDir(), 'kc.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: ctx1, context: {cluster: c, user: u}}]\ncurrent-context: ctx1\n');
  await expect(detectOpenShift(kcOf(file))).rejects.toThrow(/cannot list the API groups of https:\/\/127\.0\.0\.1:1/);
});
