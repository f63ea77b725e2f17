// What to tell a user whose runtime lacks a facet (runtime.ts): the one place these messages live,
// so a driver without a facet simply has none of its methods instead of stubs that throw.
import { ClawpodError } from '../errors.js';
import { hasFacet, hasPausing, type Facet, type Facets, type Runtime } from './runtime.js';

const NEEDS: Readonly<Record<Facet, string>> = {
  networks: 'named networks',
  archives: 'copying files through the runtime',
  images: 'an image store on this host',
  secrets: 'runtime secrets (Podman secrets)',
  pausing: 'freezing a container',
  renaming: 'renaming a container',
};

/** What to do instead, on a cluster (`ns`: its namespace). */
const ON_KUBERNETES: Readonly<Record<Facet, (ns: string) => string>> = {
  networks: () => 'a tenant on Kubernetes is a namespace of its own: use --kube (docs/fleet.md)',
  archives: (ns) => `kubectl -n ${ns} cp copies files into and out of a Pod (kubectl -n ${ns} get pods -l app.kubernetes.io/instance=NAME names it)`,
  images: () => 'build it locally (clawpod image build) and push it to a registry the nodes reach, or load it into the nodes (kind load docker-image); the kubelet pulls images itself when the Pod starts and garbage-collects unused ones',
  secrets: () => 'use exposeAs: file or env; on Kubernetes create the Secret NAME-secrets with kubectl (docs/kubernetes.md)',
  pausing: () => 'a Pod cannot be frozen through the API; scale the workload down or delete the Pod',
  renaming: () => 'Kubernetes objects cannot be renamed: delete and apply again under the new name',
};

/** What to do instead on an engine (Docker) that lacks the facet. */
const ON_ENGINE: Readonly<Partial<Record<Facet, string>>> = {
  secrets: 'use exposeAs: file (the default) on this runtime',
};

/** The USAGE error for `what` on a runtime without `facet`. */
export function missingFacet(rt: Runtime, facet: Facet, what: string): ClawpodError {
  if (rt.kind === 'kubernetes') {
    return new ClawpodError('USAGE', `${what} is not something a Kubernetes cluster does through clawpod (it needs ${NEEDS[facet]})`, { hint: ON_KUBERNETES[facet](rt.namespace ?? 'NAMESPACE') });
  }
  return new ClawpodError('USAGE', `${what} needs ${NEEDS[facet]}, which ${rt.kind} at ${rt.endpoint} does not offer`, { hint: ON_ENGINE[facet] ?? 'use Podman (clawpod doctor finds it)' });
}

/** The runtime, typed with `facet`, or the error that says what to do instead. `what`: the action, for the message. */
export function requireFacet<F extends Facet>(rt: Runtime, facet: F, what: string): Runtime & Facets[F] {
  if (!hasFacet(rt, facet)) throw missingFacet(rt, facet, what);
  return rt;
}

/** Thaws a paused container; a runtime without pausing never has one. */
export async function unpauseIfPaused(rt: Runtime, c: { readonly id: string; readonly state: string }): Promise<void> {
  if (c.state === 'paused' && hasPausing(rt)) await rt.unpauseContainer(c.id);
}
