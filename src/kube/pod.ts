// An agent's Pod spec, shared by the Kubernetes workloads (Job, StatefulSet) and the Pod that
// `podman kube play` runs. Pure: every choice comes from the spec and the target.
import { ClawpodError } from '../errors.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent, PortSpec } from '../spec/schema.js';
import { CONTAINER_NAME, KUBE_DEFAULTS, SECRETS_VOLUME, TMP_VOLUME, WORKSPACE_VOLUME } from './defaults.js';
import { mountClaimName, mountVolumeName, objectNames } from './names.js';
import { withPayload } from './payload.js';
import { withBrowser } from '../browser/kube.js';
import { containerSecurityContext, podSecurityContext, tierGroups } from './security.js';
import type { IContainer, IEnvVar, IPodSpec, IVolume, IVolumeMount } from './types.js';

export type Target = 'kubernetes' | 'podman';

/** The RuntimeClass a tier asks the cluster for: gVisor's, or Kata Containers' (a VM per Pod) for microvm. */
export function runtimeClass(tier: Agent['spec']['isolation']): { runtimeClassName?: string } {
  return tier === 'runc' ? {} : { runtimeClassName: tier === 'gvisor' ? 'gvisor' : 'kata' };
}

/** A volume the Pod needs from a PersistentVolumeClaim: a PVC object, or a StatefulSet claim template. */
export interface ClaimWanted {
  readonly volume: string;
  readonly claimName: string;
  readonly size: string;
  readonly component: 'workspace' | 'data';
}

export interface PodParts {
  /** Without the claim volumes: the caller adds them (or claim templates stand in for them). */
  readonly spec: IPodSpec;
  readonly claims: ClaimWanted[];
}

/** A port's name in the container and the Service: the spec's, or "tcp-8080". */
export function portName(p: PortSpec): string {
  return p.name ?? `${p.protocol}-${p.containerPort}`;
}

export function protocolOf(p: PortSpec): 'TCP' | 'UDP' {
  return p.protocol === 'udp' ? 'UDP' : 'TCP';
}

/**
 * tools/skills/mcp mounts are code the agent runs: an empty volume in their place would start an
 * agent without its tools, so they are refused (bake them into the image). data mounts become
 * claims; their host contents are not copied. Every refused mount is named at once.
 */
function checkMounts(agent: Agent): void {
  const bad = agent.spec.mounts.map((m, i) => ({ m, i })).filter(({ m }) => m.type !== 'data');
  if (bad.length === 0) return;
  throw new ClawpodError('MOUNT_INVALID', `agent ${agent.metadata.name}: ${bad.length === 1 ? 'a host mount' : `${bad.length} host mounts`} cannot be exported (a host folder does not travel with the spec)`, {
    details: bad.map(({ m, i }) => `spec.mounts[${i}]: ${m.type} mount ${m.hostPath} → ${m.containerPath}`),
    hint: `bake the folders into the image (clawpod image build --from ${agent.spec.image} --add DIR --tag IMAGE), set spec.image to it and remove these mounts; type: data mounts export as PersistentVolumeClaims`,
  });
}

function env(agent: Agent): IEnvVar[] {
  const s = agent.spec;
  const byName = new Map<string, IEnvVar>();
  // as the local planner: WORKSPACE, then the spec's env, then secrets exposed as variables
  if (s.workspace.enabled) byName.set('WORKSPACE', { name: 'WORKSPACE', value: s.workspace.mountPath });
  for (const e of s.env) byName.set(e.name, { name: e.name, value: e.value });
  const secretName = objectNames(agent).secret;
  for (const sec of s.secrets.filter((x) => x.exposeAs === 'env')) {
    byName.delete(sec.name); // re-inserted last, as the local runtime's order
    byName.set(sec.name, { name: sec.name, valueFrom: { secretKeyRef: { name: secretName, key: sec.name } } });
  }
  return [...byName.values()];
}

function ports(agent: Agent, target: Target): NonNullable<IContainer['ports']> {
  return agent.spec.ports.map((p) => ({
    name: portName(p),
    containerPort: p.containerPort,
    protocol: protocolOf(p),
    // Podman publishes hostPort like `clawpod run` does; a cluster node's hostPort is not that, so it is left out
    ...(target === 'podman' && p.hostPort !== 'auto' ? { hostPort: p.hostPort, hostIP: p.hostIP } : {}),
  }));
}

