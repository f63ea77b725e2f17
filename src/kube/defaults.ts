// Kubernetes-only defaults of the renderers (the spec's own defaults stay in src/spec/defaults.ts).
// docs/kubernetes.md repeats them.

export const KUBE_DEFAULTS = Object.freeze({
  /** Session Jobs without lifecycle.ttl stop after this long (Job activeDeadlineSeconds). */
  sessionDeadline: '24h',
  /** A finished session Job (and its Pod, for logs) is kept this long. */
  ttlSecondsAfterFinished: 3600,
  /** PVC size when spec.workspace.size is not set (local volumes grow as needed; claims cannot). */
  workspaceSize: '1Gi',
  /** PVC size of a `type: data` mount, which has no size in the spec. */
  dataMountSize: '1Gi',
  /** Kustomize overlay folder name when no namespace names one. */
  overlay: 'default',
});

/** The annotation holding the whole validated spec as JSON: what makes import lossless. */
export const SPEC_ANNOTATION = 'clawpod.dev/spec';
/**
 * Podman 4.3's kube play refuses annotation values over 63 characters (it checks them as label
 * values), so its Pod names a ConfigMap holding the spec instead, under this data key.
 */
export const SPEC_CONFIGMAP_ANNOTATION = 'clawpod.dev/spec-configmap';
export const SPEC_CONFIGMAP_KEY = 'agent.json';

/** app.kubernetes.io/name of every object an Agent renders to. */
export const APP_NAME = 'clawpod-agent';
export const MANAGED_BY = 'clawpod';

export const K8S_LABELS = Object.freeze({
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
});

/** The one container of an agent's Pod. */
export const CONTAINER_NAME = 'agent';
/** Where spec.secrets with exposeAs: file appear, as on the local runtimes. */
export const SECRETS_VOLUME = 'secrets';
export const WORKSPACE_VOLUME = 'workspace';
export const TMP_VOLUME = 'tmp';
