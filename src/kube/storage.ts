// StorageClasses: the one named by --storage-class (or the ControlPlane's runtime.storageClass)
// must exist before anything is applied, and the wait explains a claim that does not bind.
import { ClawpodError } from '../errors.js';
import { apiError, httpCode, type Cluster } from './cluster.js';

export interface StorageClass { metadata?: { name?: string; annotations?: Record<string, string> }; provisioner?: string; volumeBindingMode?: string }

const DEFAULT_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/** The cluster's StorageClasses; undefined when this user may not list them (the check is then left to the API server). */
export async function storageClasses(c: Cluster): Promise<StorageClass[] | undefined> {
  try {
    return (await c.api.getPath<{ items?: StorageClass[] }>('/apis/storage.k8s.io/v1/storageclasses')).items ?? [];
  } catch (e) {
    if (httpCode(e) === 403) return undefined;
    throw apiError(e, c, { action: 'list', object: 'storageclasses', done: [] });
  }
}

/** "fast (default), slow" – how a message lists the classes there are. */
export function describeClasses(classes: readonly StorageClass[]): string {
  if (classes.length === 0) return 'the cluster has no StorageClass at all';
  return `existing: ${classes.map((x) => `${x.metadata?.name ?? '?'}${x.metadata?.annotations?.[DEFAULT_ANNOTATION] === 'true' ? ' (default)' : ''}`).join(', ')}`;
}

/**
 * Refuses a StorageClass that does not exist, before anything is applied: a claim naming one
 * would stay Pending forever, and its Pod with it. A user who may not list StorageClasses is not
 * stopped (the claim's events say it later).
 */
export async function checkStorageClass(c: Cluster, name: string): Promise<void> {
  const classes = await storageClasses(c);
  if (classes === undefined || classes.some((x) => x.metadata?.name === name)) return;
  throw new ClawpodError('NOT_FOUND', `StorageClass ${name} does not exist on ${c.server} (context ${c.context}); ${describeClasses(classes)}`, {
    hint: classes.length ? `use one of them (--storage-class ${classes[0]!.metadata?.name ?? ''}), or leave --storage-class out for the cluster's default` : 'create a StorageClass (or ask a cluster admin for one), or leave --storage-class out and provide PersistentVolumes by hand',
    details: ['nothing was applied'],
  });
}
