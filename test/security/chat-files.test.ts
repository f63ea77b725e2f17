// Chat files cannot be used to write or read outside the places meant for them (real Podman, a
// real `clawpod serve`, the reference runner, the scripted model's bash tool as the agent):
// - a file named like a path ('../../etc/x') lands in /workspace/inbox/ under its basename;
// - an inbox the agent swapped for a symlink is not written through, nor is a symlink the agent
//   planted at a file's name (the file gets the next free name);
// - a symlink in the outbox (to /etc/passwd) is not sent, nor is anything of an outbox that is
//   itself a symlink; only the regular file beside it is.
// The host never touches the workspace volume: all of this happens in the runner, as the agent's user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { podman } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from '../helpers/control.js';

let model: ModelServer;
let plane: Plane | undefined;
const G = `x${process.pid.toString(36)}`;
const container = `clawpod-grp-${G}`;

interface Ev { type: string; data: Record<string, unknown> }
async function ask(text: string, files: { name: string; bytes: Buffer }[] = []) {
  const p = plane!;
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${G}/messages`, { text, files: files.map((f) => ({ name: f.name, data: f.bytes.toString('base64') })) });
  const events: Ev[] = [];
  for await (const e of p.client.events(id)) events.push(e);
  const message = await p.client.call<MessageView>('GET', `/v1/messages/${id}`);
  const output = events.filter((e) => e.type === 'tool_result').map((e) => String(e.data.output)).join('\n');
  return { id, events, message, output, why: JSON.stringify(events.slice(-4)).slice(0, 1500) };
}
const seen = () => model.requests.at(-1)!.messages.map((m) => m.text).join('\n');
const exists = (path: string) => podman(['exec', container, 'test', '-e', path]).code === 0;

beforeAll(async () => {
  model = await modelServer();
  plane = await startPlane(planeYaml(model, { groups: [G] }));
});
afterAll(async () => {
  await plane?.stop();
  podman(['rm', '-f', container]);
  await model?.close();
});

describe('chat files stay inside the inbox and the outbox', () => {
  it('a name like a path is reduced to its basename inside /workspace/inbox', async () => {
    const r = await ask('run: ls -A /workspace/inbox; cat /workspace/inbox/x', [{ name: '../../etc/x', bytes: Buffer.from('not in etc') }]);
    expect(r.message.status, r.why).toBe('done');
    expect(r.output).toContain('not in etc');
    expect(seen()).toContain('[file attached: /workspace/inbox/x (10 bytes)]');
    expect(exists('/etc/x')).toBe(false);
    expect(exists('/workspace/x')).toBe(false);
  }, 60_000);

  it('a symlink the agent planted at a file\'s name is not written through: the file gets the next name', async () => {
    const plant = await ask('run: mkdir -p /tmp/away && ln -s /tmp/away/y.txt /workspace/inbox/y.txt && ls -l /workspace/inbox');
    expect(plant.output).toContain('y.txt -> /tmp/away/y.txt');
    const r = await ask('run: cat /workspace/inbox/y-2.txt', [{ name: 'y.txt', bytes: Buffer.from('kept inside') }]);
    expect(r.message.status, r.why).toBe('done');
    expect(r.output).toContain('kept inside');
    expect(exists('/tmp/away/y.txt')).toBe(false);
  }, 60_000);

  it('an inbox the agent swapped for a symlink is not written through; the model is told the file was not saved', async () => {
    const plant = await ask('run: rm -rf /workspace/inbox && mkdir -p /tmp/elsewhere && ln -s /tmp/elsewhere /workspace/inbox && echo planted');
    expect(plant.output).toContain('planted');
    const r = await ask('run: ls -A /tmp/elsewhere; echo listed', [{ name: 'z.txt', bytes: Buffer.from('must not land') }]);
    expect(r.message.status, r.why).toBe('done');
    expect(seen()).toMatch(/\[file not saved: z\.txt \(13 bytes\): .*not a folder/);
    expect(r.output.split('\n')[0]).toBe('listed');
    expect(podman(['exec', container, 'ls', '-A', '/tmp/elsewhere']).stdout.trim()).toBe('');
  }, 60_000);

  it('a symlink in the outbox (to /etc/passwd) is not sent; an outbox that is a symlink sends nothing', async () => {
    const r = await ask('run: mkdir -p /workspace/outbox && ln -s /etc/passwd /workspace/outbox/passwd && printf fine > /workspace/outbox/real.txt && echo ok');
    expect(r.message.status, r.why).toBe('done');
    const files = r.events.filter((e) => e.type === 'file');
    expect(files.map((f) => f.data.name)).toEqual(['real.txt']);
    // nothing of /etc/passwd anywhere in the message's events
    expect(JSON.stringify(r.events)).not.toContain('root:x:0:0');
    // the link stays where the agent put it; the real file moved to sent/
    expect(podman(['exec', container, 'sh', '-c', 'test -L /workspace/outbox/passwd && test -f /workspace/outbox/sent/real.txt && echo yes']).stdout.trim()).toBe('yes');

    const swap = await ask('run: rm -rf /workspace/outbox && ln -s /etc /workspace/outbox && echo swapped');
    expect(swap.message.status, swap.why).toBe('done');
    expect(swap.events.some((e) => e.type === 'file')).toBe(false);
    expect(podman(['exec', container, 'test', '-e', '/etc/sent']).code).not.toBe(0);
  }, 60_000);
});
