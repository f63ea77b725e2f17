// F1 tenants: a malicious tenant (its agent, or its spec author) tries to reach another tenant, to
// use models or budget its plan does not give it, and to put in its own provider or base URL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { spawn } from 'node:child_process';
import { clawpod, CONF, podman, tmpDir, uniquePrefix } from '../helpers/cli.js';
import { startPlane, type Plane } from '../helpers/control.js';

const P = uniquePrefix('fx');
const A = `${P}-a`;
const B = `${P}-b`;
const dir = tmpDir();
let model: ModelServer;
let plane: Plane;

const fleet = (tenants: string[], config = '') => `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: ${P}}
spec:
  resources: {cpu: "0.5", memory: 256Mi}
  models: [fix]
  budget: {period: 1d, requests: 3}
${tenants.map((t) => `---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${t}}
spec: {plan: ${P}, profile: runner${config}}
`).join('')}`;

/** Runs node inside tenant T's container (as its agent would); async: the model server lives in this process. */
function inside(t: string, js: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('podman', ['exec', `tenant-${t}`, 'node', '-e', js], { env: { ...process.env, CONTAINERS_CONF: CONF } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => resolve(out.trim()));
  });
}

beforeAll(async () => {
  model = await startModelServer(() => ({ text: 'fine' }));
  plane = await startPlane([
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:', '  gateway: {listen: "0.0.0.0:0"}', '  models:',
    `    fix: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
    `    pricey: {provider: anthropic, model: opus-like, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}}`,
  ].join('\n'));
  writeFileSync(join(dir, 'fleet.yaml'), fleet([A, B]));
  const r = await clawpod(['tenant', 'apply', '-f', join(dir, 'fleet.yaml')], { env: plane.env, timeoutMs: 300_000 });
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
}, 400_000);

afterAll(async () => {
  await clawpod(['tenant', 'delete', A, B], { env: plane.env, timeoutMs: 120_000 });
  await plane?.stop();
  await model?.close();
});

describe('F1 a tenant cannot get out of its tenancy', () => {
  it("cannot open a connection to another tenant's container, by its address or the host's", async () => {
    const ipOf = (t: string) => podman(['inspect', `tenant-${t}`, '--format', `{{(index .NetworkSettings.Networks "clawpod-tenant-${t}").IPAddress}}`]).stdout.trim();
    const hostPort = podman(['port', `tenant-${B}`, '8080']).stdout.trim().split(':').pop();
    const tryUrl = (url: string) => `fetch('${url}',{signal:AbortSignal.timeout(1500)}).then(r=>console.log('reached '+r.status),e=>console.log('refused'))`;
    expect(await inside(A, tryUrl(`http://${ipOf(A)}:8080/healthz`))).toBe('reached 200');
    expect(await inside(A, tryUrl(`http://${ipOf(B)}:8080/healthz`))).toBe('refused');
    expect(await inside(A, tryUrl(`http://tenant-${B}:8080/healthz`))).toBe('refused');
    // B's port is published on the host's loopback only: not a way round from another network
    expect(await inside(A, tryUrl(`http://host.containers.internal:${hostPort}/healthz`))).toBe('refused');
  }, 60_000);

  it("cannot use a model its plan does not give it, nor go past the plan's budget", async () => {
    // the agent inside uses the token and gateway it was given, asking for another model
    const call = (modelName: string) => inside(A, `
      const fs=require('fs'); const c=JSON.parse(fs.readFileSync(process.env.HOME+'/.clawpod/runner.json','utf8'));
      const tok=fs.readFileSync(c.llm.tokenFile,'utf8').trim();
      fetch(c.llm.baseUrl+'/v1/messages',{method:'POST',headers:{'x-api-key':tok,'anthropic-version':'2023-06-01','content-type':'application/json'},
        body:JSON.stringify({model:'${modelName}',max_tokens:5,stream:true,messages:[{role:'user',content:'hi'}]})}).then(r=>console.log(r.status))`);
    expect(await call('opus-like')).toBe('403');
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await call('scripted'));
    expect(statuses.slice(0, 3)).toEqual(['200', '200', '200']);
    expect(statuses[3]).toBe('429');
  }, 60_000);

  it('cannot put in its own provider, base URL or gateway token path, however it spells the path', async () => {
    for (const values of ['{llm: {baseUrl: "http://evil.example"}}', '{"llm.baseUrl": "http://evil.example"}', '{llm: "http://evil.example"}', '{gatewayTokenFile: /tmp/mine}']) {
      writeFileSync(join(dir, 'bad.yaml'), fleet([`${P}-c`], `, config: {values: ${values}}`));
      const r = await clawpod(['tenant', 'apply', '-f', join(dir, 'bad.yaml')], { env: plane.env });
      expect(r.code, values).toBe(2);
      expect(r.stderr).toMatch(/forced by profile runner/);
    }
    expect(podman(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain(`tenant-${P}-c`);
  }, 60_000);
});
