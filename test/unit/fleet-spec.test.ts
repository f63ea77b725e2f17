// Plans and tenants as specs: validation with file:line:col, forced config paths, the derived agent.
import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/fleet/load.js';
import { tenantAgent, tenantNames, parseSelector } from '../../src/fleet/derive.js';
import { forcedConflicts } from '../../src/fleet/forced.js';
import { ClawpodError } from '../../src/errors.js';

const PLAN = `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: pro}
spec:
  resources: {cpu: "1", memory: 1Gi}
  quota: {cpu: "2", memory: 2Gi, storage: 10Gi, pods: 4}
  volumes: {state: 2Gi, appData: 3Gi}
  models: [m1]
  budget: {tokens: 100000}
  config:
    values: {ui: {banner: "hosted"}}
    forced: [tools.exec]
`;
const tenant = (name: string, extra = '') => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${name}, labels: {team: blue}}
spec:
  plan: pro
  profile: {name: openclaw, version: "2026.9.6"}
  domain: agents.example.com
${extra}`;

function err(f: () => unknown): ClawpodError {
  try { f(); } catch (e) { return e as ClawpodError; }
  throw new Error('expected an error');
}

describe('fleet specs', () => {
  it('parses plans and tenants from one file, with defaults', () => {
    const f = parseFleet(PLAN + tenant('acme') + tenant('globex'), 'fleet.yaml');
    expect(f.plans.map((p) => p.metadata.name)).toEqual(['pro']);
    expect(f.tenants.map((t) => t.metadata.name)).toEqual(['acme', 'globex']);
    expect(f.plans[0]!.spec.volumes.appDataPath).toBe('/data');
    expect(f.plans[0]!.spec.quota.instances).toBe(1);
  });

  it('reports every bad field at its line with the value and the fix', () => {
    const e = err(() => parseFleet(`${PLAN.replace('cpu: "1"', 'cpu: "lots"')}${tenant('Bad_Name')}---\napiVersion: clawpod.dev/v1alpha1\nkind: Tennant\nmetadata: {name: x}\n`, 'fleet.yaml'));
    expect(e.code).toBe('SPEC_INVALID');
    const d = e.details.join('\n');
    expect(d).toMatch(/fleet\.yaml:5:\d+ spec\.resources\.cpu: got "lots", expected a CPU quantity/);
    expect(d).toMatch(/fleet\.yaml:\d+:\d+ metadata\.name: got "Bad_Name", expected a tenant name that is a DNS-1123 label/);
    expect(d).toMatch(/kind: got "Tennant", expected "Plan" or "Tenant"/);
  });

  it('refuses a name used twice and a quota below one tenant', () => {
    expect(err(() => parseFleet(PLAN + tenant('acme') + tenant('acme'), 'f.yaml')).details).toEqual(['tenant acme appears more than once']);
    const e = err(() => parseFleet(PLAN.replace('quota: {cpu: "2"', 'quota: {cpu: "500m"'), 'f.yaml'));
    expect(e.details.join()).toMatch(/spec\.quota\.cpu: .*expected at least resources\.cpu × quota\.instances/);
  });

  it('derives the tenant agent: plan limits, volumes, gateway group, operator config over the tenant', () => {
    const f = parseFleet(PLAN + tenant('acme', '  config: {values: {ui: {theme: dark, banner: mine}}}\n'), 'f.yaml');
    // banner is the plan's value: the tenant may not set it
    expect(err(() => tenantAgent(f.tenants[0]!, f.plans[0]!)).details).toEqual(['spec.config.values.ui.banner: forced by plan pro (spec.config.values) ("ui.banner")']);
    const ok = parseFleet(PLAN + tenant('acme', '  config: {values: {ui: {theme: dark}}}\n'), 'f.yaml');
    const a = tenantAgent(ok.tenants[0]!, ok.plans[0]!);
    expect(a.metadata.name).toBe('tenant-acme');
    expect(a.spec.resources).toMatchObject({ cpu: '1', memory: '1Gi', pids: 1024 });
    expect(a.spec.workspace.size).toBe('2Gi');
    expect(a.spec.llm).toEqual({ group: tenantNames('acme').group });
    expect(a.spec.config?.values).toEqual({ ui: { theme: 'dark', banner: 'hosted' } });
    expect(a.spec.image).toBe('localhost/clawpod-openclaw:2026.9.6');
  });

  it('refuses a tenant that sets a forced path: provider, base URL, key, or a parent replaced by a scalar', () => {
    const f = parseFleet(PLAN + tenant('acme', '  config: {values: {models: {providers: {x: {baseUrl: "http://evil.example"}}}, gateway: {auth: "none"}, tools: 5}}\n'), 'f.yaml');
    const e = err(() => tenantAgent(f.tenants[0]!, f.plans[0]!));
    expect(e.code).toBe('CONFIG_FORCED');
    expect(e.details).toEqual([
      'spec.config.values.models.providers.x.baseUrl: forced by profile openclaw ("models")',
      'spec.config.values.gateway.auth: forced by profile openclaw ("gateway.auth")',
      'spec.config.values.tools: forced by plan pro (spec.config.forced) ("tools.exec")',
    ]);
    expect(forcedConflicts({ gateway: { controlUi: { x: 1 } } }, [{ path: 'gateway.auth', by: 'p' }])).toEqual([]);
  });

  it('refuses names an upgrade or a replay of another tenant would take, and includes that could bring in any path', () => {
    const e = err(() => parseFleet(PLAN + tenant('acme-previous') + tenant('acme-replay'), 'f.yaml'));
    expect(e.details.filter((d) => d.includes('expected a name not ending in "-previous" or "-replay"'))).toHaveLength(2);
    const f = parseFleet(PLAN + tenant('acme', '  config: {values: {ui: {$include: /home/agent/evil.json5}}}\n'), 'f.yaml');
    expect(err(() => tenantAgent(f.tenants[0]!, f.plans[0]!)).details).toEqual(['spec.config.values.ui.$include: forced by clawpod (an include could set any path) ("$include")']);
  });

  it('refuses an unknown plan with the known ones named', () => {
    const f = parseFleet(PLAN + tenant('acme').replace('plan: pro', 'plan: gold'), 'f.yaml');
    const e = err(() => tenantAgent(f.tenants[0]!, undefined, ['pro']));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe('tenant acme: no plan named gold');
    expect(e.hint).toMatch(/plans: pro/);
  });

  it('selects tenants like kubectl -l', () => {
    const f = parseFleet(PLAN + tenant('acme'), 'f.yaml');
    expect(parseSelector('plan=pro,team=blue')(f.tenants[0]!)).toBe(true);
    expect(parseSelector('plan!=pro')(f.tenants[0]!)).toBe(false);
    expect(err(() => parseSelector('plan')).code).toBe('USAGE');
  });
});
