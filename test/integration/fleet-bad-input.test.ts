// Bad fleet input through the CLI: each refusal names the thing, the value and the fix, exits
// non-zero, and leaves nothing behind — including a provision that fails half-way.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawpod, podman, scratchEnv, tmpDir, uniquePrefix, type CliResult } from '../helpers/cli.js';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { startPlane, type Plane } from '../helpers/control.js';

const P = uniquePrefix('fb');
const dir = tmpDir();
let plane: Plane;
let model: ModelServer;

const plan = (extra = '') => `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: ${P}}
spec:
  resources: {cpu: "0.5", memory: 256Mi}
  models: [fix]
${extra}`;
const tenant = (name: string, spec = '') => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${name}}
spec:
  plan: ${P}
  profile: runner
${spec}`;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const apply = (f: string): Promise<CliResult> => clawpod(['tenant', 'apply', '-f', f], { env: plane.env, timeoutMs: 180_000 });
const objectsOf = (t: string) => [
  ...podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n'),
  ...podman(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n'),
  ...podman(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n'),
].filter((n) => n.includes(`tenant-${t}`));

beforeAll(async () => {
  model = await startModelServer(() => ({ text: 'ok' }));
  plane = await startPlane([
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', '  gateway: {listen: "0.0.0.0:0"}', '  models:',
    `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  ].join('\n'));
}, 60_000);

afterAll(async () => {
  for (const o of objectsOf(P)) podman(['rm', '-f', o]), podman(['volume', 'rm', '-f', o]), podman(['network', 'rm', '-f', o]);
  await plane?.stop();
  await model?.close();
});

describe('fleet bad input', () => {
  it('an unknown plan names the known ones; nothing is made', async () => {
    const r = await apply(file('unknown.yaml', plan() + tenant(`${P}-a`).replace(`plan: ${P}`, 'plan: goldd')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tenant ${P}-a: no plan named goldd`);
    expect(r.stderr).toContain('nothing was changed');
    expect(objectsOf(`${P}-a`)).toEqual([]);
  });

  it('a tenant asking for a forced path is refused with the path named', async () => {
    const r = await apply(file('forced.yaml', plan() + tenant(`${P}-b`, '  config: {values: {llm: {baseUrl: "http://attacker.example:80"}}}\n')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.config.values.llm.baseUrl: forced by profile runner ("llm")');
    expect(objectsOf(`${P}-b`)).toEqual([]);
  });

  it('an invalid DNS name, a name used twice and a bad quota are reported at their lines', async () => {
    const r = await apply(file('names.yaml', plan('  quota: {cpu: "100m"}\n') + tenant('Bad.Name') + tenant(`${P}-c`) + tenant(`${P}-c`)));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/names\.yaml:\d+:\d+ metadata\.name: got "Bad\.Name", expected a tenant name that is a DNS-1123 label/);
    expect(r.stderr).toMatch(/names\.yaml:7:\d+ spec\.quota\.cpu: .*expected at least resources\.cpu × quota\.instances/);
    const dup = await apply(file('dup.yaml', plan() + tenant(`${P}-c`) + tenant(`${P}-c`)));
    expect(dup.code).toBe(5);
    expect(dup.stderr).toContain(`tenant ${P}-c appears more than once`);
  });

  it('a provision that fails half-way (no image for the version) is rolled back with nothing orphaned', async () => {
    const name = `${P}-d`;
    const r = await apply(file('half.yaml', plan() + tenant(name).replace('profile: runner', 'profile: {name: runner, version: no-such-build}')));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${name}\\s+${P}\\s+failed .*not built yet`));
    expect(objectsOf(name)).toEqual([]);
    expect(existsSync(join(plane.dataDir, 'fleet', 'tenants', `${name}.json`))).toBe(false);
    const groups = JSON.parse((await clawpod(['--json', 'group', 'ls'], { env: plane.env })).stdout) as { name: string }[];
    expect(groups.map((g) => g.name)).not.toContain(`tenant-${name}`);
  }, 120_000);

  it('a plan with models and no control plane says to start one', async () => {
    const r = await clawpod(['tenant', 'apply', '-f', file('noplane.yaml', plan() + tenant(`${P}-e`))], { env: scratchEnv({ CLAWPOD_DATA_DIR: tmpDir() }), timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed .*no control plane answers/);
    expect(objectsOf(`${P}-e`)).toEqual([]);
  }, 120_000);

  it('fleet upgrade refuses a bad version and flags', async () => {
    const bad = await clawpod(['fleet', 'upgrade', '--version', '../x'], { env: plane.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--version ../x is not a version');
    const mu = await clawpod(['fleet', 'upgrade', '--version', 'v2', '--max-unavailable', '0'], { env: plane.env });
    expect(mu.stderr).toContain('--max-unavailable 0: expected a whole number ≥ 1');
    const sel = await clawpod(['fleet', 'upgrade', '--version', 'v2', '--selector', 'plan'], { env: plane.env });
    expect(sel.stderr).toContain('"plan" is not KEY=VALUE');
  });
});
