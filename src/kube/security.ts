// The hardened securityContext of every agent Pod: what `clawpod run` does locally (non-root,
// no capabilities, no-new-privileges, read-only root) in Kubernetes' words, meeting the
// "restricted" Pod Security Standard.
import { TIERS } from '../runtime/isolation.js';
import type { IsolationTier } from '../runtime/runtime.js';
import type { IPodSpec } from './types.js';

type PodSecurityContext = NonNullable<IPodSpec['securityContext']>;
type ContainerSecurityContext = NonNullable<NonNullable<IPodSpec['containers'][number]>['securityContext']>;

/** "1000:1000" → { uid: 1000, gid: 1000 }; "1000" → { uid: 1000 }. The schema checked the shape. */
export function parseUser(user: string): { uid: number; gid?: number } {
  const [uid, gid] = user.split(':');
  return gid === undefined ? { uid: Number(uid) } : { uid: Number(uid), gid: Number(gid) };
}

/**
 * runAsUser/runAsGroup from spec.user, fsGroup = the gid (the uid when there is none) so the
 * workspace and the secret files are the agent's. On OpenShift all three are left to the
 * restricted SCC, which assigns a namespace-specific uid range and refuses others.
 */
export function podSecurityContext(user: string, openshift: boolean): PodSecurityContext {
  const base: PodSecurityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  if (openshift) return base;
  const { uid, gid } = parseUser(user);
  return {
    ...base,
    runAsUser: uid,
    ...(gid !== undefined ? { runAsGroup: gid } : {}),
    fsGroup: gid ?? uid,
    // chown the volume only when its root is not ours yet: a large workspace is not walked every start
    fsGroupChangePolicy: 'OnRootMismatch',
  };
}

export function containerSecurityContext(): ContainerSecurityContext {
  return {
    runAsNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}

/** The supplementary groups an isolation tier gives the agent (src/runtime/isolation.ts: under gVisor it must be able to read node). */
export function tierGroups(tier: IsolationTier): Pick<PodSecurityContext, 'supplementalGroups'> {
  const groups = TIERS[tier].groups;
  return groups ? { supplementalGroups: [...groups] } : {};
}
