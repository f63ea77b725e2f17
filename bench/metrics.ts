// A Prometheus scrape of `clawpod serve` with 1,000 groups that have each made a model call
// through the LLM gateway (so every per-group series exists: requests, tokens, by model and
// status), on real Podman: GET /metrics over HTTP, ROUNDS times, p50/p95 (goal ≤ 50 ms).
//     npm run bench:metrics      (GROUPS=1000 ROUNDS=50)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { connectRuntime } from '../src/runtime/connect.js';
import { ControlClient } from '../src/control/client.js';
import { ControlPlaneSchema } from '../src/control/config.js';
import { startControlPlane } from '../src/control/server.js';
import { startModelServer } from '../test/fixtures/model-server.js';
import { pct } from './common.js';

const GROUPS = Number(process.env.GROUPS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 50);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clawpod-bench-metrics-'));
  const config = loadConfig({ ...process.env, CLAWPOD_DATA_DIR: dataDir });
  const rt = await connectRuntime(config);
  const model = await startModelServer(async () => ({ text: 'ok' }));
  const cp = ControlPlaneSchema.parse({
    apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
    spec: { listen: '127.0.0.1:0', gateway: { listen: '127.0.0.1:0' }, models: { fix: { provider: 'openai', model: 'bench', baseUrl: model.baseUrl('openai') } } },
  });
  const plane = await startControlPlane(config, rt, { config: cp, dir: dataDir }, () => undefined);
  const token = readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  const client = new ControlClient(plane.url, token);
  process.stderr.write(`${GROUPS} groups, one model call each through the gateway\n`);
  let next = 0;
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let i = next++; i < GROUPS; i = next++) {
      const g = `m${i}`;
      await client.call('PUT', `/v1/groups/${g}`, { model: 'fix' });
      const t = await client.call<{ token: string; gatewayListen: string }>('POST', `/v1/groups/${g}/tokens`);
      const res = await fetch(`http://${t.gatewayListen}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      if (res.status !== 200) throw new Error(`gateway call of ${g}: HTTP ${res.status} ${await res.text()}`);
      await res.text();
    }
  }));
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const res = await fetch(`${plane.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    bytes = (await res.text()).length;
    times.push(performance.now() - t0);
  }
  await plane.stop();
  await model.close();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`GET /metrics with ${GROUPS} groups (${(bytes / 1024).toFixed(0)} KiB), ${ROUNDS} scrapes: p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms (goal: <= 50)`);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
