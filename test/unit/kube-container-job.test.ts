// The Kubernetes runtime driver's Job for a runtime-neutral ContainerSpec (pure): suspended,
// hardened like an exported agent, stdin open for attach, labels Kubernetes cannot hold kept in
// an annotation, and a host folder refused by name.
import { describe, expect, it } from 'vitest';
import { jobForContainer, kubeLabels, LABELS_ANNOTATION } from '../../src/runtime/kubernetes/container-job.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';
import { isClawpodError } from '../../src/errors.js';

const spec: ContainerSpec = {
  name: 'clawpod-grp-demo', image: 'localhost/clawpod-agent:latest', command: ['clawpod-agent'],
  env: { WORKSPACE: '/workspace' }, user: '1000:1000', workingDir: '/workspace',
  labels: { 'dev.clawpod.role': 'session', 'dev.clawpod.expires-at': '2026-11-25T16:00:00.000Z', 'dev.clawpod.spec': 'eyJhIjoxfQ==' },
  mounts: [{ kind: 'tmpfs', target: '/tmp', sizeBytes: 67108864 }, { kind: 'volume', name: 'clawpod-grp-demo-workspace', target: '/workspace', readOnly: false }],
  ports: [], resources: { cpus: 0.5, memoryBytes: 268435456, pids: 128 }, network: 'none', isolation: 'runc',
  security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true }, openStdin: true,
};

describe('jobForContainer', () => {
  it('a suspended one-shot Job with the hardened Pod and stdin open', () => {
    const job = jobForContainer(spec, { serviceAccount: 'clawpod-session' });
    expect(job.spec).toMatchObject({ suspend: true, backoffLimit: 0, activeDeadlineSeconds: 86400, ttlSecondsAfterFinished: 3600 });
    const pod = job.spec!.template.spec!;
    expect(pod).toMatchObject({ restartPolicy: 'Never', serviceAccountName: 'clawpod-session', automountServiceAccountToken: false, enableServiceLinks: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    expect(c).toMatchObject({ name: 'agent', imagePullPolicy: 'IfNotPresent', stdin: true, stdinOnce: false, command: ['clawpod-agent'], workingDir: '/workspace' });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '268435456' }, requests: { cpu: '500m', memory: '268435456' } });
    expect(pod.volumes).toEqual([
      { name: 'v0', emptyDir: { medium: 'Memory', sizeLimit: '67108864' } },
      { name: 'v1', persistentVolumeClaim: { claimName: 'clawpod-grp-demo-workspace' } },
    ]);
  });

  it('isolation gvisor: RuntimeClass gvisor and the group that may read node (runc: neither)', () => {
    const pod = jobForContainer({ ...spec, isolation: 'gvisor' }, { serviceAccount: 'clawpod-session' }).spec!.template.spec!;
    expect(pod.runtimeClassName).toBe('gvisor');
    expect(pod.securityContext).toMatchObject({ runAsUser: 1000, supplementalGroups: [1990] });
    const runc = jobForContainer(spec, { serviceAccount: 'clawpod-session' }).spec!.template.spec!;
    expect(runc.runtimeClassName).toBeUndefined();
    expect(runc.securityContext!.supplementalGroups).toBeUndefined();
  });

  it('labels Kubernetes refuses (a timestamp, the encoded spec) stay in the annotation only', () => {
    const job = jobForContainer(spec, { serviceAccount: 'default' });
    expect(job.metadata!.labels).toMatchObject({ 'dev.clawpod.role': 'session', 'app.kubernetes.io/instance': 'clawpod-grp-demo', 'app.kubernetes.io/managed-by': 'clawpod' });
    expect(job.metadata!.labels!['dev.clawpod.expires-at']).toBeUndefined();
    expect(job.metadata!.labels!['dev.clawpod.spec']).toBeUndefined();
    expect(JSON.parse(job.metadata!.annotations![LABELS_ANNOTATION]!)).toEqual(spec.labels);
    expect(kubeLabels({ 'a/b/c': 'x', ok: 'y', long: 'z'.repeat(64) })).toEqual({ ok: 'y' });
  });

  it('a host folder is refused, named, with the way to do it on a cluster', () => {
    let err: unknown;
    try { jobForContainer({ ...spec, mounts: [{ kind: 'bind', source: '/home/me/tools', target: '/opt/tools', readOnly: true }] }, { serviceAccount: 'default' }); } catch (e) { err = e; }
    expect(isClawpodError(err) && err.code).toBe('MOUNT_INVALID');
    expect((err as Error).message).toContain('/home/me/tools → /opt/tools');
  });
});
