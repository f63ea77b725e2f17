// Agent spec → what Podman 4.3's `podman kube play` runs: one Pod and its PVCs (kube play makes
// them named volumes). Not a Job or StatefulSet (4.3 plays Pods, Deployments and PVCs), no
// Service, NetworkPolicy or ServiceAccount (it has no use for them), no secret volumes (4.3 panics on them).
import type { Agent } from '../spec/schema.js';
import { SPEC_ANNOTATION } from './defaults.js';
import { labelsFor, objectNames, type Component } from './names.js';
import { buildPod } from './pod.js';
import { pvc, renderNotes, specAnnotation } from './render.js';
import type { IPod, KubeObject, Rendered, RenderMode } from './types.js';

export function renderPodman(agent: Agent, opts: { mode: RenderMode }): Rendered {
  const meta = (name: string, component: Component) => ({ name, labels: labelsFor(agent, component) });
  const { spec, claims } = buildPod(agent, { target: 'podman', openshift: false });
  const pod: IPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...meta(objectNames(agent).workload, 'agent'), annotations: { ...(agent.metadata.annotations ?? {}), [SPEC_ANNOTATION]: specAnnotation(agent) } },
    spec: {
      ...spec,
      restartPolicy: opts.mode === 'session' ? 'Never' : 'Always',
      volumes: [...(spec.volumes ?? []), ...claims.map((c) => ({ name: c.volume, persistentVolumeClaim: { claimName: c.claimName } }))],
    },
  };
  const objects: KubeObject[] = [...claims.map((c) => pvc(agent, c, meta)), pod];
  return { objects, notes: renderNotes(agent, { mode: opts.mode, target: 'podman' }) };
}
