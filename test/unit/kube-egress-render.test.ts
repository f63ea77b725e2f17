// spec.egress through renderAgent and export (src/kube/render.ts, network.ts): the namespace's
// proxy rendered with the agent, the agent's NetworkPolicy narrowed to DNS, the gateway and the
// proxy (no "everything", no HTTPS to the internet), the agent's container pointed at the proxy.
// Agents without spec.egress render as before.
import { describe, expect, it } from 'vitest';
import { parseAgents } from '../../src/spec/parse.js';
import type { Agent } from '../../src/spec/schema.js';
import { EgressSchema } from '../../src/spec/egress.js';
import { EGRESS_PROXY } from '../../src/kube/egress.js';
import { exportAgents } from '../../src/kube/export.js';
import { importManifests } from '../../src/kube/import.js';
import { renderAgent } from '../../src/kube/render.js';
import type { INetworkPolicy, IStatefulSet } from '../../src/kube/types.js';

const base = (network: 'bridge' | 'none'): Agent => parseAgents(`apiVersion: clawpod.dev/v1alpha1
kind: Agent
metadata: {name: web}
spec: {image: localhost/clawpod-agent:latest, network: ${network}}
`, 'test.yaml')[0]!.agent;
// spec.egress as the schema gives it (set on the parsed agent: this file tests the renderers, not the parser)
const withEgress = (a: Agent, allow: string[]): Agent => ({ ...a, spec: { ...a.spec, egress: EgressSchema.parse({ allow }) } } as Agent);
const policyOf = (objs: { kind?: string; metadata?: { name?: string } }[], name = 'web') =>
  objs.find((o): o is INetworkPolicy => o.kind === 'NetworkPolicy' && o.metadata?.name === name)!;

describe('renderAgent with spec.egress', () => {
  it('renders the proxy in the agent\'s namespace before the workload', () => {
    const r = renderAgent(withEgress(base('bridge'), ['api.github.com:443']), { mode: 'persistent', namespace: 'team-a' });
    const kinds = r.objects.map((o) => `${o.kind}/${o.metadata!.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['ConfigMap/clawpod-egress', 'Deployment/clawpod-egress', 'Service/clawpod-egress', 'NetworkPolicy/clawpod-egress']));
    expect(kinds.indexOf('Deployment/clawpod-egress')).toBeLessThan(kinds.indexOf('StatefulSet/web'));
    expect(r.objects.filter((o) => o.metadata!.name === 'clawpod-egress').every((o) => o.metadata!.namespace === 'team-a')).toBe(true);
    expect(r.notes.some((n) => n.startsWith('egress: '))).toBe(true);
  });

  it('the agent may reach only DNS, the gateway and the proxy — not everything, even with network bridge', () => {
    const r = renderAgent(withEgress(base('bridge'), ['api.github.com:443']), { mode: 'session', gatewayNamespace: 'clawpod' });
    const egress = policyOf(r.objects).spec!.egress!;
    expect(egress).not.toContainEqual({});
    expect(egress.map((e) => e.to?.[0]?.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? e.to?.[0]?.podSelector?.matchLabels?.['app.kubernetes.io/name'])).toEqual(['kube-system', 'clawpod', 'clawpod-egress']);
    expect(egress[2]).toEqual({ to: [{ podSelector: { matchLabels: EGRESS_PROXY.pods } }], ports: [{ protocol: 'TCP', port: 3128 }, { protocol: 'UDP', port: 5353 }] });
    // no ipBlock anywhere: nothing outside the cluster directly
    expect(JSON.stringify(egress)).not.toContain('ipBlock');
  });

  it('points the agent container at the proxy by its Service name', () => {
    const r = renderAgent(withEgress(base('none'), ['*.example.com:443']), { mode: 'persistent' });
    const sts = r.objects.find((o): o is IStatefulSet => o.kind === 'StatefulSet')!;
    const env = sts.spec!.template.spec!.containers[0]!.env ?? [];
    expect(env).toEqual(expect.arrayContaining([{ name: 'HTTPS_PROXY', value: 'http://clawpod-egress:3128' }, { name: 'https_proxy', value: 'http://clawpod-egress:3128' }]));
  });

  it('the LLM gateway is reached directly (NO_PROXY): the policy allows it, the proxy\'s list does not name it', () => {
    const a = withEgress(base('bridge'), ['api.github.com:443']);
    const wired = { ...a, spec: { ...a.spec, llm: { url: 'http://clawpod.cp.svc:7879' } } } as Agent;
    const r = renderAgent(wired, { mode: 'persistent', gatewayNamespace: 'cp' });
    const env = r.objects.find((o): o is IStatefulSet => o.kind === 'StatefulSet')!.spec!.template.spec!.containers[0]!.env ?? [];
    expect(env).toContainEqual({ name: 'NO_PROXY', value: 'clawpod.cp.svc,clawpod.cp.svc.cluster.local' });
    expect(env).toContainEqual({ name: 'no_proxy', value: 'clawpod.cp.svc,clawpod.cp.svc.cluster.local' });
  });

  it('without spec.egress nothing changes: no proxy, network bridge still reaches everything', () => {
    const r = renderAgent(base('bridge'), { mode: 'session' });
    expect(r.objects.some((o) => o.metadata!.name === 'clawpod-egress')).toBe(false);
    expect(policyOf(r.objects).spec!.egress).toEqual([{}]);
  });

  it('export --format kube carries the proxy too', () => {
    const out = exportAgents([withEgress(base('bridge'), ['api.github.com:443'])], { format: 'kube', mode: 'persistent', namespace: 'team-a' });
    const text = out.files.get('')!;
    expect(text).toContain('kind: Deployment');
    expect(text).toContain('/opt/clawpod/bin/clawpod-egress');
    expect(text).toContain('api.github.com:443');
  });
});

describe('import of an export with spec.egress', () => {
  it('takes the proxy for what it is: no agent of its own', () => {
    const out = exportAgents([withEgress(base('bridge'), ['api.github.com:443'])], { format: 'kube', mode: 'persistent', namespace: 'team-a' });
    const back = importManifests(out.files.get('')!, 'export.yaml');
    expect(back.agents.map((a) => a.metadata.name)).toEqual(['web']);
    expect(back.warnings.join('\n')).not.toContain('clawpod-egress');
  });
});
