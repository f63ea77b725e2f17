// B11c: deploy/'s Role lets the ServiceAccount clawpod create Jobs, and a Job's Pod could be
// anything: mount a Secret of the namespace (the provider keys), run privileged, mount the node's
// root, run as another ServiceAccount with its token. The attack, on a real kube-apiserver: act
// as that ServiceAccount (impersonation, and a real token for the driver) and create such Jobs.
// Before the policy they are admitted (checked first, as the baseline); with deploy/'s
// ValidatingAdmissionPolicy they are denied by it, while the Job clawpod's Kubernetes driver
// itself renders and applies (and unsuspends: an UPDATE) is admitted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobForContainer } from '../../src/runtime/kubernetes/container-job.js';
import type { IJob } from '../../src/kube/types.js';
import { planContainer } from '../../src/plan/plan.js';
import { KubernetesDriver } from '../../src/runtime/kubernetes-driver.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';
import { defaultSessionAgent } from '../../src/control/server.js';
import { sessionContainerName } from '../../src/control/session.js';
import { LABELS } from '../../src/spec/defaults.js';
import { ROOT, tmpDir } from '../helpers/cli.js';
import { kubectlSync, startKubeIn, type Kube } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const ns = 'sec-admission';
const SA = `system:serviceaccount:${ns}:clawpod`;
let kube: Kube | undefined;
let skip = '';

const k = (args: string[], input?: string) => kubectlSync(['--kubeconfig', kube!.kubeconfig, ...args], input);
/** As the control plane's ServiceAccount: admin credentials impersonating it (RBAC and admission see that user). */
const asClawpod = (args: string[], input?: string) => k(['--as', SA, '-n', ns, ...args], input);
const tryJob = (job: IJob) => asClawpod(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(job));

/** deploy/ as built, moved to `ns` (as `kustomize edit set namespace` would): what the policy test needs of it. */
function deployDocs(kinds: readonly string[]): string {
  const r = kubectlSync(['kustomize', join(ROOT, 'deploy')]);
  expect(r.status, r.stderr).toBe(0);
  type Doc = { kind: string; metadata: { namespace?: string }; subjects?: { namespace?: string }[] };
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc).filter((d) => kinds.includes(d.kind)).map((d) => {
    const clusterScoped = d.kind.startsWith('ValidatingAdmissionPolicy');
    const { namespace: _, ...meta } = d.metadata;
    return JSON.stringify({ ...d, metadata: clusterScoped ? meta : { ...meta, namespace: ns }, ...(d.subjects ? { subjects: d.subjects.map((s) => ({ ...s, namespace: ns })) } : {}) });
  }).join('\n');
}

/** The session container spec exactly as `clawpod serve` makes it on Kubernetes (src/control/session.ts + src/ops/run.ts). */
function sessionSpec(group: string): ContainerSpec {
  const planned = planContainer(defaultSessionAgent().agent, { instanceName: sessionContainerName(group), index: 0, ports: [], mounts: [], secretEnv: {}, secretsHostDir: undefined, specDir: ROOT, now: new Date() });
  return { ...planned, openStdin: true, labels: { ...planned.labels, [LABELS.role]: 'session', [LABELS.control]: 'c0ffee', [LABELS.session]: 's1', [LABELS.group]: group } };
}
const rendered = (group: string): IJob => jobForContainer(sessionSpec(group), { serviceAccount: 'clawpod-session' });

type PodSpec = NonNullable<NonNullable<IJob['spec']>['template']['spec']>;
/** The rendered Job with its Pod spec changed by `f`: each attack differs from the real thing in one way. */
function variant(name: string, f: (p: PodSpec) => void): IJob {
  const job = structuredClone(rendered(name));
  job.metadata!.name = `clawpod-grp-${name}`;
  f(job.spec!.template.spec!);
  return job;
}
const agent = (p: PodSpec) => p.containers[0]!;

const ATTACKS: [string, IJob, RegExp][] = [
  ['(i) mounts the Secret with the provider keys', variant('secret', (p) => {
    p.volumes!.push({ name: 'keys', secret: { secretName: 'clawpod-provider-keys' } });
    agent(p).volumeMounts!.push({ name: 'keys', mountPath: '/keys' });
  }), /emptyDir and persistentVolumeClaim volumes only/],
  ['(i) reads the Secret into env', variant('secretenv', (p) => {
    agent(p).env!.push({ name: 'K', valueFrom: { secretKeyRef: { name: 'clawpod-provider-keys', key: 'ANTHROPIC_API_KEY' } } });
  }), /plain values/],
  ['(ii) runs privileged', variant('priv', (p) => {
    agent(p).securityContext = { privileged: true, allowPrivilegeEscalation: true, capabilities: { add: ['SYS_ADMIN'] } };
  }), /allowPrivilegeEscalation false/],
  ['(iii) mounts the node\'s root (hostPath)', variant('hostpath', (p) => {
    p.volumes!.push({ name: 'host', hostPath: { path: '/' } });
    agent(p).volumeMounts!.push({ name: 'host', mountPath: '/host' });
  }), /emptyDir and persistentVolumeClaim volumes only/],
  ['(iv) runs as the control plane\'s own ServiceAccount, with its token', variant('othersa', (p) => {
    p.serviceAccountName = 'clawpod';
    p.automountServiceAccountToken = true;
  }), /ServiceAccount clawpod-session/],
  ['mounts the control plane\'s own claim (token, store, vault)', variant('state', (p) => {
    p.volumes!.push({ name: 'state', persistentVolumeClaim: { claimName: 'clawpod-state' } });
    agent(p).volumeMounts!.push({ name: 'state', mountPath: '/state' });
  }), /claims are session workspaces/],
  ['shares the node\'s network', variant('hostnet', (p) => { p.hostNetwork = true; }), /network, PID or IPC/],
  ['runs an image from elsewhere', variant('image', (p) => { agent(p).image = 'docker.io/library/alpine:3'; }), /image starting with one of localhost\/clawpod-agent:/],
  ['drops the session label (no clawpod-sessions egress policy would select it)', (() => {
    const j = variant('nolabel', () => undefined);
    delete j.spec!.template.metadata!.labels![LABELS.role];
    return j;
  })(), /dev\.clawpod\.role=session/],
];

