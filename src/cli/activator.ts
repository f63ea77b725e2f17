// `clawpod activator`: the wake-on-request front for tenants in a cluster (src/lifecycle/kube-activator.ts,
// deploy/activator/). Routes by Host from the ConfigMap clawpod-activator-routes of its namespace,
// scales an idle tenant's StatefulSet to 0 and back to 1 on a request. Log lines go to stderr.
import { existsSync, readFileSync } from 'node:fs';
import { ClawpodError } from '../errors.js';
import type { Ctx } from './context.js';

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface ActivatorFlags { listen?: string; namespace?: string; context?: string; wakeTimeout?: string; interval?: string; configMap?: string }

export default async function activatorVerb(ctx: Ctx, o: ActivatorFlags): Promise<number> {
  const { parseDuration } = await import('../spec/quantity.js');
  const dur = (flag: string, v: string) => {
    const r = parseDuration(v);
    if (!r.ok) throw new ClawpodError('USAGE', `${flag} ${v} is not a duration`, { hint: `use ${r.expected}` });
    return r.value;
  };
  const wakeTimeoutMs = dur('--wake-timeout', o.wakeTimeout ?? '30s');
  const intervalMs = dur('--interval', o.interval ?? '10s');
  const listen = o.listen ?? '0.0.0.0:8080';
  const m = /^(.*):(\d+)$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port < 0 || port > 65535) throw new ClawpodError('USAGE', `--listen ${listen} is not HOST:PORT`, { hint: 'e.g. --listen 0.0.0.0:8080' });
  const host = m[1].replace(/^\[|\]$/g, '');
  const { openCluster } = await import('../kube/cluster.js');
  const { ACTIVATOR_NAMESPACE, ROUTES_CONFIGMAP } = await import('../lifecycle/kube-routes.js');
  const { activatorServer, KubeActivator } = await import('../lifecycle/kube-activator.js');
  const cluster = openCluster({ ...(ctx.config.kubeconfig ? { kubeconfig: ctx.config.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) });
  // in a Pod: its own namespace, where only the operator writes the routes
  const namespace = o.namespace ?? (existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : ACTIVATOR_NAMESPACE);
  const configMap = o.configMap ?? ROUTES_CONFIGMAP;
  const a = new KubeActivator({ cluster, namespace, configMap, say: ctx.say });
  await a.start(intervalMs);
  const server = activatorServer(a, { wakeTimeoutMs });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve); });
  const addr = server.address();
  const at = addr && typeof addr === 'object' ? `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` : listen;
  ctx.say(`clawpod activator on http://${at} (cluster ${cluster.server}; routes from configmap ${namespace}/${configMap}: ${a.size}; idle checked every ${Math.round(intervalMs / 1000)} s; requests held ${Math.round(wakeTimeoutMs / 1000)} s, then 503 + Retry-After)`);
  await new Promise<void>((resolve) => {
    const stop = () => { ctx.say('activator: stopping'); resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await a.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
