// deploy/monitoring/: the ServiceMonitor, alert rules and Grafana dashboard must name metrics that
// exist (a renamed metric would leave an alert silently never firing) and select what deploy/ makes.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Metrics } from '../../src/control/metrics.js';
import { modelsValidate } from '../helpers/kube-schema.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const MON = join(DEPLOY, 'monitoring');
const yamlOf = (path: string) => parse(readFileSync(path, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests
const serviceMonitor = yamlOf(join(MON, 'servicemonitor.yaml'));
const rules = yamlOf(join(MON, 'prometheusrule.yaml'));
const dashboard = JSON.parse(readFileSync(join(MON, 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[]; templating: { list: { name: string }[] } };
interface Panel { id: number; type: string; title: string; gridPos: { x: number; w: number }; targets?: { expr: string; refId: string }[] }
interface Rule { alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const alerts: Rule[] = (rules.spec.groups as { rules: Rule[] }[]).flatMap((g) => g.rules);
const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Metrics from outside clawpod that the artifacts may use: the kubelet's, kube-state-metrics' and Prometheus' own. */
const EXTERNAL = new Set(['up', 'kubelet_volume_stats_available_bytes', 'kubelet_volume_stats_capacity_bytes', 'kube_namespace_labels']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, Grafana variables)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)]
    .filter((m) => !m[2] && !KEYWORDS.has(m[1]!))
    .map((m) => m[1]!);
}

/** Every series name a Metrics with one sample of each exposes (histograms' _bucket/_sum/_count included). */
async function exposedNames(): Promise<Set<string>> {
  const m = new Metrics({ sources: { agents: () => ({ running: 1 }), queueDepth: () => 1, sessionsActive: () => 1 } });
  m.agentStarted('podman', 'reference', 1);
  m.messageEnded('answered');
  m.followupDelivered(0.002);
  m.gatewayCall({ group: 'g', model: 'm', status: 200, inputTokens: 1, outputTokens: 1, spendUsd: 0.01 });
  m.budgetExhausted('g');
  m.error('RUNTIME_ERROR');
  m.agentRestarted('a');
  m.sessionFailed('g');
  const names = new Set<string>();
  for (const line of (await m.render()).split('\n')) {
    const typed = /^# TYPE (\S+) /.exec(line);
    if (typed) names.add(typed[1]!);
    else if (line && !line.startsWith('#')) names.add(/^[^{ ]+/.exec(line)![0]);
  }
  return names;
}

describe('deploy/monitoring', () => {
  it('the PromQL parser finds metric names and nothing else', () => {
    expect(metricNames('sum by (le, group) (rate(clawpod_x_bucket{group=~"$group",a="b{c}"}[$__rate_interval])) > 0 and on (namespace) up{job="j"} or kube_y')).toEqual(['clawpod_x_bucket', 'up', 'kube_y']);
    expect(metricNames('clawpod_process_resident_memory_bytes / 2^20')).toEqual(['clawpod_process_resident_memory_bytes']);
  });

  it('every metric an alert or a dashboard panel names exists in Metrics or is a known kubelet/kube-state metric', async () => {
    const exposed = await exposedNames();
    const used = new Set([...alerts.map((a) => a.expr), ...panelExprs].flatMap(metricNames));
    expect(used.size).toBeGreaterThan(15);
    const unknown = [...used].filter((n) => !exposed.has(n) && !EXTERNAL.has(n));
    expect(unknown).toEqual([]);
  });

  it('the dashboard has a panel for each of clawpod\'s own metrics, and well-formed panels', async () => {
    const own = [...(await exposedNames())].filter((n) => n.startsWith('clawpod_') && !/^clawpod_(process|nodejs)_/.test(n) && !/_(bucket|sum|count)$/.test(n));
    const used = new Set(panelExprs.flatMap(metricNames).map((n) => n.replace(/_bucket$/, '')));
    expect(own.length).toBe(13);
    expect(own.filter((n) => !used.has(n))).toEqual([]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.refId, p.title).toMatch(/^[A-Z]$/);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'group']);
  });

  it('every alert has a severity and a summary and description', () => {
    expect(alerts.map((a) => a.alert)).toEqual(['ClawpodMetricsDown', 'ClawpodSessionsFailing', 'ClawpodBudgetExhausted', 'ClawpodAgentCrashLooping', 'ClawpodVolumeNearlyFull']);
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary?.trim(), a.alert).toBeTruthy();
      expect(a.annotations?.description?.trim(), a.alert).toBeTruthy();
    }
    expect(rules.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rules.kind).toBe('PrometheusRule');
  });

  it('the volume alert is limited to the namespaces clawpod labels', () => {
    const expr = alerts.find((a) => a.alert === 'ClawpodVolumeNearlyFull')!.expr;
    // src/kube/defaults.ts (MANAGED_BY) on tenant and `clawpod apply` namespaces; deploy/kustomization.yaml's part-of on its own
    expect(expr).toContain('label_app_kubernetes_io_managed_by="clawpod"');
    expect(expr).toContain('label_app_kubernetes_io_part_of="clawpod"');
    expect(yamlOf(join(DEPLOY, 'kustomization.yaml')).labels[0].pairs['app.kubernetes.io/part-of']).toBe('clawpod');
  });

  it('the ServiceMonitor selects the control plane\'s Service in deploy/ on its api port, and not the activator\'s', () => {
    const service = yamlOf(join(DEPLOY, 'service.yaml'));
    const activator = yamlOf(join(DEPLOY, 'activator', 'service.yaml'));
    const selects = (labels: Record<string, string>) => Object.entries(serviceMonitor.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v);
    expect(serviceMonitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(serviceMonitor.kind).toBe('ServiceMonitor');
    expect(selects(service.metadata.labels)).toBe(true);
    expect(selects(activator.metadata.labels)).toBe(false);
    expect(serviceMonitor.spec.namespaceSelector.matchNames).toEqual([yamlOf(join(DEPLOY, 'kustomization.yaml')).namespace]);
    const [endpoint] = serviceMonitor.spec.endpoints as { port: string; path: string; authorization: { credentials: { name: string; key: string } } }[];
    expect((service.spec.ports as { name: string }[]).map((p) => p.name)).toContain(endpoint!.port);
    expect(endpoint!.path).toBe('/metrics');
    expect(endpoint!.authorization.credentials).toEqual({ name: 'clawpod-metrics-token', key: 'token' });
  });

  it('the NetworkPolicy lets Prometheus reach the control plane\'s Pods on the api port', () => {
    const np = yamlOf(join(MON, 'networkpolicy-prometheus.yaml'));
    const deployment = yamlOf(join(DEPLOY, 'deployment.yaml'));
    const service = yamlOf(join(DEPLOY, 'service.yaml'));
    modelsValidate(np);
    expect(np.spec.podSelector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const api = (service.spec.ports as { name: string; port: number }[]).find((p) => p.name === 'api')!;
    const container = (deployment.spec.template.spec.containers as { ports: { name: string; containerPort: number }[] }[])[0]!;
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: container.ports.find((p) => p.name === 'api')!.containerPort }]);
    expect(api.port).toBe(7878);
  });

  it('the kustomization lists every manifest here', () => {
    const k = yamlOf(join(MON, 'kustomization.yaml'));
    const listed = [...(k.resources as string[]), ...(k.configMapGenerator as { files: string[] }[]).flatMap((g) => g.files)];
    const here = readdirSync(MON).filter((f) => f !== 'kustomization.yaml' && /\.(ya?ml|json)$/.test(f));
    expect(listed.sort()).toEqual(here.sort());
  });
});