/** What the agent container runs: image and pull policy, command, args, working folder (a rendered agent and a driver's session alike). */
export function processFields(image: string, p: { readonly command?: readonly string[] | undefined; readonly args?: readonly string[] | undefined; readonly workingDir?: string | undefined }): Pick<IContainer, 'image' | 'imagePullPolicy' | 'command' | 'args' | 'workingDir'> {
  return {
    image,
    // a localhost/ image exists only where it was built or loaded (kind load, podman): never pull it
    ...(image.startsWith('localhost/') ? { imagePullPolicy: 'IfNotPresent' } : {}),
    ...(p.command ? { command: [...p.command] } : {}),
    ...(p.args ? { args: [...p.args] } : {}),
    ...(p.workingDir ? { workingDir: p.workingDir } : {}),
  };
}

export function buildPod(agent: Agent, opts: { target: Target; openshift: boolean }): PodParts {
  checkMounts(agent);
  const s = agent.spec;
  const names = objectNames(agent);
  const volumes: IVolume[] = [{ name: TMP_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: DEFAULTS.tmpSize } }];
  const mounts: IVolumeMount[] = [{ name: TMP_VOLUME, mountPath: '/tmp' }];
  const claims: ClaimWanted[] = [];

  if (s.workspace.enabled) {
    claims.push({ volume: WORKSPACE_VOLUME, claimName: names.workspaceClaim, size: String(s.workspace.size ?? KUBE_DEFAULTS.workspaceSize), component: 'workspace' });
    mounts.push({ name: WORKSPACE_VOLUME, mountPath: s.workspace.mountPath });
  }
  for (const m of s.mounts) {
    const volume = mountVolumeName(m.containerPath);
    claims.push({ volume, claimName: mountClaimName(agent, m.containerPath), size: KUBE_DEFAULTS.dataMountSize, component: 'data' });
    mounts.push({ name: volume, mountPath: m.containerPath, ...(m.readOnly ? { readOnly: true } : {}) });
  }
  // exposeAs podman is a file at the same path locally (from a Podman secret): a file here too
  const fileSecrets = s.secrets.filter((x) => x.exposeAs !== 'env');
  if (fileSecrets.length > 0) {
    if (opts.target === 'podman') {
      throw new ClawpodError('USAGE', `agent ${agent.metadata.name}: secrets exposed as files cannot be exported for podman kube play`, {
        details: fileSecrets.map((x) => `spec.secrets: ${x.name} (exposeAs: ${x.exposeAs})`),
        hint: 'Podman 4.3 kube play fails on secret volumes: run the agent with `clawpod run -f`, export --format kube, or set exposeAs: env on these secrets',
      });
    }
    // the kubelet writes secret files as root:fsGroup, so 0440 (not the local 0400) lets the agent's group read them
    volumes.push({ name: SECRETS_VOLUME, secret: { secretName: names.secret, defaultMode: 0o440, items: fileSecrets.map((x) => ({ key: x.name, path: x.name })) } });
    mounts.push({ name: SECRETS_VOLUME, mountPath: DEFAULTS.secretsMountPath, readOnly: true });
  }

  const workingDir = s.workingDir ?? (s.workspace.enabled ? s.workspace.mountPath : undefined);
  const resources = { cpu: String(s.resources.cpu), memory: String(s.resources.memory) };
  const containerPorts = ports(agent, opts.target);
  const container: IContainer = {
    name: CONTAINER_NAME,
    ...processFields(s.image, { command: s.command, args: s.args, workingDir }),
    env: env(agent),
    ...(containerPorts.length > 0 ? { ports: containerPorts } : {}),
    // requests = limits: the local limits are hard limits; equal requests make the Pod "Guaranteed"
    resources: { limits: resources, requests: { ...resources } },
    securityContext: containerSecurityContext(),
    volumeMounts: mounts,
  };

  const spec: IPodSpec = {
    ...(opts.target === 'kubernetes' ? { serviceAccountName: names.serviceAccount } : {}),
    automountServiceAccountToken: false,
    // no NAME_SERVICE_HOST variables for every Service of the namespace
    enableServiceLinks: false,
    terminationGracePeriodSeconds: DEFAULTS.stopTimeoutSeconds,
    securityContext: { ...podSecurityContext(s.user, opts.openshift), ...tierGroups(s.isolation) },
    ...runtimeClass(s.isolation),
    containers: [container],
    volumes,
  };
  // a payload profile's probes and config seeding (src/kube/payload.ts)
  const portOf = (n: number) => { const p = s.ports.find((x) => x.containerPort === n); return p ? portName(p) : undefined; };
  return { spec: withPayload(agent, withBrowser(agent, spec, opts.target), portOf), claims };
}
