// OpenTelemetry traces against a real Jaeger (test/helpers/jaeger.ts): `clawpod serve` exports a
// message's trace (message → queue, session.start, deliver, the runner's turn with its model rounds
// and tool.bash, the gateway's llm.call under each round), a follow-up gets its own trace without
// session.start, no span carries a key, a gateway token or the words of the conversation, and
// `clawpod run` exports a trace of its phases. Real Podman, the reference runner, the scripted model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type Plane } from '../helpers/control.js';
import { JaegerUnavailableError, startJaeger, type Jaeger, type JaegerSpan, type JaegerTrace } from '../helpers/jaeger.js';

const G = `t${process.pid.toString(36)}`;
const P = uniquePrefix('tr');
let jaeger: Jaeger | undefined;
let skipReason = '';
let model: ModelServer;
let plane: Plane | undefined;

beforeAll(async () => {
  try { jaeger = await startJaeger(); } catch (e) {
    if (!(e instanceof JaegerUnavailableError)) throw e;
    skipReason = e.reason;
    return;
  }
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  model = await modelServer();
}, 300_000);

afterAll(async () => {
  await plane?.stop();
  podman(['rm', '-f', `clawpod-grp-${G}`]);
  cleanup(P);
  await model?.close();
  await jaeger?.stop();
});

const tag = (s: JaegerSpan, key: string): unknown => s.tags?.find((t) => t.key === key)?.value;
const named = (t: JaegerTrace, name: string): JaegerSpan[] => t.spans.filter((s) => s.operationName === name);
const parentOf = (s: JaegerSpan): string | undefined => s.references?.find((r) => r.refType === 'CHILD_OF')?.spanID;
const ofMessage = (id: string) => (t: JaegerTrace): boolean => t.spans.some((s) => s.operationName === 'message' && tag(s, 'clawpod.message.id') === id);

async function ask(p: Plane, text: string): Promise<string> {
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${G}/messages`, { text });
  for await (const e of p.client.events(id)) if (e.type === 'failed') throw new Error(`message failed: ${JSON.stringify(e.data)}`);
  return id;
}

/** The message's trace once all its spans are in (the runner's arrive with the answer, the gateway's as each call ends). */
async function messageTrace(id: string, complete: (t: JaegerTrace) => boolean): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  try {
    return await jaeger!.waitForTrace('clawpod', (t) => { if (ofMessage(id)(t)) last = t; return ofMessage(id)(t) && complete(t); }, 15_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the message's trace has: ${last ? last.spans.map((s) => s.operationName).sort().join(', ') : 'nothing'}`);
  }
}

describe('tracing', () => {
  it('exports one trace per message, with correct parent links from the POST down to each model call and tool', async (ctx) => {
    if (!jaeger) return ctx.skip(skipReason);
    plane = await startPlane(planeYaml(model, { groups: [G] }), undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttp, OTEL_BSP_SCHEDULE_DELAY: '100' });
    expect(plane.output()).toContain(`traces: OTLP/HTTP to ${jaeger.otlpHttp}/v1/traces`);

    const firstText = 'run: echo hi';
    const first = await ask(plane, firstText);
    const t1 = await messageTrace(first, (t) => named(t, 'llm.call').length >= 2 && named(t, 'turn').length === 1);
    const [message] = named(t1, 'message');
    const root = message!.spanID;
    expect(message!.references ?? []).toEqual([]);
    expect(tag(message!, 'clawpod.group')).toBe(G);
    expect(tag(message!, 'clawpod.outcome')).toBe('answered');
    for (const n of ['queue', 'session.start', 'deliver', 'turn']) {
      expect(named(t1, n), n).toHaveLength(1);
      expect(parentOf(named(t1, n)[0]!), `${n}'s parent`).toBe(root);
    }
    const turn = named(t1, 'turn')[0]!;
    const rounds = named(t1, 'model.round');
    expect(rounds).toHaveLength(2); // the tool call, then the answer
    for (const r of rounds) expect(parentOf(r)).toBe(turn.spanID);
    const [bash] = named(t1, 'tool.bash');
    expect(parentOf(bash!)).toBe(turn.spanID);
    expect(tag(bash!, 'clawpod.tool.exit_code')).toBe(0);
    expect(bash!.duration).toBeGreaterThan(0);
    // each model call of the gateway sits under the runner's round that made it
    const calls = named(t1, 'llm.call');
    expect(calls).toHaveLength(2);
    expect(calls.map(parentOf).sort()).toEqual(rounds.map((r) => r.spanID).sort());
    for (const c of calls) {
      expect(tag(c, 'gen_ai.provider.name')).toBe('openai');
      expect(tag(c, 'gen_ai.request.model')).toBe('scripted');
      expect(tag(c, 'http.response.status_code')).toBe(200);
      expect(Number(tag(c, 'gen_ai.usage.input_tokens'))).toBeGreaterThan(0);
    }
    expect(tag(named(t1, 'session.start')[0]!, 'clawpod.runtime')).toBe('podman');

    // a follow-up: its own trace, the container already there
    const secondText = 'and now, a follow-up?';
    const second = await ask(plane, secondText);
    const t2 = await messageTrace(second, (t) => named(t, 'turn').length === 1 && named(t, 'llm.call').length === 1);
    expect(t2.traceID).not.toBe(t1.traceID);
    expect(named(t2, 'session.start')).toEqual([]);
    expect(tag(named(t2, 'deliver')[0]!, 'clawpod.followup')).toBe(true);
    expect(parentOf(named(t2, 'llm.call')[0]!)).toBe(named(t2, 'model.round')[0]!.spanID);

    // nothing secret, nothing said: not the provider key, not a gateway token, not the words of either side
    const everything = JSON.stringify([t1, t2]);
    for (const never of ['fixture-key-123', 'cpgw_', firstText, 'echo hi', secondText, 'result: hi', 'echo: and now']) expect(everything, never).not.toContain(never);
  }, 60_000);

  it('traces `clawpod run` of a small agent: spec.load, container.create, container.start, container.wait under `clawpod run`', async (ctx) => {
    if (!jaeger) return ctx.skip(skipReason);
    const spec = writeSpec(tmpDir(), 'traced.yaml', agentYaml(`${P}run`, 'command: [sh, -c, "echo traced-run"]\nworkspace: {enabled: false}'));
    const r = await clawpod(['run', '--rm', '-f', spec], { env: scratchEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttp }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('traced-run');
    const t = await jaeger.waitForTrace('clawpod', (x) => x.spans.some((s) => s.operationName === 'clawpod run' && tag(s, 'clawpod.agent') === `${P}run`), 15_000);
    const [root] = named(t, 'clawpod run');
    expect(tag(root!, 'clawpod.exit_code')).toBe(0);
    for (const phase of ['spec.load', 'runtime.connect', 'container.create', 'container.start', 'container.wait']) {
      expect(named(t, phase), phase).toHaveLength(1);
      expect(parentOf(named(t, phase)[0]!)).toBe(root!.spanID);
    }
  }, 60_000);
});
