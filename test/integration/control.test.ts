// The control plane on real Podman with the reference runner and a scripted model server:
// tool calls run in the group's container, follow-ups reuse it, the queue holds the limit,
// and a daemon killed with -9 loses nothing.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { clawpod, podman } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type MessageView, type Plane } from '../helpers/control.js';

let model: ModelServer;
const planes: Plane[] = [];
const G = `c${process.pid.toString(36)}`; // group prefix, unique per run

async function ask(p: Plane, group: string, text: string) {
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text });
  const events: { type: string; data: Record<string, unknown> }[] = [];
  for await (const e of p.client.events(id)) events.push(e);
  const m = await p.client.call<MessageView>('GET', `/v1/messages/${id}`);
  return { id, events, message: m, text: events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('') };
}

const sessionContainers = () => podman(['ps', '-a', '--filter', 'label=dev.clawpod.role=session', '--format', '{{.Names}} {{.Labels}}']).stdout
  .split('\n').filter((l) => l.includes(`dev.clawpod.group:${G}`) || l.includes(`clawpod-grp-${G}`)).map((l) => l.split(' ')[0]!);

beforeAll(async () => {
  const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
  expect(b.code, b.stderr).toBe(0);
  model = await modelServer();
}, 300_000);

afterAll(async () => {
  await Promise.all(planes.map((p) => p.stop()));
  for (const n of sessionContainers()) podman(['rm', '-f', n]);
  await model?.close();
});

