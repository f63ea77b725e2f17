// Source `kubernetes`: a key of a Kubernetes Secret, read through the API with the user's
// kubeconfig (KUBECONFIG or ~/.kube/config, its current context). `secretRef.name` is
// `NAME` (the context's namespace, else "default") or `NAMESPACE/NAME`; `secretRef.key` the data
// key, optional when the Secret holds exactly one.
import { ClawpodError, messageOf } from '../../errors.js';
import type { SecretSource } from './types.js';

const DNS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseSecretName(name: string): { namespace?: string; name: string } | undefined {
  const parts = name.split('/');
  if (parts.length > 2 || !parts.every((p) => DNS.test(p))) return undefined;
  return parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

export const kubernetesSource: SecretSource = {
  name: 'kubernetes',
  async resolve(ref, ctx) {
    const target = parseSecretName(ref.name);
    if (!target) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: "${ref.name}" is not a Secret name`, { hint: 'use NAME or NAMESPACE/NAME (lowercase letters, digits, "-", ".")' });
    const [k8s, { openCluster }] = await Promise.all([import('@kubernetes/client-node'), import('../../kube/cluster.js')]);
    let c: ReturnType<typeof openCluster>;
    try {
      c = openCluster({ ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}), ...(target.namespace ? { namespace: target.namespace } : {}) });
    } catch (e) {
      // the same kubeconfig errors as `clawpod apply`, as a missing secret of this ref
      if (e instanceof ClawpodError) throw new ClawpodError('SECRET_MISSING', `${ctx.where}: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
      throw e;
    }
    const { kc, namespace, server } = c;
    let data: Record<string, string> | undefined;
    try {
      const s = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: target.name, namespace });
      data = s.data;
    } catch (e) {
      const raw = (e as { code?: unknown }).code;
      const code = typeof raw === 'number' ? raw : undefined;
      const where = `Secret ${namespace}/${target.name} on ${server}`;
      if (code === 404) throw new ClawpodError('SECRET_MISSING', `${ctx.where}: no ${where}`, { hint: `kubectl -n ${namespace} create secret generic ${target.name} --from-literal=KEY=VALUE` });
      if (code === 401 || code === 403) throw new ClawpodError('SECRET_MISSING', `${ctx.where}: not allowed to read ${where} (HTTP ${code})`, { hint: `ask for "get" on secrets in namespace ${namespace}, or use another context` });
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: cannot read ${where}: ${code ? `HTTP ${code}` : typeof raw === 'string' ? raw : messageOf(e)}`, { hint: `check that the cluster answers: kubectl --context ${c.context} cluster-info` });
    }
    const keys = Object.keys(data ?? {});
    const key = ref.key ?? (keys.length === 1 ? keys[0] : undefined);
    if (!key || data?.[key] === undefined) {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: Secret ${namespace}/${target.name} has ${ref.key ? `no key "${ref.key}"` : `${keys.length} keys, so secretRef.key must name one`}`, {
        hint: `its keys: ${keys.join(', ') || 'none'}`,
      });
    }
    return Buffer.from(data[key], 'base64').toString('utf8');
  },
};
