// The browser sidecar in an agent's Pod: a second container on the Pod's shared loopback. On a
// cluster it is a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+):
// it restarts alone when it crashes and ends with a session Job's agent. Podman 4.3's kube play
// knows no native sidecars, so there it is a plain second container. Pure.
import type { Agent } from '../spec/schema.js';
import { containerSecurityContext } from '../kube/security.js';
import type { IContainer, IPodSpec } from '../kube/types.js';
import { BROWSER_ENV, CDP_URL, proxyOf, sidecarCommand } from './sidecar.js';
import { BROWSER_IMAGE_REPO } from './image-ref.js';
import { EGRESS_PROXY, egressOf } from '../kube/egress.js';
import { agentProxyEnv } from '../egress/config.js';

export const BROWSER_CONTAINER = 'browser';
const BROWSER_TMP = 'browser-tmp';

export function withBrowser(agent: Agent, spec: IPodSpec, target: 'kubernetes' | 'podman'): IPodSpec {
  const b = agent.spec.browser;
  if (!b?.enabled) return spec;
  const image = b.image ?? `${BROWSER_IMAGE_REPO}:latest`;
  // spec.egress: the agent's proxy is the namespace's (src/kube/egress.ts sets the agent's env after this), and so is the browser's
  const env = egressOf(agent) ? agentProxyEnv(EGRESS_PROXY.name) : Object.fromEntries(agent.spec.env.map((e) => [e.name, e.value]));
  const limits = { cpu: String(agent.spec.resources.cpu), memory: String(b.memory) };
  const browser: IContainer = {
    name: BROWSER_CONTAINER,
    image,
    ...(image.startsWith('localhost/') ? { imagePullPolicy: 'IfNotPresent' } : {}),
    command: sidecarCommand(proxyOf(env)),
    resources: { limits, requests: { ...limits } },
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: BROWSER_TMP, mountPath: '/tmp' }],
    ...(target === 'kubernetes' ? { restartPolicy: 'Always' } : {}),
  };
  const containers = spec.containers.map((c, i) => (i === 0 ? { ...c, env: [...(c.env ?? []), { name: BROWSER_ENV, value: CDP_URL }] } : c));
  return {
    ...spec,
    containers: target === 'podman' ? [...containers, browser] : containers,
    ...(target === 'kubernetes' ? { initContainers: [...(spec.initContainers ?? []), browser] } : {}),
    volumes: [...(spec.volumes ?? []), { name: BROWSER_TMP, emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } }],
  };
}
