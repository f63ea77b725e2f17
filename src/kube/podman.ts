// Agent spec → what Podman 4.3's `podman kube play` runs: one Pod and its PVCs (kube play makes
// them named volumes). Not a Job or StatefulSet (4.3 plays Pods, Deployments and PVCs), no
// Service, NetworkPolicy or ServiceAccount (it has no use for them), no secret volumes (4.3
// panics on them). The spec travels in a ConfigMap: 4.3 refuses annotation values over 63 characters.
import { ClawpodError } from '../errors.js';
import type { Agent } from '../spec/schema.js';
import { withSafeAnnotations } from './annotations.js';
import { profileOf } from './payload.js';
import { SPEC_CONFIGMAP_ANNOTATION, SPEC_CONFIGMAP_KEY } from './defaults.js';
import { labelsFor, objectNames, type Component } from './names.js';
import { buildPod } from './pod.js';
import { pvc, renderNotes, specAnnotation } from './render.js';
import type { IConfigMap, IPod, KubeObject, Rendered, RenderMode } from './types.js';

export function renderPodman(given: Agent, opts: { mode: RenderMode }): Rendered {
  // kube play reads io.podman.annotations.* (privileged, userns, seccomp...) from the Pod: the
  // spec's annotations are not put there, and the denied ones are not kept in the ConfigMap either
  const { agent, warnings } = withSafeAnnotations(given);
  const profile = profileOf(agent);
  if (profile?.service) {
    throw new ClawpodError('USAGE', `agent ${agent.metadata.name} is a ${profile.name} service: its config and tokens are seeded by clawpod, which podman kube play cannot do`, {
      hint: `run it locally with \`clawpod run ${profile.name} --name ${agent.metadata.name}\`, or export --format kube for a cluster`,
    });
  }
  const meta = (name: string, component: Component) => ({ name, labels: labelsFor(agent, component) });
  const names = objectNames(agent);
  const { spec, claims } = buildPod(agent, { target: 'podman', openshift: false });
  const specMap: IConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(names.specConfigMap, 'spec'), data: { [SPEC_CONFIGMAP_KEY]: specAnnotation(agent) } };
  const pod: IPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    // the spec's own annotations stay in the ConfigMap's spec: on the Pod, a long one would stop kube play
    metadata: { ...meta(names.workload, 'agent'), annotations: { [SPEC_CONFIGMAP_ANNOTATION]: names.specConfigMap } },
    spec: {
      ...spec,
      restartPolicy: opts.mode === 'session' ? 'Never' : 'Always',
      volumes: [...(spec.volumes ?? []), ...claims.map((c) => ({ name: c.volume, persistentVolumeClaim: { claimName: c.claimName } }))],
    },
  };
  const objects: KubeObject[] = [specMap, ...claims.map((c) => pvc(agent, c, meta)), pod];
  return { objects, notes: renderNotes(agent, { mode: opts.mode, target: 'podman' }), warnings };
}