describe('clawpod serve', () => {
  it('runs a bash tool call inside the group container and streams the answer; a follow-up reuses the container', async () => {
    const p = await startPlane(planeYaml(model, { groups: [`${G}a1=fixa`, `${G}o1`] }));
    planes.push(p);
    const first = await ask(p, `${G}o1`, 'run: echo hi > /workspace/proof.txt; id -u; hostname');
    expect(first.message.status, JSON.stringify(first.events.slice(-3))).toBe('done');
    expect(first.events.map((e) => e.type)).toEqual(expect.arrayContaining(['queued', 'session_starting', 'delivered', 'start', 'tool_call', 'tool_result', 'text', 'end', 'done']));
    const call = first.events.find((e) => e.type === 'tool_call')!;
    expect(call.data).toMatchObject({ name: 'bash' });
    const result = String(first.events.find((e) => e.type === 'tool_result')!.data.output);
    expect(result).toMatch(/^1000\n/m);
    expect(first.text).toContain('result: 1000');
    const container = `clawpod-grp-${G}o1`;
    expect(podman(['exec', container, 'cat', '/workspace/proof.txt']).stdout).toBe('hi\n');
    // the key reached the provider (the fixture) but not the container's environment
    expect(model.requests.at(-1)!.headers.authorization).toBe('Bearer fixture-key-123');
    expect(podman(['exec', container, 'sh', '-c', 'cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"']).stdout).not.toContain('fixture-key-123');

    const idBefore = podman(['inspect', container, '--format', '{{.Id}}']).stdout;
    const t0 = Date.now();
    const second = await ask(p, `${G}o1`, 'and now?');
    expect(second.message.status).toBe('done');
    expect(second.message.session_id).toBe(first.message.session_id);
    expect(second.events.some((e) => e.type === 'session_starting')).toBe(false);
    expect(podman(['inspect', container, '--format', '{{.Id}}']).stdout).toBe(idBefore);
    // the model saw the whole conversation: the first question, its answer, the follow-up
    const seen = model.requests.at(-1)!.messages.map((m) => m.text).join('\n');
    expect(seen).toContain('run: echo hi');
    expect(seen).toContain('result: 1000');
    expect(seen).toContain('and now?');
    console.log(`follow-up round trip through the API: ${Date.now() - t0} ms`);

    // the Anthropic wire protocol, on another group
    const a = await ask(p, `${G}a1`, 'hello claude');
    expect(a.message.status).toBe('done');
    expect(a.text).toBe('echo: hello claude');
    expect(model.requests.at(-1)!.provider).toBe('anthropic');
  });

  it('refuses bad input clearly: unknown group, oversized message, provider error, provider timeout', async () => {
    const p = await startPlane(planeYaml(model, { groups: [`${G}o2`], modelExtra: ', timeout: 2s' }));
    planes.push(p);
    const unknown = await clawpod(['send', 'no-such-group', 'hi'], { env: p.env });
    expect(unknown.code).toBe(6);
    expect(unknown.stderr).toContain('no group named no-such-group');
    expect(unknown.stderr).toContain(`known groups: ${G}o2`);
    const big = await clawpod(['send', `${G}o2`, 'x'.repeat(70_000)], { env: p.env });
    expect(big.code).toBe(2);
    expect(big.stderr).toContain('65536-byte limit');

    const failed = await ask(p, `${G}o2`, 'fail');
    expect(failed.message.status).toBe('failed');
    expect(failed.message.error).toContain('upstream exploded');
    expect(failed.events.find((e) => e.type === 'error')?.data).toMatchObject({ code: 'provider_error' });
    expect(failed.message.error).not.toContain('fixture-key-123');

    const hung = await ask(p, `${G}o2`, 'hang');
    expect(hung.message.status, JSON.stringify(hung.events)).toBe('failed');
    expect(hung.events.find((e) => e.type === 'error')?.data).toMatchObject({ code: 'provider_timeout' });

    // the session survives both: the next message works in the same container
    const ok = await ask(p, `${G}o2`, 'still there?');
    expect(ok.message.status).toBe('done');
    expect(ok.message.session_id).toBe(failed.message.session_id);

    const cli = await clawpod(['send', `${G}o2`, 'from', 'the', 'cli'], { env: p.env });
    expect(cli).toMatchObject({ code: 0, stdout: 'echo: from the cli\n' });
    // chat with piped lines: every line is a message, every answer comes back in order
    const chat = await clawpod(['chat', `${G}o2`], { env: p.env, input: 'first\nsecond\n' });
    expect(chat).toMatchObject({ code: 0, stdout: 'echo: first\necho: second\n' });
  });

  it('six groups with a limit of five: the sixth waits, then runs', async () => {
    const groups = [1, 2, 3, 4, 5, 6].map((i) => `${G}q${i}`);
    const p = await startPlane(planeYaml(model, { groups, maxConcurrent: 5 }));
    planes.push(p);
    const ids: string[] = [];
    for (const g of groups) ids.push((await p.client.call<{ id: string }>('POST', `/v1/groups/${g}/messages`, { text: 'slow:2500' })).id);
    await waitFor('five running', async () => {
      const ms = await Promise.all(ids.map((id) => p.client.call<MessageView>('GET', `/v1/messages/${id}`)));
      return ms.filter((m) => m.status === 'running').length === 5 ? ms : undefined;
    });
    const sixth = await p.client.call<MessageView>('GET', `/v1/messages/${ids[5]}`);
    expect(sixth.status).toBe('queued');
    let most = 0;
    const done = await waitFor('all done', async () => {
      most = Math.max(most, sessionContainers().filter((n) => groups.some((g) => n === `clawpod-grp-${g}`)).length);
      const ms = await Promise.all(ids.map((id) => p.client.call<MessageView>('GET', `/v1/messages/${id}`)));
      return ms.every((m) => m.status === 'done') ? ms : undefined;
    }, 60_000);
    expect(done).toHaveLength(6);
    expect(most).toBeLessThanOrEqual(5);
    const health = await p.client.call<{ running: number }>('GET', '/v1/health');
    expect(health.running).toBeLessThanOrEqual(5);
  }, 90_000);

  it('kill -9 mid-session: after a restart the message completes, and no container is left without a session', async () => {
    const g = `${G}k1`;
    let p = await startPlane(planeYaml(model, { groups: [g] }));
    const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${g}/messages`, { text: 'slow:3000' });
    await waitFor('running', async () => (await p.client.call<MessageView>('GET', `/v1/messages/${id}`)).status === 'running' || undefined);
    await p.stop('SIGKILL');
    expect(sessionContainers()).toContain(`clawpod-grp-${g}`); // left behind by the killed daemon

    p = await startPlane(planeYaml(model, { groups: [g] }), p);
    planes.push(p);
    expect(p.output()).toContain(`removing clawpod-grp-${g}`);
    const m = await waitFor('the message to finish', async () => {
      const v = await p.client.call<MessageView>('GET', `/v1/messages/${id}`);
      return v.status === 'done' || v.status === 'failed' ? v : undefined;
    }, 60_000);
    expect(m).toMatchObject({ status: 'done', attempts: 2 });
    const events: string[] = [];
    for await (const e of p.client.events(id)) events.push(e.type);
    expect(events).toContain('retry');
    // every session container belongs to an open session
    const groupsNow = await p.client.call<{ name: string; session: { container: string | null } | null }[]>('GET', '/v1/groups');
    const open = new Set(groupsNow.map((x) => x.session?.container).filter(Boolean));
    for (const c of sessionContainers().filter((n) => n === `clawpod-grp-${g}`)) expect(open.has(c), `${c} has no session`).toBe(true);
  }, 120_000);

  it('delivers follow-ups over attach stdin too (the gVisor and Kubernetes path), and enforces the session deadline', async () => {
    const g = `${G}s1`;
    const p = await startPlane(planeYaml(model, { groups: [g], extra: '  followups: stdin\n  session: {deadline: 4s, grace: 1s}' }));
    planes.push(p);
    const a = await ask(p, g, 'one');
    const b = await ask(p, g, 'two');
    expect([a.text, b.text]).toEqual(['echo: one', 'echo: two']);
    expect(b.message.session_id).toBe(a.message.session_id);
    expect(b.events.find((e) => e.type === 'delivered')?.data).toMatchObject({ followup: true, via: 'stdin' });
    // past the deadline: graceful close, then stop; the unfinished message fails with the reason
    const late = await ask(p, g, 'slow:8000');
    expect(late.message.status).toBe('failed');
    expect(late.message.error).toMatch(/deadline of .* reached/);
    await waitFor('the container to go', () => (sessionContainers().includes(`clawpod-grp-${g}`) ? undefined : true));
  });

  it('records a misbehaving runner: malformed frames and stray output become events, the message still ends', async () => {
    const g = `${G}m1`;
    const script = [
      'read -r line',
      'nonce=$(printf "%s" "$line" | sed -n "s/.*\\"nonce\\":\\"\\([0-9a-f]*\\)\\".*/\\1/p")',
      'mid=$(printf "%s" "$line" | sed -n "s/.*\\"message\\":{\\"id\\":\\"\\([^\\"]*\\)\\".*/\\1/p")',
      'printf "<<<CLAWPOD:%s>>>{not json<<<END:%s>>>\\n" "$nonce" "$nonce"',
      'printf "<<<CLAWPOD:0000>>>{\\"type\\":\\"end\\",\\"messageId\\":\\"%s\\",\\"stopReason\\":\\"end_turn\\"}<<<END:0000>>>\\n" "$mid"',
      'printf "<<<CLAWPOD:%s>>>{\\"type\\":\\"end\\",\\"messageId\\":\\"%s\\",\\"stopReason\\":\\"end_turn\\"}<<<END:%s>>>\\n" "$nonce" "$mid" "$nonce"',
      'sleep 600',
    ].join('\n');
    const p0 = await startPlane(planeYaml(model, { groups: [g] }));
    await p0.stop();
    const agentFile = `${p0.dataDir}/bad-runner.yaml`;
    writeFileSync(agentFile, `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: bad-runner}\nspec:\n  command: [sh, -c, ${JSON.stringify(script)}]\n`);
    const p = await startPlane(planeYaml(model, { groups: [g], extra: `  agent: ${agentFile}\n  session: {grace: 1s}` }), p0);
    planes.push(p);
    const r = await ask(p, g, 'hello');
    expect(r.message.status).toBe('done');
    const err = r.events.find((e) => e.type === 'error');
    expect(err?.data).toMatchObject({ code: 'malformed_frame' });
    expect(String(err?.data.message)).toContain('not JSON');
    // the frame with a guessed nonce is only noise, not an event
    expect(r.events.filter((e) => e.type === 'end')).toHaveLength(1);
    expect(r.events.some((e) => e.type === 'runner_noise' && String(e.data.line).includes('CLAWPOD:0000'))).toBe(true);
  });
});
