// The activator's routing table (src/lifecycle/kube-activator.ts): which Host goes to which tenant
// StatefulSet, on which port, with which idle tiers. It lives in one ConfigMap of the activator's
// own namespace (clawpod-activator-routes), written by `clawpod tenant apply --kube` (one key per
// tenant, tenant-NAME.json) or by hand (routes.json): every key ending in .json holds a JSON array
// of rows. It is trusted because only the operator writes that namespace; nothing in a tenant's
// namespace (labels, annotations) is ever read to decide what to scale. Pure: parsed and checked
// here (test/unit/lifecycle-kube-routes.test.ts), one message per bad row naming it and the fix.
import { parseDuration } from '../spec/quantity.js';
import type { IdleAction } from './policy.js';

export const ROUTES_CONFIGMAP = 'clawpod-activator-routes';
export const ACTIVATOR_NAMESPACE = 'clawpod-system';
/** The key `clawpod tenant apply --kube` writes a tenant's row under. */
export const tenantRouteKey = (tenant: string) => `tenant-${tenant}.json`;

export interface RouteTier { readonly after: string; readonly action: IdleAction }

/** One row, as written in the ConfigMap. */
export interface KubeRoute {
  /** The Host header it answers (case-insensitive, without a port), e.g. alice.agents.example.com. */
  readonly host: string;
  readonly namespace: string;
  readonly statefulset: string;
  /** The container port the Pod serves on (the activator forwards to POD_IP:port). */
  readonly port: number;
  readonly idle: readonly RouteTier[];
}

/** A row checked, with its tiers in ms; pause tiers kept so the activator can say it skips them. */
export interface ParsedRoute extends KubeRoute {
  /** Where it came from: "tenant-alice.json[0]". */
  readonly source: string;
  readonly tiers: readonly { readonly afterMs: number; readonly action: IdleAction }[];
}

const HOST = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const KEYS = new Set(['host', 'namespace', 'statefulset', 'port', 'idle']);
const EXAMPLE = '{"host": "alice.agents.example.com", "namespace": "tenant-alice", "statefulset": "tenant-alice", "port": 8080, "idle": [{"after": "15m", "action": "stop"}]}';

/** A Host header as the table keys it: lower case, no port, no trailing dot. */
export function hostKey(host: string | undefined): string {
  return (host ?? '').trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

/**
 * Every row of the ConfigMap's data, checked. A bad row (or a key that is not a JSON array) is left
 * out with a problem saying which one, what is wrong and how to fix it; the good rows still route.
 * Two rows for one host: the second is refused (the first written, by key order, wins).
 */
export function parseRoutes(data: Readonly<Record<string, string>> | undefined, where = `configmap/${ROUTES_CONFIGMAP}`): { routes: ParsedRoute[]; problems: string[] } {
  const routes: ParsedRoute[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const key of Object.keys(data ?? {}).sort()) {
    if (!key.endsWith('.json')) continue;
    let rows: unknown;
    try { rows = JSON.parse(data![key]!); } catch (e) {
      problems.push(`${where} key ${key}: not JSON (${(e as Error).message}); fix: make it a JSON array of rows such as [${EXAMPLE}]`);
      continue;
    }
    if (!Array.isArray(rows)) {
      problems.push(`${where} key ${key}: expected a JSON array of rows, got ${rows === null ? 'null' : typeof rows}; fix: wrap the row in [ ], e.g. [${EXAMPLE}]`);
      continue;
    }
    rows.forEach((row: unknown, i) => {
      const source = `${key}[${i}]`;
      const r = checkRow(row);
      const name = row && typeof row === 'object' && typeof (row as { host?: unknown }).host === 'string' ? ` (host ${(row as { host: string }).host})` : '';
      if (typeof r === 'string') { problems.push(`${where} ${source}${name}: ${r}`); return; }
      const first = seen.get(r.host);
      if (first) { problems.push(`${where} ${source}${name}: host ${r.host} is already routed by ${first}; fix: remove one of the two rows, or give this one another host`); return; }
      seen.set(r.host, source);
      routes.push({ ...r, source });
    });
  }
  return { routes, problems };
}

/** One row checked: the route, or what is wrong with it and the fix. */
function checkRow(row: unknown): Omit<ParsedRoute, 'source'> | string {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return `expected an object such as ${EXAMPLE}`;
  const o = row as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !KEYS.has(k));
  if (extra.length) return `unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}; fix: a row has only host, namespace, statefulset, port and idle`;
  if (typeof o.host !== 'string' || !HOST.test(hostKey(o.host)) || hostKey(o.host) !== o.host.toLowerCase()) {
    return `host ${JSON.stringify(o.host)} is not a host name; fix: the name clients send in the Host header, without scheme or port, e.g. "alice.agents.example.com"`;
  }
  if (typeof o.namespace !== 'string' || !DNS_LABEL.test(o.namespace)) return `namespace ${JSON.stringify(o.namespace)} is not a namespace name; fix: the tenant's namespace, e.g. "tenant-alice"`;
  if (typeof o.statefulset !== 'string' || !DNS_LABEL.test(o.statefulset)) return `statefulset ${JSON.stringify(o.statefulset)} is not a StatefulSet name; fix: the tenant's StatefulSet, e.g. "tenant-alice"`;
  // the activator may scale any StatefulSet its ClusterRole reaches: a row only ever names a tenant's own
  if (!o.namespace.startsWith('tenant-') || o.statefulset !== o.namespace) return `namespace ${o.namespace} / statefulset ${o.statefulset} is not a tenant's (tenant-NAME in namespace tenant-NAME); fix: rows name tenants only, as \`clawpod tenant apply --kube\` writes them`;
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) return `port ${JSON.stringify(o.port)} is not a port; fix: the container port the Pod serves on, a number 1-65535, e.g. 8080`;
  const idle = o.idle ?? [];
  if (!Array.isArray(idle)) return `idle ${JSON.stringify(idle)} is not a list; fix: e.g. "idle": [{"after": "15m", "action": "stop"}], or [] to never scale it down`;
  const tiers: { afterMs: number; action: IdleAction }[] = [];
  for (const [j, t] of idle.entries()) {
    const tier = t as Record<string, unknown> | null;
    if (!tier || typeof tier !== 'object' || Object.keys(tier).some((k) => k !== 'after' && k !== 'action')) return `idle[${j}] ${JSON.stringify(t)} is not a tier; fix: {"after": "15m", "action": "stop"}`;
    if (tier.action !== 'stop' && tier.action !== 'pause') return `idle[${j}].action ${JSON.stringify(tier.action)} is not pause or stop; fix: "stop" (scale to 0; Kubernetes has no pause)`;
    const d = typeof tier.after === 'string' ? parseDuration(tier.after) : undefined;
    if (!d?.ok) return `idle[${j}].after ${JSON.stringify(tier.after)} is not a duration; fix: a string with a unit such as "30s", "15m" or "1h"`;
    if (tiers.length && d.value <= tiers[tiers.length - 1]!.afterMs) return `idle[${j}].after ${tier.after} is not longer than the tier before it; fix: list tiers in order of "after"`;
    tiers.push({ afterMs: d.value, action: tier.action });
  }
  return { host: o.host.toLowerCase(), namespace: o.namespace, statefulset: o.statefulset, port: o.port, idle: idle as RouteTier[], tiers };
}

/** When a route scales its StatefulSet to 0: its first stop tier (pause tiers do not exist on Kubernetes). */
export function stopAfterMs(r: Pick<ParsedRoute, 'tiers'>): number | undefined {
  return r.tiers.find((t) => t.action === 'stop')?.afterMs;
}
