// B11 (a) and (b): what the network lets through on Kubernetes.
// (a) `network: none` used to keep a DNS egress rule: a resolver that recurses to the internet
//     carries data out in the names it is asked for (exfiltration by lookups of
//     <data>.attacker.example). With nothing to reach, the rendered NetworkPolicy must allow no
//     egress at all; DNS stays only where something needs a name (network bridge, the HTTPS-only
//     profile, the gateway reached by its Service name).
// (b) deploy/'s control plane listened on 7878 (API) and 7879 (gateway) to any Pod of the cluster:
//     deploy/ must restrict its ingress, the gateway to session Pods, the API to this namespace.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { exportAgents } from '../../src/kube/export.js';
import { renderAgent } from '../../src/kube/render.js';
import type { INetworkPolicy, RenderOptions } from '../../src/kube/types.js';
import { parseAgents } from '../../src/spec/parse.js';
import { ROOT } from '../helpers/cli.js';
import { kubectlSync } from '../helpers/kube.js';

const spec = (network: string, extra = '') => parseAgents(`apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata: { name: exfil }
spec:
  image: localhost/clawpod-agent:latest
  network: ${network}
${extra}`, 'exfil.yaml')[0]!.agent;
const openclaw = () => parseAgents(readFileSync(join(ROOT, 'examples/openclaw.yaml'), 'utf8'), join(ROOT, 'examples/openclaw.yaml'))[0]!.agent;

function policy(a: ReturnType<typeof spec>, opts: Partial<RenderOptions> = {}): NonNullable<INetworkPolicy['spec']> {
  const np = renderAgent(a, { mode: 'session', ...opts }).objects.find((o) => o.kind === 'NetworkPolicy') as INetworkPolicy;
  return np.spec!;
}
const ports = (p: NonNullable<INetworkPolicy['spec']>) => (p.egress ?? []).flatMap((r) => (r.ports ?? []).map((x) => x.port));

describe('B11a: network none renders a NetworkPolicy that lets nothing out, not even DNS', () => {
  it.each([['kubernetes', false], ['OpenShift', true]] as const)('%s: policyTypes [Ingress, Egress], egress [] (no port 53/5353)', (_, openshift) => {
    for (const mode of ['session', 'persistent'] as const) {
      const p = policy(spec('none'), { mode, openshift });
      expect(p.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(p.egress).toEqual([]);
      expect(p.ingress).toEqual([]);
    }
    // and as exported: no DNS rule anywhere in the file
    const text = [...exportAgents([spec('none')], { format: 'kube', mode: 'session', openshift }).files.values()].join('');
    expect(text).not.toMatch(/port: (53|5353)\b/);
    expect(text).not.toMatch(/kube-dns|openshift-dns/);
  });

  it('network none with the gateway: the gateway port of the control plane Pods, and DNS for its Service name, nothing else', () => {
    const p = policy(spec('none'), { gatewayNamespace: 'clawpod' });
    expect(ports(p).sort()).toEqual([53, 53, 7879]);
    const gw = p.egress!.find((r) => r.ports?.some((x) => x.port === 7879))!;
    // deploy/deployment.yaml's labels: the selector must match the Pod that serves the gateway
    expect(gw.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'clawpod' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'clawpod', 'app.kubernetes.io/component': 'control-plane' } } }]);
    expect(p.egress!.every((r) => (r.to?.length ?? 0) > 0), 'no rule open to every destination').toBe(true);
  });

  it('bridge keeps all egress (DNS included); the HTTPS-only profile keeps DNS and 443', () => {
    expect(policy(spec('bridge')).egress).toEqual([{}]);
    const oc = renderAgent(openclaw(), { mode: 'persistent' }).objects.find((o) => o.kind === 'NetworkPolicy') as INetworkPolicy;
    expect(ports(oc.spec!).sort()).toEqual([443, 53, 53]);
  });
});

type Doc = { kind: string; metadata: { name: string }; spec?: { podSelector?: unknown; policyTypes?: string[]; ingress?: { from?: unknown[]; ports?: { port: number }[] }[] } };

describe('B11b: deploy/ limits who reaches the control plane', () => {
  it('kubectl kustomize deploy/ has an ingress NetworkPolicy on the control plane: 7879 from sessions, 7878 from this namespace only', () => {
    const r = kubectlSync(['kustomize', join(ROOT, 'deploy')]);
    expect(r.status, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc);
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } };
    const np = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'clawpod-controlplane');
    expect(np, 'NetworkPolicy clawpod-controlplane').toBeDefined();
    const s = np!.spec!;
    // it selects the control plane's Pod
    expect(s.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'clawpod', 'app.kubernetes.io/component': 'control-plane' } });
    expect(deployment.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'clawpod', 'app.kubernetes.io/component': 'control-plane' });
    expect(s.policyTypes).toEqual(['Ingress']);
    // exactly two rules, one port each: nothing else of the Pod is reachable
    expect(s.ingress!.map((x) => x.ports)).toEqual([[{ protocol: 'TCP', port: 7879 }], [{ protocol: 'TCP', port: 7878 }]]);
    const [gateway, api] = s.ingress!;
    expect(gateway!.from).toEqual([
      // the label the driver gives session Pods (src/control/session.ts → src/runtime/kubernetes/container-job.ts)
      { podSelector: { matchLabels: { 'dev.clawpod.role': 'session' } } },
      { namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'clawpod-agent', 'app.kubernetes.io/managed-by': 'clawpod' } } },
    ]);
    // the API: a podSelector alone is this namespace; sessions and agents are excluded
    expect(api!.from).toEqual([{ podSelector: { matchExpressions: [
      { key: 'dev.clawpod.role', operator: 'DoesNotExist' },
      { key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['clawpod-agent'] },
    ] } }]);
  });
});
