// The shapes the renderers produce: Kubernetes object types from kubernetes-models (types only,
// so nothing of it is loaded at run time), plus OpenShift's Route, which that package lacks.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

export type { IContainer } from 'kubernetes-models/v1/Container';
export type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
export type { IVolume } from 'kubernetes-models/v1/Volume';
export type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
export type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
export type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
export type { IPersistentVolumeClaimTemplate } from 'kubernetes-models/v1/PersistentVolumeClaimTemplate';
export type { IConfigMap, IDeployment, IJob, IStatefulSet, IIngress, INetworkPolicy, IPersistentVolumeClaim, IPod, IService, IServiceAccount };

/** route.openshift.io/v1 Route, the fields clawpod writes. */
export interface Route {
  apiVersion: 'route.openshift.io/v1';
  kind: 'Route';
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    to: { kind: 'Service'; name: string; weight: number };
    port: { targetPort: string };
    tls: { termination: 'edge'; insecureEdgeTerminationPolicy: 'Redirect' };
  };
}

export type KubeObject = IJob | IStatefulSet | IDeployment | IPod | IService | IServiceAccount | IPersistentVolumeClaim | IConfigMap | INetworkPolicy | IIngress | Route;

/** Session agents run to completion as a Job; persistent agents stay up as a one-replica StatefulSet. */
export type RenderMode = 'session' | 'persistent';

export interface RenderOptions {
  readonly mode: RenderMode;
  /** Written into every object's metadata.namespace; absent: the namespace kubectl/Kustomize picks. */
  readonly namespace?: string;
  /** Leave runAsUser/runAsGroup/fsGroup to the restricted SCC; a Route instead of an Ingress; OpenShift DNS. */
  readonly openshift?: boolean;
  /** storageClassName of every claim; absent: the cluster's default StorageClass. */
  readonly storageClass?: string;
  /** Namespace of the clawpod LLM gateway: agents without network may reach its Pods (docs/kubernetes.md). */
  readonly gatewayNamespace?: string;
}

export interface Rendered {
  readonly objects: KubeObject[];
  /**
   * What the user must know: what is not portable, what must exist first (the Secret's keys).
   * Never secret values: a spec holds none.
   */
  readonly notes: string[];
  /** What the spec asked for and was not rendered because it would loosen the Pod's security (src/kube/annotations.ts). */
  readonly warnings: string[];
}
