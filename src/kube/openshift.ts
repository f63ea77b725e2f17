// Is the cluster OpenShift? Its API groups say so (route.openshift.io, security.openshift.io),
// which any user can list. On OpenShift the renderer leaves runAsUser/fsGroup to the restricted
// SCC and exposes ports through a Route instead of an Ingress (render options `openshift`).
import type { KubeConfig } from '@kubernetes/client-node';
import { ClawpodError, messageOf } from '../errors.js';

export const OPENSHIFT_GROUPS = ['route.openshift.io', 'security.openshift.io'] as const;

/** Pure: from the names of the API groups the server lists. */
export function isOpenShift(groups: readonly string[]): boolean {
  return OPENSHIFT_GROUPS.some((g) => groups.includes(g));
}

export async function detectOpenShift(kc: KubeConfig): Promise<boolean> {
  const k8s = await import('@kubernetes/client-node');
  const server = kc.getCurrentCluster()?.server ?? '(no current cluster)';
  try {
    const list = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    return isOpenShift(list.groups.map((g) => g.name));
  } catch (e) {
    throw new ClawpodError('RUNTIME_UNAVAILABLE', `cannot list the API groups of ${server}: ${messageOf(e)}`, {
      hint: `check that the cluster answers: kubectl --context ${kc.getCurrentContext()} api-versions`,
    });
  }
}
