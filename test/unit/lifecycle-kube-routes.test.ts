// The activator's routing table (src/lifecycle/kube-routes.ts): good rows route, each bad row is
// left out with a message naming the key, the row, what is wrong and the fix; and the row
// `clawpod tenant apply --kube` writes for a plan with idle tiers (kube-render.ts tenantRoute).
import { describe, expect, it } from 'vitest';
import { renderTenant, tenantRoute } from '../../src/fleet/kube-render.js';
import { PlanSchema, TenantSchema } from '../../src/fleet/schema.js';
import { hostKey, parseRoutes, stopAfterMs, tenantRouteKey } from '../../src/lifecycle/kube-routes.js';

const row = (o: Record<string, unknown> = {}) => ({ host: 'alice.agents.example.com', namespace: 'tenant-alice', statefulset: 'tenant-alice', port: 8080, idle: [{ after: '15m', action: 'stop' }], ...o });
const one = (r: unknown) => parseRoutes({ 'routes.json': JSON.stringify([r]) });

describe('activator routes table', () => {
  it('parses rows from every .json key, tiers in ms, hosts matched without case or port', () => {
    const { routes, problems } = parseRoutes({
      'routes.json': JSON.stringify([row({ host: 'Bob.Agents.example.com', namespace: 'tenant-bob', statefulset: 'tenant-bob', idle: [{ after: '5m', action: 'pause' }, { after: '1h', action: 'stop' }] })]),
      [tenantRouteKey('alice')]: JSON.stringify([row()]),
      'README': 'not a route',
    });
    expect(problems).toEqual([]);
    expect(routes.map((r) => [r.host, r.source])).toEqual([['bob.agents.example.com', 'routes.json[0]'], ['alice.agents.example.com', 'tenant-alice.json[0]']]);
    expect(routes[0]!.tiers).toEqual([{ afterMs: 300_000, action: 'pause' }, { afterMs: 3_600_000, action: 'stop' }]);
    expect(stopAfterMs(routes[0]!)).toBe(3_600_000); // the pause tier does not exist on Kubernetes
    expect(stopAfterMs({ tiers: [{ afterMs: 1, action: 'pause' }] })).toBeUndefined();
    expect(hostKey('Alice.Agents.Example.com:8080')).toBe('alice.agents.example.com');
    expect(parseRoutes(undefined)).toEqual({ routes: [], problems: [] });
  });

  it('refuses each bad row with a message naming it, the problem and the fix; the good rows still route', () => {
    const cases: [unknown, RegExp][] = [
      [row({ host: 'http://alice.example.com' }), /routes\.json\[0\] \(host http:\/\/alice\.example\.com\): host "http:\/\/alice\.example\.com" is not a host name; fix: the name clients send in the Host header, without scheme or port/],
      [row({ namespace: 'Tenant_Alice' }), /routes\.json\[0\] \(host alice\.agents\.example\.com\): namespace "Tenant_Alice" is not a namespace name; fix: the tenant's namespace/],
      [row({ statefulset: undefined }), /statefulset undefined is not a StatefulSet name; fix: the tenant's StatefulSet, e\.g\. "tenant-alice"/],
      [row({ port: '8080' }), /port "8080" is not a port; fix: the container port the Pod serves on, a number 1-65535/],
      [row({ port: 70000 }), /port 70000 is not a port/],
      [row({ idle: [{ after: 600, action: 'stop' }] }), /idle\[0\]\.after 600 is not a duration; fix: a string with a unit such as "30s", "15m" or "1h"/],
      [row({ idle: [{ after: '10m', action: 'delete' }] }), /idle\[0\]\.action "delete" is not pause or stop; fix: "stop" \(scale to 0; Kubernetes has no pause\)/],
      [row({ idle: [{ after: '10m', action: 'pause' }, { after: '5m', action: 'stop' }] }), /idle\[1\]\.after 5m is not longer than the tier before it; fix: list tiers in order of "after"/],
      [row({ idle: { after: '10m' } }), /idle \{"after":"10m"\} is not a list; fix:/],
      // a route is never a way to scale something that is not a tenant's StatefulSet
      [row({ namespace: 'kube-system', statefulset: 'coredns' }), /namespace kube-system \/ statefulset coredns is not a tenant's \(tenant-NAME in namespace tenant-NAME\)/],
      [row({ statefulset: 'tenant-bob' }), /namespace tenant-alice \/ statefulset tenant-bob is not a tenant's/],
      [row({ replicas: 2 }), /unknown field replicas; fix: a row has only host, namespace, statefulset, port and idle/],
      ['alice', /routes\.json\[0\]: expected an object such as \{"host"/],
    ];
    for (const [r, msg] of cases) {
      const { routes, problems } = one(r);
      expect(routes, JSON.stringify(r)).toEqual([]);
      expect(problems, JSON.stringify(r)).toHaveLength(1);
      expect(problems[0]).toMatch(/^configmap\/clawpod-activator-routes /);
      expect(problems[0]).toMatch(msg);
    }
    const mixed = parseRoutes({ 'routes.json': JSON.stringify([row({ port: 0 }), row({ host: 'carol.example.com' })]) });
    expect(mixed.routes.map((r) => r.host)).toEqual(['carol.example.com']);
    expect(mixed.problems).toEqual([expect.stringMatching(/^configmap\/clawpod-activator-routes routes\.json\[0\] \(host alice\.agents\.example\.com\): port 0 is not a port/)]);
  });

  it('refuses a key that is not a JSON array, and a second row for one host', () => {
    const p = parseRoutes({ 'a.json': '{not json', 'b.json': JSON.stringify(row()), 'c.json': JSON.stringify([row()]), 'd.json': JSON.stringify([row({ namespace: 'tenant-eve', statefulset: 'tenant-eve' })]) });
    expect(p.routes.map((r) => r.source)).toEqual(['c.json[0]']);
    expect(p.problems).toEqual([
      expect.stringMatching(/key a\.json: not JSON \(.*\); fix: make it a JSON array of rows such as \[\{/),
      expect.stringMatching(/key b\.json: expected a JSON array of rows, got object; fix: wrap the row in \[ \]/),
      expect.stringMatching(/d\.json\[0\] \(host alice\.agents\.example\.com\): host alice\.agents\.example\.com is already routed by c\.json\[0\]; fix: remove one of the two rows, or give this one another host/),
    ]);
  });

  it('tenant apply --kube writes a row for a plan with idle tiers (the tenant\'s over the plan\'s), none without', () => {
    const plan = PlanSchema.parse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Plan', metadata: { name: 'p' }, spec: { lifecycle: { idle: [{ after: '10s', action: 'stop' }] } } });
    const tenant = TenantSchema.parse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'alice' }, spec: { plan: 'p', profile: { name: 'runner' }, domain: 'agents.example.com' } });
    const r = tenantRoute(tenant, plan)!;
    expect(r).toMatchObject({ host: 'alice.agents.example.com', namespace: 'tenant-alice', statefulset: 'tenant-alice', idle: [{ after: '10s', action: 'stop' }] });
    expect(parseRoutes({ [tenantRouteKey('alice')]: JSON.stringify([r]) }).problems).toEqual([]);
    const own = TenantSchema.parse({ ...tenant, metadata: { name: 'bob' }, spec: { ...tenant.spec, domain: undefined, lifecycle: { idle: [{ after: '1m', action: 'pause' }, { after: '1h', action: 'stop' }] } } });
    expect(tenantRoute(own, plan)).toMatchObject({ host: 'bob', idle: [{ after: '1m', action: 'pause' }, { after: '1h', action: 'stop' }] });
    const none = PlanSchema.parse({ ...plan, spec: {} });
    expect(tenantRoute(tenant, none)).toBeUndefined();

    // its host goes to the activator (a Service naming the activator's), which its policy admits
    type O = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
    const objs = renderTenant(tenant, plan, { activatorNamespace: 'clawpod-system' }) as O[];
    expect(objs.find((o) => o.kind === 'Service' && o.metadata.name === 'tenant-alice-activator')?.spec).toMatchObject({ type: 'ExternalName', externalName: 'clawpod-activator.clawpod-system.svc.cluster.local' });
    expect(JSON.stringify(objs.find((o) => o.kind === 'Ingress')?.spec)).toContain('"service":{"name":"tenant-alice-activator","port":{"number":80}}');
    expect(JSON.stringify(objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-ingress')?.spec)).toContain('"kubernetes.io/metadata.name":"clawpod-system"');
    // without idle tiers: the tenant's own Service, and no door for the activator
    const plain = renderTenant(tenant, none, { activatorNamespace: 'clawpod-system' }) as O[];
    expect(plain.some((o) => o.metadata.name === 'tenant-alice-activator')).toBe(false);
    expect(JSON.stringify(plain)).not.toContain('clawpod-system');
  });
});
