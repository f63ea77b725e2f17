// The real OpenClaw gateway under gVisor (`isolation: gvisor`, so runsc-net: it publishes a port):
// it starts (OpenClaw's state locks need OPENCLAW_FS_SAFE_NATIVE_MODE=off there, which the profile
// adds for that tier: gVisor 2022-12 has no openat2, docs/runtimes.md), runs on gVisor's kernel,
// and answers a chat turn through clawpod's LLM gateway with the scripted model. Run alone with
//   npx vitest run test/integration/openclaw-gvisor.test.ts
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { cleanup, clawpod, GVISOR_FIX, podman, runtimeRegistered, tmpDir, uniquePrefix } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';
import { chatAt, ensureOpenclawImage, started } from '../helpers/openclaw.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('ocg');
const NAME = `${P}a`;
const KEY = 'fixture-key-123'; // what startPlane gives the provider; the LLM gateway alone holds it
let model: ModelServer | undefined;
let plane: Plane | undefined;

beforeAll(async () => {
  if (!runtimeRegistered('runsc-net')) return; // the test says what is missing
  await ensureOpenclawImage();
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [`${NAME}=fixa`], extra: '  gateway: {listen: "0.0.0.0:0"}' }));
}, 1_300_000);

afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
});

describe('clawpod run openclaw with isolation: gvisor', () => {
  it("starts the gateway under runsc-net, on gVisor's kernel, healthy, and chats through the LLM gateway", async (ctx) => {
    need(ctx, runtimeRegistered('runsc-net'), 'runsc-net registered with Podman (networked gVisor)', GVISOR_FIX);
    const over = join(tmpDir(), 'over.yaml');
    writeFileSync(over, 'spec:\n  isolation: gvisor\n');
    const t0 = Date.now();
    const r = await clawpod(['run', 'openclaw', '--name', NAME, '-f', over], { env: plane!.env, timeoutMs: 400_000 });
    const s = started(NAME, r);
    console.log(`OpenClaw under gVisor: clawpod run → /healthz ok in ${Date.now() - t0} ms`);
    expect(r.stderr).toContain('/healthz ok');
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{32}$/);

    expect(podman(['inspect', NAME, '--format', '{{.OCIRuntime}}']).stdout.trim()).toBe('runsc-net');
    const kernel = podman(['exec', NAME, 'node', '-p', 'require("os").release()']).stdout.trim();
    expect(kernel).toMatch(/^\d+\.\d+/);
    expect(kernel).not.toBe(release());
    // the tier's setting is in the container's spec (and so in inspect), where the user can see it
    expect(podman(['inspect', NAME, '--format', '{{json .Config.Env}}']).stdout).toContain('OPENCLAW_FS_SAFE_NATIVE_MODE=off');
    const health = await fetch(`http://127.0.0.1:${s.port}/startupz`);
    expect(await health.json()).toMatchObject({ ok: true, status: 'started' });

    const before = model!.requests.length;
    const t1 = Date.now();
    const c = await chatAt(s.port, s.token!, 'hello from gVisor');
    console.log(`OpenClaw under gVisor: first chat turn ${Date.now() - t1} ms`);
    expect(c.status, c.body).toBe(200);
    expect(c.body).toContain('echo:');
    const seen = model!.requests.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((q) => q.provider === 'anthropic' && q.headers['x-api-key'] === KEY)).toBe(true);
  }, 600_000);
});
