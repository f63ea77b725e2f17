// A runtime-neutral ContainerSpec (what the control plane asks any runtime for) → a suspended
// Job, pure. The Kubernetes runtime driver creates it and starts it by unsuspending it; the Pod
// gets the same hardening as an exported agent (security.ts) and the Job the same envelope
// (defaults.ts). What has no meaning on a cluster node – a host folder – is refused, named.
import { ClawpodError } from '../../errors.js';
import { DEFAULTS } from '../../spec/defaults.js';
import { validatedDurationMs } from '../../spec/quantity.js';
import type { ContainerSpec, MountPlan } from '../runtime.js';
import { APP_NAME, CONTAINER_NAME, K8S_LABELS, KUBE_DEFAULTS, MANAGED_BY } from '../../kube/defaults.js';
import { processFields, runtimeClass } from '../../kube/pod.js';
import { containerSecurityContext, podSecurityContext, tierGroups } from '../../kube/security.js';
import type { IJob, IVolume, IVolumeMount } from '../../kube/types.js';

/** Every label of the ContainerSpec, as JSON: label values may hold what Kubernetes labels cannot (a timestamp, the spec). */
export const LABELS_ANNOTATION = 'clawpod.dev/labels';

export interface JobOptions {
  /** ServiceAccount of the Pod (it must exist; no token is mounted). */
  readonly serviceAccount: string;
  /** Job activeDeadlineSeconds (default: KUBE_DEFAULTS.sessionDeadline). */
  readonly deadlineSeconds?: number;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The labels Kubernetes accepts as they are (selectable); the others live in the annotation only. */
export function kubeLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k, v]) => LABEL_KEY.test(k) && k.length <= 316 && v.length <= 63 && LABEL_VALUE.test(v)));
}

function mounts(spec: ContainerSpec): { volumes: IVolume[]; volumeMounts: IVolumeMount[] } {
  const binds = spec.mounts.filter((m): m is Extract<MountPlan, { kind: 'bind' }> => m.kind === 'bind');
  if (binds.length > 0) {
    throw new ClawpodError('MOUNT_INVALID', `container ${spec.name}: a Kubernetes Pod cannot mount a folder of this machine (${binds.map((b) => `${b.source} → ${b.target}`).join(', ')})`, {
      hint: 'bake the folder into the image (clawpod image build --add DIR), or use the workspace volume; on Kubernetes follow-ups use stdin and the gateway is reached over TCP (spec.runtime.gatewayUrl)',
    });
  }
  const volumes: IVolume[] = [];
  const volumeMounts: IVolumeMount[] = [];
  spec.mounts.forEach((m, i) => {
    const name = `v${i}`;
    if (m.kind === 'volume') {
      volumes.push({ name, persistentVolumeClaim: { claimName: m.name, ...(m.readOnly ? { readOnly: true } : {}) } });
      volumeMounts.push({ name, mountPath: m.target, ...(m.readOnly ? { readOnly: true } : {}) });
    } else if (m.kind === 'tmpfs') {
      volumes.push({ name, emptyDir: { medium: 'Memory', sizeLimit: String(m.sizeBytes) } });
      volumeMounts.push({ name, mountPath: m.target });
    }
  });
  return { volumes, volumeMounts };
}

/** The Job for `spec`: suspended (the driver's startContainer unsuspends it), one Pod, never restarted. */
export function jobForContainer(spec: ContainerSpec, opts: JobOptions): IJob {
  if (spec.runtimeSecrets?.length) {
    throw new ClawpodError('USAGE', `container ${spec.name}: runtime secrets (exposeAs: podman) need Podman`, { hint: 'use exposeAs: file or env on Kubernetes' });
  }
  const labels = {
    ...kubeLabels(spec.labels),
    [K8S_LABELS.name]: APP_NAME, [K8S_LABELS.instance]: spec.name, [K8S_LABELS.managedBy]: MANAGED_BY, [K8S_LABELS.component]: 'agent',
  };
  const meta = { labels, annotations: { [LABELS_ANNOTATION]: JSON.stringify(spec.labels) } };
  const { volumes, volumeMounts } = mounts(spec);
  const cpu = `${Math.max(1, Math.round(spec.resources.cpus * 1000))}m`;
  const resources = { cpu, memory: String(spec.resources.memoryBytes) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: spec.name, ...meta },
    spec: {
      suspend: true,
      backoffLimit: 0,
      activeDeadlineSeconds: opts.deadlineSeconds ?? Math.ceil(validatedDurationMs(KUBE_DEFAULTS.sessionDeadline) / 1000),
      ttlSecondsAfterFinished: KUBE_DEFAULTS.ttlSecondsAfterFinished,
      template: {
        metadata: meta,
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: opts.serviceAccount,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: DEFAULTS.stopTimeoutSeconds,
          securityContext: { ...podSecurityContext(spec.user, false), ...tierGroups(spec.isolation) },
          ...runtimeClass(spec.isolation),
          containers: [{
            name: CONTAINER_NAME,
            ...processFields(spec.image, spec),
            env: Object.entries(spec.env).map(([name, value]) => ({ name, value })),
            // attach writes the session's messages here; stdinOnce false: a second attach (a restarted control plane) still can
            ...(spec.openStdin ? { stdin: true, stdinOnce: false } : {}),
            ...(spec.ports.length ? { ports: spec.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol === 'udp' ? 'UDP' : 'TCP' })) } : {}),
            resources: { limits: resources, requests: { ...resources } },
            securityContext: { ...containerSecurityContext(), readOnlyRootFilesystem: spec.security.readOnlyRootfs },
            volumeMounts,
          }],
          volumes,
        },
      },
    },
  };
}
