// Memory across sessions on real Podman: a real `clawpod serve` with the reference runner and a
// scripted model server. A group tells a fact, its session ends idle, and the next session's
// model request holds the earlier turn; past the token budget a summary request goes through the
// LLM gateway (with the provider key only the gateway holds) and the next session gets the
// summary; `clawpod group history --json` exports it; `clawpod group forget` leaves the next
// session with nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUMMARY_PREFIX, SUMMARY_SYSTEM } from '../../src/control/memory-select.js';
import { startModelServer, type ModelServer, type ScriptRequest } from '../fixtures/model-server.js';
import { ControlClient } from '../../src/control/client.js';
import { clawpod, podman } from '../helpers/cli.js';
import { planeYaml, scripted, startPlane, waitFor, type MessageView, type Plane } from '../helpers/control.js';

const G = `mem${process.pid.toString(36)}`;
const SUMMARY = 'SUMMARY: the code word is PLUM';
let model: ModelServer;
let plane: Plane | undefined;

const isSummary = (r: ScriptRequest) => r.messages[0]?.role === 'system' && r.messages[0].text === SUMMARY_SYSTEM;
const seen = (r: ScriptRequest) => r.messages.map((m) => m.text).join('\n');

async function ask(p: Plane, text: string, group = G) {
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text });
  const events: { type: string; data: Record<string, unknown> }[] = [];
  for await (const e of p.client.events(id)) events.push(e);
  const m = await p.client.call<MessageView>('GET', `/v1/messages/${id}`);
  expect(m.status, JSON.stringify(events.slice(-3))).toBe('done');
  return { events, request: model.requests.filter((r) => !isSummary(r)).at(-1)! };
}

/** The group's session ended idle and its container is gone: the next message starts a new one. */
async function sessionEnded(p: Plane, group = G): Promise<void> {
  await waitFor('the idle session to end', async () => {
    const groups = await p.client.call<{ name: string; session: unknown }[]>('GET', '/v1/groups');
    return groups.find((g) => g.name === group)?.session === null;
  }, 30_000);
}

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  // a summary of a conversation that mentions FAILSUM fails like a provider that is down
  model = await startModelServer((req) => (!isSummary(req) ? scripted(req) : seen(req).includes('FAILSUM') ? { error: { status: 500, message: 'summaries are down' } } : { text: SUMMARY }));
  plane = await startPlane(planeYaml(model, { groups: [G, `${G}b`, `${G}c`], extra: '  session: {idleTimeout: 1s, grace: 2s}\n  memory: {budgetTokens: 200}' }));
}, 300_000);

afterAll(async () => {
  await plane?.stop();
  for (const g of [G, `${G}c`]) podman(['rm', '-f', '-t', '0', `clawpod-grp-${g}`]);
  await model?.close();
});

