// isolation: microvm on real Podman (docs/runtimes.md, "microVM tier"): the agent runs in a kernel of
// its own, and what the engine prepared still reaches it there — the workspace volume (written in the
// VM, read afterwards by a runc agent), a secret file, the exit code; a control-plane session answers
// a first message and a stdin follow-up through the LLM gateway's socket, forwarded into the VM, and
// `podman exec` runs in the guest.
// Needs what ./scripts/setup.sh installs and registers (QEMU, a Debian kernel, clawpod-microvm).
// Slow on these machines: their /dev/kvm is PVM, so QEMU emulates the guest (TCG): ~30 s a boot.
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, CONF, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from '../helpers/control.js';

const P = uniquePrefix('mvm');
const dir = tmpDir();
const registered = (() => { try { return readFileSync(CONF, 'utf8').includes('clawpod-microvm'); } catch { return false; } })();
// an engine of your own (CONTAINER_HOST) whose service read the containers.conf that registers it
const hostEnv: Record<string, string> = process.env.CONTAINER_HOST ? { CONTAINER_HOST: process.env.CONTAINER_HOST } : {};
// CI runs after setup.sh, which registers it: a missing tier there is a failure, not a skip
const run = registered || process.env.CI === 'true' ? describe : describe.skip;

let model: ModelServer | undefined;
let plane: Plane | undefined;

beforeAll(async () => { if (registered) model = await modelServer(); });
afterAll(async () => {
  await plane?.stop();
  await model?.close();
  cleanup(P);
  for (const n of podman(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter((l) => l.includes(`clawpod-grp-${P}`))) podman(['rm', '-f', n]);
  for (const v of [`clawpod-${P}a-workspace`, `clawpod-clawpod-grp-${P}g-workspace`]) podman(['volume', 'rm', '-f', v]);
});

run('isolation: microvm', () => {
  it('runs the agent in its own kernel with its volume, secret file and exit code', async () => {
    const env = scratchEnv({ ...hostEnv, [`SECRET_${P}`]: 's3cr3t-value' });
    const spec = (isolation: string, cmd: string) => writeSpec(dir, `${isolation}.yaml`, agentYaml(`${P}a`, [
      `isolation: ${isolation}`, 'network: none', 'resources: {cpu: "1", memory: 512Mi, pids: 128}',
      `secrets: [{name: TOKEN, source: env, secretRef: {name: SECRET_${P}}}]`,
      `command: [sh, -c, ${JSON.stringify(cmd)}]`,
    ].join('\n')));
    const t0 = Date.now();
    const vm = await clawpod(['run', '--rm', '-f', spec('microvm', 'uname -r; cat /run/secrets/TOKEN; echo; echo written-in-the-vm > /workspace/proof; exit 3')], { env, timeoutMs: 240_000 });
    console.log(`microvm run --rm: ${Date.now() - t0} ms`);
    expect(vm.code, vm.stderr).toBe(3);
    const [kernel, secret] = vm.stdout.split('\n');
    expect(kernel).toMatch(/^\d+\.\d+/);
    expect(kernel).not.toBe(release());
    expect(secret).toBe('s3cr3t-value');
    // the same workspace volume, read by a runc agent afterwards
    const after = await clawpod(['run', '--rm', '-f', spec('runc', 'cat /workspace/proof; uname -r')], { env });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe(`written-in-the-vm\n${release()}\n`);
  }, 300_000);

  it('a memory limit too small for QEMU and its guest is refused before anything is created', async () => {
    const spec = writeSpec(dir, 'small.yaml', agentYaml(`${P}m`, 'isolation: microvm\nnetwork: none\nresources: {cpu: "1", memory: 128Mi, pids: 64}\ncommand: ["true"]'));
    const r = await clawpod(['run', '--rm', '-f', spec], { env: scratchEnv(hostEnv) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/isolation: microvm needs a memory limit of at least 256 MiB.*128 MiB/);
    expect(r.stderr).toMatch(/set spec\.resources\.memory to 256Mi or more/);
    expect(podman(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain(`${P}m`);
  }, 60_000);

  it('a control-plane session answers a first message and a follow-up from inside the VM', async () => {
    const agentFile = `${dir}/session-agent.yaml`;
    writeFileSync(agentFile, agentYaml(`${P}s`, 'command: [clawpod-agent]\nisolation: microvm\nresources: {cpu: "1", memory: 768Mi, pids: 256}'));
    plane = await startPlane(planeYaml(model!, { groups: [`${P}g`], extra: `  agent: ${agentFile}\n  session: {grace: 1s}` }), undefined, hostEnv);
    const ask = async (text: string) => {
      const { id } = await plane!.client.call<{ id: string }>('POST', `/v1/groups/${P}g/messages`, { text });
      const events: { type: string; data: Record<string, unknown> }[] = [];
      for await (const e of plane!.client.events(id)) events.push(e);
      return { message: await plane!.client.call<MessageView>('GET', `/v1/messages/${id}`), events, text: events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('') };
    };
    const t0 = Date.now();
    const first = await ask('run: uname -r');
    console.log(`microvm session, first answer: ${Date.now() - t0} ms`);
    expect(first.message.status, JSON.stringify(first.events.slice(-3))).toBe('done');
    // the bash tool's output: the guest's kernel, then the runner's "[exit code 0]"
    const out = String(first.events.find((e) => e.type === 'tool_result')?.data.output).split('\n')[0]!;
    expect(out).toMatch(/^\d+\.\d+/);
    expect(out).not.toBe(release());
    // exec reaches the guest (the same kernel, the agent's files), not the VMM's jail
    const ex = podman(['exec', `clawpod-grp-${P}g`, 'sh', '-c', 'uname -r; ls /opt/clawpod']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout.split('\n')[0]).toBe(out);
    expect(ex.stdout).toContain('mcp');
    const t1 = Date.now();
    const second = await ask('and now?');
    console.log(`microvm session, follow-up: ${Date.now() - t1} ms`);
    expect(second.message.status).toBe('done');
    expect(second.message.session_id).toBe(first.message.session_id);
    expect(second.events.some((e) => e.type === 'session_starting')).toBe(false);
    expect(model!.requests.at(-1)!.messages.map((m) => m.text).join('\n')).toContain('and now?');
  }, 420_000);
});
