// L2: the activator (clawpod activator) holds a ClusterRole that may scale StatefulSets anywhere, and
// faces the tenants' traffic. Attack: whoever gets a row into its routes ConfigMap (a compromised
// tooling account, a hand edit) points a host at a StatefulSet that is not a tenant's — the
// cluster's DNS, another tenant's under this one's host — to have it scaled to 0 by idleness, or
// claims a host twice to take another tenant's traffic. Every such row is refused with a message;
// the good rows keep routing.
import { describe, expect, it } from 'vitest';
import { parseRoutes } from '../../src/lifecycle/kube-routes.js';

const row = (o: Record<string, unknown> = {}) => ({ host: 'alice.agents.example.com', namespace: 'tenant-alice', statefulset: 'tenant-alice', port: 8080, idle: [{ after: '15m', action: 'stop' }], ...o });

describe('L2 activator routes name tenants only', () => {
  it('a row aimed at a StatefulSet that is not a tenant\'s own is refused; the tenants\' rows still route', () => {
    const hostile = [
      row({ host: 'dns.example.com', namespace: 'kube-system', statefulset: 'coredns' }),
      row({ host: 'db.example.com', namespace: 'prod', statefulset: 'postgres' }),
      row({ host: 'alice2.example.com', namespace: 'tenant-alice', statefulset: 'tenant-bob' }),
      row({ host: 'x.example.com', namespace: 'tenant-', statefulset: 'tenant-' }),
    ];
    const { routes, problems } = parseRoutes({ 'routes.json': JSON.stringify([...hostile, row()]) });
    expect(routes.map((r) => `${r.namespace}/${r.statefulset}`)).toEqual(['tenant-alice/tenant-alice']);
    expect(problems).toHaveLength(hostile.length);
    for (const p of problems) expect(p).toMatch(/is not a (tenant's|namespace name)/);
  });

  it('a second row for a host already routed does not take its traffic', () => {
    const { routes, problems } = parseRoutes({
      'tenant-alice.json': JSON.stringify([row()]),
      'tenant-mallory.json': JSON.stringify([row({ namespace: 'tenant-mallory', statefulset: 'tenant-mallory' })]),
    });
    expect(routes.map((r) => r.namespace)).toEqual(['tenant-alice']);
    expect(problems).toEqual([expect.stringMatching(/alice\.agents\.example\.com/)]);
  });
});
