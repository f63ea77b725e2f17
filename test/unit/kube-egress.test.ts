// spec.egress on Kubernetes (src/kube/egress.ts): the namespace's proxy (ConfigMap, Deployment,
// Service, its own NetworkPolicy), hardened like an agent Pod, its config naming secrets only by
// file path, the Secret mounted only with credentials, and what the agent gets (proxy env, the CA
// certificate without its key, a policy rule to the proxy only). Every object valid against the
// pinned Kubernetes schema.
import { beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_DEFAULTS, EgressConfigSchema } from '../../src/egress/config.js';
import { EgressSchema } from '../../src/spec/egress.js';
import { agentCaVolume, agentEgressEnv, EGRESS_PROXY, egressNotes, renderEgressProxy, toProxy } from '../../src/kube/egress.js';
import { modelsValidate, strictSchema, type StrictValidate } from '../helpers/kube-schema.js';

const plain = EgressSchema.parse({ allow: ['api.github.com:443', '*.example.com:443'], hosts: { 'files.example.com': '192.0.2.10' } });
const withCreds = EgressSchema.parse({
  allow: ['api.github.com:443'],
  credentials: [{ host: 'api.github.com', header: 'Authorization', format: 'Bearer {}', source: 'kubernetes', secretRef: { name: 'gh', key: 'token' } }],
});
const opts = { agent: 'web', image: 'localhost/clawpod-agent:latest', namespace: 'team-a', labels: { 'clawpod.dev/tenant': 'acme' } };

let strict: StrictValidate;
beforeAll(() => { strict = strictSchema(); }, 600_000);

describe('renderEgressProxy', () => {
  it('renders ConfigMap, Deployment, Service and NetworkPolicy clawpod-egress, valid against the schema', () => {
    const objs = renderEgressProxy(plain, opts);
    expect(objs.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual(['ConfigMap/clawpod-egress', 'Deployment/clawpod-egress', 'Service/clawpod-egress', 'NetworkPolicy/clawpod-egress']);
    for (const o of objs) {
      modelsValidate(o);
      expect(strict(o), `${o.kind}`).toEqual([]);
      expect(o.metadata!.namespace).toBe('team-a');
      expect(o.metadata!.labels).toMatchObject({ 'clawpod.dev/tenant': 'acme', ...EGRESS_PROXY.pods });
    }
  });

  it('the config is the proxy\'s own schema, listening for DNS on an unprivileged port', () => {
    const [cm] = renderEgressProxy(plain, opts);
    const config = EgressConfigSchema.parse(JSON.parse(cm.data!['config.json']!));
    expect(config).toMatchObject({ agent: 'web', allow: ['api.github.com:443', '*.example.com:443'], hosts: { 'files.example.com': ['192.0.2.10'] }, allowPrivate: false, credentials: [] });
    expect(config.listen.dnsPort).toBe(EGRESS_PROXY.dnsTargetPort);
    expect(config.ca).toBeUndefined();
  });

  it('runs the agent image\'s clawpod-egress hardened like an agent Pod; no Secret without credentials', () => {
    const [, dep] = renderEgressProxy(plain, opts);
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe('localhost/clawpod-agent:latest');
    expect(c.command).toEqual([EGRESS_DEFAULTS.binary, '--config', '/run/clawpod-egress/config.json']);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes!.map((v) => v.name)).toEqual(['config']);
    expect(dep.spec!.selector.matchLabels).toEqual(EGRESS_PROXY.pods);
  });

  it('with credentials: the Secret\'s CA and values as files (a tmpfs Secret volume), named by path in the config, never by value', () => {
    const [cm, dep] = renderEgressProxy(withCreds, opts);
    const config = EgressConfigSchema.parse(JSON.parse(cm.data!['config.json']!));
    expect(config.credentials).toMatchObject([{ host: 'api.github.com', port: 443, header: 'Authorization', format: 'Bearer {}', valueFile: '/run/clawpod-egress-secrets/credential-0' }]);
    expect(config.ca).toMatchObject({ certFile: '/run/clawpod-egress-secrets/ca.crt' });
    // every file the config names is a key of the mounted Secret, and nothing else is
    const named = JSON.stringify(config).match(/\/run\/clawpod-egress-secrets\/[^"]+/g)!.map((f) => f.replace('/run/clawpod-egress-secrets/', '')).sort();
    const vol = dep.spec!.template.spec!.volumes!.find((v) => v.name === 'secrets')!;
    expect(vol.secret).toMatchObject({ secretName: 'clawpod-egress', defaultMode: 0o440 });
    expect(vol.secret!.items!.map((i) => i.key)).toEqual([...new Set(named)]);
    expect(named).toEqual(expect.arrayContaining(['ca.crt', 'credential-0']));
    expect(egressNotes(withCreds)[0]).toContain(`kubectl create secret generic clawpod-egress ${[...new Set(named)].map((k) => `--from-file=${k}=PATH`).join(' ')}`);
    expect(JSON.stringify(config)).not.toContain('ghp_');
  });

  it('a changed allowlist changes the Pod template (the proxy reads its config once)', () => {
    const a = renderEgressProxy(plain, opts)[1].spec!.template.metadata!.annotations!['clawpod.dev/egress-config'];
    const b = renderEgressProxy(EgressSchema.parse({ allow: ['api.github.com:443'] }), opts)[1].spec!.template.metadata!.annotations!['clawpod.dev/egress-config'];
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it('its own policy: reached from the namespace on the HTTP and DNS ports, out to anywhere', () => {
    const np = renderEgressProxy(plain, opts)[3];
    expect(np.spec).toEqual({
      podSelector: { matchLabels: EGRESS_PROXY.pods },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 3128 }, { protocol: 'UDP', port: 5353 }] }],
      egress: [{}],
    });
  });
});

describe('what the agent gets', () => {
  it('an egress rule to the proxy\'s Pods only', () => {
    expect(toProxy()).toEqual({ to: [{ podSelector: { matchLabels: EGRESS_PROXY.pods } }], ports: [{ protocol: 'TCP', port: 3128 }, { protocol: 'UDP', port: 5353 }] });
  });

  it('the proxy environment by Service name; with credentials the CA certificate, never its key', () => {
    expect(agentEgressEnv(plain)).toContainEqual({ name: 'HTTPS_PROXY', value: 'http://clawpod-egress:3128' });
    expect(agentEgressEnv(plain).map((e) => e.name)).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(agentCaVolume(plain)).toBeUndefined();
    expect(agentEgressEnv(withCreds)).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/run/clawpod-egress-ca/ca.crt' });
    expect(agentCaVolume(withCreds)!.volume.secret!.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
  });
});
