// The readiness wait's judgement of a Pod and a claim from their status alone (pure functions;
// the integration tests drive the same code against a real API server and kubelet).
import { describe, expect, it } from 'vitest';
import { podState, pvcState, type Obj } from '../../src/kube/wait.js';

const pod = (waiting: { reason: string; message?: string }, image = 'registry.example/agent:1'): Obj => ({
  kind: 'Pod', metadata: { name: 'web-abc' },
  spec: { containers: [{ name: 'agent', image }] },
  status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'agent', image, ready: false, state: { waiting } }] },
});

describe('podState', () => {
  it.each(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'])('%s fails at once, naming Pod, container, image and reason', (reason) => {
    const s = podState(pod({ reason, message: 'not found' }));
    expect(s.ready).toBe(false);
    expect(s.failed?.code).toBe('IMAGE_NOT_FOUND');
    expect(s.line).toBe(`pod/web-abc: container agent: image registry.example/agent:1 cannot be pulled (${reason}: not found)`);
    expect(s.failed?.hint).toContain('imagePullSecrets');
  });

  it('a localhost/ image: the hint says how to load it into the nodes', () => {
    const s = podState(pod({ reason: 'ErrImageNeverPull' }, 'localhost/me:1'));
    expect(s.failed?.hint).toContain('kind load docker-image localhost/me:1');
    expect(s.failed?.hint).toContain('ctr -n k8s.io images import');
  });

  it('other waiting reasons are pending, not failed', () => {
    expect(podState(pod({ reason: 'ContainerCreating' })).failed).toBeUndefined();
    expect(podState(pod({ reason: 'CreateContainerConfigError', message: 'secret "x" not found' })).line).toContain('a missing Secret or key?');
  });
});

describe('pvcState', () => {
  const claim: Obj = { kind: 'PersistentVolumeClaim', metadata: { name: 'w' }, spec: { storageClassName: 'gone' }, status: { phase: 'Pending' } };
  it('names a StorageClass that does not exist, and those that do', () => {
    const s = pvcState(claim, [{ metadata: { name: 'std', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } }]);
    expect(s.line).toBe('pvc/w: Pending (its StorageClass gone does not exist (existing: std (default)): create it, or apply again with --storage-class naming one of them)');
  });
  it('WaitForFirstConsumer counts as ready: the Pod decides', () => {
    expect(pvcState({ ...claim, spec: { storageClassName: 'local' } }, [{ metadata: { name: 'local' }, volumeBindingMode: 'WaitForFirstConsumer' }]).ready).toBe(true);
  });
});
