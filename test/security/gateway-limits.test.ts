// B7: the LLM gateway under an agent that pushes it: a body far over the cap (with and without
// Content-Length) must be refused with 413 without being held in memory, and ten calls fired at
// once against a budget of one must not all pass (the budget was checked before a call and
// charged after it). The real gateway handler in-process, real HTTP, the scripted model server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../fixtures/model-server.js';
import { tmpDir } from '../helpers/cli.js';
import { Store } from '../../src/control/store.js';
import { createGateway, issueToken, type Budget, type Gateway } from '../../src/control/gateway/gateway.js';
import { periodStart } from '../../src/control/gateway/usage.js';
import { CONTROL_DEFAULTS } from '../../src/spec/defaults.js';
import { validatedBytes } from '../../src/spec/quantity.js';

const HOUR = 3_600_000;
const MiB = 2 ** 20;
const BUDGETS: Record<string, Budget> = { req1: { periodMs: HOUR, requests: 1 }, tok1: { periodMs: HOUR, tokens: 1 }, down: { periodMs: HOUR, requests: 1 } };
let model: ModelServer;
let store: Store;
let gateway: Gateway;
let server: http.Server;
let port: number;

interface Answer { status: number; body: string }

/** POSTs to the gateway; `body` is JSON, or `{ bytes, chunked }` streamed from one reused 1 MiB buffer. */
function post(token: string, body: unknown | { bytes: number; chunked: boolean }): Promise<Answer> {
  const big = typeof body === 'object' && body !== null && 'bytes' in body ? body as { bytes: number; chunked: boolean } : undefined;
  const json = big ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(big?.chunked ? {} : { 'content-length': String(big ? big.bytes : json!.length) }) },
    });
    let answer: Answer | undefined;
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => { answer = { status: res.statusCode ?? 0, body: text }; resolve(answer); });
    });
    // a server that stops reading after its answer may reset us mid-upload: only the answer counts
    req.on('error', (e) => setTimeout(() => (answer ? resolve(answer) : reject(e)), 200));
    if (!big) { req.end(json); return; }
    const chunk = Buffer.alloc(MiB, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < big.bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

/** Highest resident set size seen while `fn` runs (sampled every 10 ms). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  try { return { value: await fn(), peak: Math.max(peak, process.memoryUsage().rss) }; } finally { clearInterval(t); }
}

const ask = (text: string) => ({ model: 'scripted', stream: true, max_tokens: 50, messages: [{ role: 'user', content: text }] });

beforeAll(async () => {
  // slow streams: every call of a burst is still in flight when the last one arrives
  model = await startModelServer([{ reply: { text: 'a reply of a few words', chunkDelayMs: 150 }, times: Infinity }], { host: '127.0.0.1' });
  store = new Store(join(tmpDir(), 'state.db'));
  gateway = createGateway({
    store,
    allowedModels: (g) => [{ name: 'fix', provider: 'openai', model: 'scripted', baseUrl: g === 'down' ? 'http://127.0.0.1:9/v1' : model.baseUrl('openai') }],
    budget: (g) => BUDGETS[g],
    periodMs: () => HOUR,
    providerKey: async () => 'fixture-key',
    redact: (t) => t,
    maxBodyBytes: validatedBytes(CONTROL_DEFAULTS.gatewayMaxRequestBody),
  });
  server = http.createServer(gateway.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  gateway?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  store?.close();
  await model?.close();
});

describe('gateway request body cap (default 10 MiB)', () => {
  it('a 300 MB body with Content-Length gets 413 naming the limit, and serve stays small', async () => {
    const token = issueToken(store, 'big', null);
    const before = process.memoryUsage().rss;
    const { value: a, peak } = await peakRss(() => post(token, { bytes: 300 * MiB, chunked: false }));
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body).error.message).toMatch(/larger than the gateway's limit of 10Mi \(10485760 bytes\).*spec\.gateway\.maxRequestBody/);
    // before the cap the whole body was buffered (and copied once more): +600 MB here
    expect((peak - before) / MiB).toBeLessThan(128);
  }, 60_000);

  it('a chunked body (no Content-Length) over the cap gets 413 too, without ballooning', async () => {
    const token = issueToken(store, 'big', null);
    const before = process.memoryUsage().rss;
    const { value: a, peak } = await peakRss(() => post(token, { bytes: 200 * MiB, chunked: true }));
    expect(a.status).toBe(413);
    expect((peak - before) / MiB).toBeLessThan(128);
    // the cap refuses only what is over it: a normal call on a fresh connection still works
    expect((await post(token, ask('small'))).status).toBe(200);
  }, 60_000);
});

describe('gateway budgets are reserved before forwarding', () => {
  for (const [group, what] of [['req1', 'requests: 1'], ['tok1', 'tokens: 1']] as const) {
    it(`10 parallel calls against a budget of ${what}: exactly one reaches the provider`, async () => {
      const token = issueToken(store, group, null);
      const seen = model.requests.length;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(token, ask(`${group} call ${i}`))));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, ...Array(9).fill(429)]);
      expect(model.requests.length - seen).toBe(1);
      expect(answers.find((a) => a.status === 429)!.body).toMatch(/has used \d+ of its 1 (requests|tokens) \(calls in flight included\)/);
      // settled to what the provider reported, not left at the estimate
      const u = store.usage(group, periodStart(Date.now(), HOUR));
      expect(u.requests).toBe(1);
      expect(u.output_tokens).not.toBe(50);
    }, 60_000);
  }

  it('a call the provider never answered gives its reservation back', async () => {
    const token = issueToken(store, 'down', null);
    expect((await post(token, ask('nobody home'))).status).toBe(502);
    expect(store.usage('down', periodStart(Date.now(), HOUR))).toMatchObject({ requests: 0, input_tokens: 0, output_tokens: 0 });
    expect((await post(token, ask('again'))).status).toBe(502); // not 429: the budget of 1 was not spent
  });
});