describe('memory across sessions', () => {
  it('hands the last conversation to the next session, summarizes past the budget through the gateway, exports it and forgets it', async () => {
    const p = plane!;
    const cli = (args: string[]) => clawpod(args, { env: p.env, timeoutMs: 60_000 });

    // session 1 tells a fact
    const one = await ask(p, 'the code word is PLUM');
    expect(one.request.messages.filter((m) => m.role !== 'system')).toHaveLength(1);
    await sessionEnded(p);

    // session 2: the earlier turn comes first, then the new words
    const two = await ask(p, 'what was the code word?');
    expect(two.events.find((e) => e.type === 'memory')?.data).toMatchObject({ turns: 1, summary: false });
    expect(two.request.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.text])).toEqual([
      ['user', 'the code word is PLUM'], ['assistant', 'echo: the code word is PLUM'], ['user', 'what was the code word?'],
    ]);
    // past the 200-token budget: a long turn, then a short one
    await ask(p, `pad ${'x'.repeat(900)}`);
    await ask(p, 'the color is GREEN');
    await sessionEnded(p);

    // session 3: the older turns were summarized by the group's model through the gateway
    const summaries = () => model.requests.filter(isSummary);
    const three = await ask(p, 'hello again');
    expect(summaries()).toHaveLength(1);
    const req = summaries()[0]!;
    expect(seen(req)).toContain('the code word is PLUM');
    // the gateway put in the provider key; the runner never had it
    expect(req.headers.authorization).toBe('Bearer fixture-key-123');
    expect(three.events.find((e) => e.type === 'memory_compacted')).toBeDefined();
    const three0 = three.request.messages.find((m) => m.role === 'user')!.text;
    expect(three0).toContain(`${SUMMARY_PREFIX}${SUMMARY}`);
    expect(seen(three.request)).toContain('the color is GREEN');
    expect(seen(three.request)).not.toContain('x'.repeat(900));
    const usage = await p.client.call<{ requests: number }>('GET', `/v1/groups/${G}/usage`);
    // five answers and the summary, all counted against the group
    expect(usage.requests).toBe(6);

    // the export
    const h = await cli(['group', 'history', G, '--json']);
    expect(h.code, h.stderr).toBe(0);
    const doc = JSON.parse(h.stdout) as { group: string; turns: { user: string; assistant: string }[]; summaries: { text: string }[] };
    expect(doc.group).toBe(G);
    expect(doc.turns.map((t) => t.user)).toEqual(['the code word is PLUM', 'what was the code word?', `pad ${'x'.repeat(900)}`, 'the color is GREEN', 'hello again']);
    expect(doc.turns[0]!.assistant).toBe('echo: the code word is PLUM');
    expect(doc.summaries.map((s) => s.text)).toEqual([SUMMARY]);
    const human = await cli(['group', 'history', G]);
    expect(human.stdout).toContain('> the color is GREEN');

    // another group's token reads its own history, and of this one only what a missing group gets
    const made = await cli(['--json', 'token', 'create', '--scope', `group:${G}b`]);
    expect(made.code, made.stderr).toBe(0);
    const other = new ControlClient(p.client.url, (JSON.parse(made.stdout) as { token: string }).token);
    expect(await other.call('GET', `/v1/groups/${G}b/history`)).toMatchObject({ group: `${G}b`, turns: [], summaries: [] });
    await expect(other.call('GET', `/v1/groups/${G}/history`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(other.call('DELETE', `/v1/groups/${G}/history`)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // forget: the next session starts with nothing
    await sessionEnded(p);
    const f = await cli(['group', 'forget', G]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toContain('forgot 5 turns and 1 summary');
    const four = await ask(p, 'anything to remember?');
    expect(four.request.messages.filter((m) => m.role !== 'system').map((m) => m.text)).toEqual(['anything to remember?']);
    expect(four.events.some((e) => e.type === 'memory')).toBe(false);
    expect(summaries()).toHaveLength(1);
  }, 90_000);

  it('a summary that fails costs the oldest turns this time, never the session', async () => {
    const p = plane!;
    const g = `${G}c`;
    await ask(p, `FAILSUM pad ${'y'.repeat(900)}`, g);
    await ask(p, 'the animal is an OTTER', g);
    await sessionEnded(p, g);
    const failed = model.requests.filter(isSummary).length;
    const next = await ask(p, 'still there?', g);
    expect(model.requests.filter(isSummary).length).toBe(failed + 1);
    expect(next.events.find((e) => e.type === 'memory_compaction_failed')?.data).toMatchObject({ dropped: 1, message: expect.stringContaining('summaries are down') });
    expect(next.request.messages.filter((m) => m.role !== 'system').map((m) => m.text)).toEqual(['the animal is an OTTER', 'echo: the animal is an OTTER', 'still there?']);
    const h = await p.client.call<{ turns: unknown[]; summaries: unknown[] }>('GET', `/v1/groups/${g}/history`);
    expect(h.turns).toHaveLength(3);
    expect(h.summaries).toEqual([]);
  }, 60_000);
});