beforeAll(async () => {
  // the controller manager fills the policy's status.typeChecking (its CEL checked against the Job schema)
  const r = await startKubeIn(ns, { controllerManager: true });
  if (!r.kube) { skip = r.skip; return; }
  kube = r.kube;
}, 45 * 60_000);

afterAll(async () => { await kube?.stop(); });

describe('B11c: the ServiceAccount clawpod can only create Jobs shaped like the session template', () => {
  it('baseline, RBAC alone: deploy/\'s Role lets it create a Job that mounts the provider keys', (t) => {
    if (skip) return missing(t, `a Kubernetes API server (${skip})`, 'scripts/kube-harness.sh build');
    const rbac = k(['apply', '-f', '-'], deployDocs(['ServiceAccount', 'Role', 'RoleBinding']));
    expect(rbac.status, rbac.stderr).toBe(0);
    const r = tryJob(ATTACKS[0]![1]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('deploy/\'s ValidatingAdmissionPolicy type-checks cleanly and takes effect', async (t) => {
    if (skip) return missing(t, `a Kubernetes API server (${skip})`, 'scripts/kube-harness.sh build');
    const r = k(['apply', '-f', '-'], deployDocs(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ConfigMap']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Warning/i);
    // the policy is loaded asynchronously: wait until the baseline attack is refused
    const deadline = Date.now() + 30_000;
    while (tryJob(ATTACKS[0]![1]).status === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 250));
    let status: { typeChecking?: { expressionWarnings?: unknown[] } } = {};
    while (!status.typeChecking && Date.now() < deadline) {
      status = JSON.parse(k(['get', 'validatingadmissionpolicy', 'clawpod-session-jobs', '-o', 'jsonpath={.status}']).stdout || '{}') as typeof status;
      if (!status.typeChecking) await new Promise((res) => setTimeout(res, 250));
    }
    expect(status.typeChecking, 'status.typeChecking (set by the controller manager)').toEqual({});
  }, 60_000);

  for (const [what, job, why] of ATTACKS) {
    it(`denied by the policy: a Job that ${what}`, (t) => {
      if (skip) return missing(t, `a Kubernetes API server (${skip})`, 'scripts/kube-harness.sh build');
      const r = tryJob(job);
      expect(r.status, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/ValidatingAdmissionPolicy 'clawpod-session-jobs'.*denied request/);
      expect(r.stderr).toMatch(why);
    });
  }

  it('admitted: the Job the Kubernetes driver renders, created and started by the driver itself with the ServiceAccount\'s own token', async (t) => {
    if (skip) return missing(t, `a Kubernetes API server (${skip})`, 'scripts/kube-harness.sh build');
    // the rendered Job, as the impersonated ServiceAccount (server-side dry run)
    const dry = tryJob(rendered('dry'));
    expect(dry.status, dry.stderr).toBe(0);
    // and for real: the driver's server-side apply (CREATE), then its merge patch of spec.suspend (UPDATE)
    const token = k(['-n', ns, 'create', 'token', 'clawpod', '--duration', '10m']);
    expect(token.status, token.stderr).toBe(0);
    const view = (path: string) => k(['config', 'view', '--raw', '--minify', '-o', `jsonpath={${path}}`]).stdout;
    const file = join(tmpDir(), 'clawpod-sa.kubeconfig');
    writeFileSync(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'c', cluster: { server: view('.clusters[0].cluster.server'), 'certificate-authority-data': view('.clusters[0].cluster.certificate-authority-data') } }],
      users: [{ name: 'sa', user: { token: token.stdout.trim() } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace: ns } }],
    }));
    const driver = new KubernetesDriver({ kubeconfig: file, namespace: ns, serviceAccount: 'clawpod-session' });
    const id = await driver.createContainer(sessionSpec('real'));
    await driver.startContainer(id);
    expect(k(['-n', ns, 'get', 'job', sessionContainerName('real'), '-o', 'jsonpath={.spec.suspend}']).stdout).toBe('false');
  });
});
