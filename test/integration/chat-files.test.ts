// Files with chat messages, end to end on real Podman: a real `clawpod serve`, the reference
// runner in the group's container, the scripted model calling its bash tool. A file sent with a
// message is in /workspace/inbox/ (first message: the StartDoc; follow-ups: the IPC folder in
// `dir` mode, a stdin line in `stdin` mode, each with a 10 MiB file); what the agent writes to
// /workspace/outbox/ comes back as a `file` event whose bytes the API serves.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { podman } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from '../helpers/control.js';

let model: ModelServer;
const planes: Plane[] = [];
const G = `f${process.pid.toString(36)}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Ev { type: string; data: Record<string, unknown> }
async function ask(p: Plane, group: string, text: string, files: { name: string; bytes: Buffer }[] = []) {
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text, files: files.map((f) => ({ name: f.name, data: f.bytes.toString('base64') })) });
  const events: Ev[] = [];
  for await (const e of p.client.events(id)) events.push(e);
  const message = await p.client.call<MessageView>('GET', `/v1/messages/${id}`);
  const output = events.filter((e) => e.type === 'tool_result').map((e) => String(e.data.output)).join('\n');
  return { id, events, message, output, why: JSON.stringify(events.slice(-4)).slice(0, 1500) };
}

async function download(p: Plane, messageId: string, fileId: string): Promise<{ status: number; bytes: Buffer; disposition: string | null }> {
  const token = readFileSync(join(p.dataDir, 'control', 'token'), 'utf8').trim();
  const res = await fetch(`${p.client.url}/v1/messages/${messageId}/files/${fileId}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition') };
}

const seen = () => model.requests.at(-1)!.messages.map((m) => m.text).join('\n');

beforeAll(async () => { model = await modelServer(); });
afterAll(async () => {
  await Promise.all(planes.map((p) => p.stop()));
  for (const g of ['d', 's']) podman(['rm', '-f', `clawpod-grp-${G}${g}`]);
  await model?.close();
});

describe('files with chat messages', () => {
  it('dir follow-ups: inbox files reach bash (first message and a 10 MiB follow-up), outbox files come back through the API', async () => {
    const p = await startPlane(planeYaml(model, { groups: [`${G}d`], extra: '  followups: dir' }));
    planes.push(p);
    const g = `${G}d`;
    // the first message: its file travels in the StartDoc
    const first = await ask(p, g, 'run: cat /workspace/inbox/hello.txt', [{ name: 'hello.txt', bytes: Buffer.from('hello from the chat\n') }]);
    expect(first.message.status, first.why).toBe('done');
    expect(first.output).toContain('hello from the chat');
    expect(seen()).toContain('[file attached: /workspace/inbox/hello.txt (20 bytes)]');
    const queued = first.events.find((e) => e.type === 'queued')!;
    expect(queued.data.files).toEqual([expect.objectContaining({ name: 'hello.txt', size: 20 })]);

    // a follow-up (a JSON file in the IPC folder) with a file at the 10 MiB limit
    const big = randomBytes(10 * 1024 * 1024);
    const second = await ask(p, g, 'run: sha256sum /workspace/inbox/big.bin', [{ name: 'big.bin', bytes: big }]);
    expect(second.message.status, second.why).toBe('done');
    expect(second.message.session_id).toBe(first.message.session_id);
    expect(second.output).toContain(sha(big));

    // the agent writes two files to its outbox (one at 10 MiB): each becomes a `file` event of the message
    const third = await ask(p, g, 'run: mkdir -p /workspace/outbox && printf "the report" > /workspace/outbox/report.txt && head -c 10485760 /dev/urandom > /workspace/outbox/big.out && echo written');
    expect(third.message.status, third.why).toBe('done');
    const files = third.events.filter((e) => e.type === 'file');
    expect(files.map((f) => f.data.name).sort()).toEqual(['big.out', 'report.txt']);
    // the event holds the digest and the id, never the bytes
    for (const f of files) expect(Object.keys(f.data).sort()).toEqual(['fileId', 'name', 'sha256', 'size']);
    // before the message's end
    expect(third.events.findIndex((e) => e.type === 'file')).toBeLessThan(third.events.findIndex((e) => e.type === 'end'));
    const report = files.find((f) => f.data.name === 'report.txt')!;
    const got = await download(p, third.id, String(report.data.fileId));
    expect(got.status).toBe(200);
    expect(got.bytes.toString()).toBe('the report');
    expect(got.disposition).toContain("filename*=UTF-8''report.txt");
    const bigOut = files.find((f) => f.data.name === 'big.out')!;
    const gotBig = await download(p, third.id, String(bigOut.data.fileId));
    expect(gotBig.bytes.length).toBe(10 * 1024 * 1024);
    expect(sha(gotBig.bytes)).toBe(bigOut.data.sha256);
    expect(podman(['exec', `clawpod-grp-${g}`, 'sha256sum', '/workspace/outbox/sent/big.out']).stdout).toContain(String(bigOut.data.sha256));
    // the file under another message's id is not found; the next message sends nothing again
    expect((await download(p, first.id, String(report.data.fileId))).status).toBe(404);
    const fourth = await ask(p, g, 'run: ls /workspace/outbox /workspace/outbox/sent');
    expect(fourth.events.some((e) => e.type === 'file')).toBe(false);
    expect(fourth.output).toMatch(/big\.out\s+report\.txt/);
  }, 90_000);

  it('stdin follow-ups: a 10 MiB file in one JSON line reaches the runner whole', async () => {
    const p = await startPlane(planeYaml(model, { groups: [`${G}s`], extra: '  followups: stdin' }));
    planes.push(p);
    const g = `${G}s`;
    const first = await ask(p, g, 'hello');
    expect(first.message.status, first.why).toBe('done');
    const big = randomBytes(10 * 1024 * 1024);
    const second = await ask(p, g, 'run: sha256sum /workspace/inbox/big.bin /workspace/inbox/big-2.bin', [{ name: 'big.bin', bytes: big }, { name: 'big.bin', bytes: Buffer.from('small') }]);
    expect(second.message.status, second.why).toBe('done');
    expect(second.message.session_id).toBe(first.message.session_id);
    expect(second.output).toContain(sha(big));
    expect(second.output).toContain(sha(Buffer.from('small')));
    expect(seen()).toContain(`[file attached: /workspace/inbox/big.bin (${big.length} bytes)]`);
    // over the limit: refused before anything is stored
    const tooBig = await p.client.call('POST', `/v1/groups/${g}/messages`, { text: 'x', files: [{ name: 'huge.bin', data: Buffer.alloc(10 * 1024 * 1024 + 1).toString('base64') }] }).catch((e: Error) => e);
    expect(tooBig).toBeInstanceOf(Error);
    expect((tooBig as Error).message).toMatch(/huge\.bin.*10485761 bytes.*10485760-byte limit/);
  }, 90_000);
});
