// The same agents under gVisor (runsc) for real: a plain `clawpod run` (Node inside gVisor's
// kernel, output and exit code back), a control-plane session whose follow-up reaches the runner
// (attach stdin: inotify on a bind mount does not fire under gVisor), and a networked gVisor agent
// serving on a published port (the `runsc-net` runtime, docs/runtimes.md). An OpenClaw gateway
// under gVisor: test/integration/openclaw-gvisor.test.ts.
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { agentYaml, cleanup, clawpod, GVISOR_FIX, podman, runtimeRegistered, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, type MessageView, type Plane } from '../helpers/control.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('gv');
const env = scratchEnv();
const dir = tmpDir();
let model: ModelServer | undefined;
let plane: Plane | undefined;

beforeAll(async () => { model = await modelServer(); });
afterAll(async () => {
  await plane?.stop();
  for (const n of podman(['ps', '-a', '--filter', `label=dev.clawpod.group=${P}s`, '--format', '{{.Names}}']).stdout.split('\n').filter(Boolean)) podman(['rm', '-f', n]);
  podman(['volume', 'rm', '-f', `clawpod-clawpod-grp-${P}s-workspace`]); // the group's workspace, kept between sessions
  cleanup(P);
  await model?.close();
});

describe('isolation: gvisor, end to end', () => {
  it('clawpod run: Node runs on gVisor\'s kernel, its output and exit code come back', async (ctx) => {
    need(ctx, runtimeRegistered('runsc'), 'runsc registered with Podman', GVISOR_FIX);
    const spec = writeSpec(dir, 'a.yaml', agentYaml(`${P}a`, 'isolation: gvisor\ncommand: [node, -e, "console.log(\'kernel\', require(\'os\').release()); process.exit(3)"]'));
    const r = await clawpod(['run', '-f', spec], { env, timeoutMs: 90_000 });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(3);
    const kernel = /^kernel (\S+)$/m.exec(r.stdout)?.[1];
    expect(kernel).toBeDefined();
    expect(kernel).not.toBe(release());
  }, 120_000);

  it('clawpod serve: a gVisor session answers a tool call, and a follow-up reaches the same runner over stdin', async (ctx) => {
    need(ctx, runtimeRegistered('runsc'), 'runsc registered with Podman', GVISOR_FIX);
    const g = `${P}s`;
    const agentFile = writeSpec(dir, 'session-agent.yaml', agentYaml('session', 'isolation: gvisor\ncommand: [clawpod-agent]'));
    plane = await startPlane(planeYaml(model!, { groups: [g], extra: `  agent: ${agentFile}` }));
    const ask = async (text: string) => {
      const { id } = await plane!.client.call<{ id: string }>('POST', `/v1/groups/${g}/messages`, { text });
      const events: { type: string; data: Record<string, unknown> }[] = [];
      for await (const e of plane!.client.events(id)) events.push(e);
      return { events, message: await plane!.client.call<MessageView>('GET', `/v1/messages/${id}`) };
    };
    const first = await ask('run: uname -r; id -u');
    expect(first.message.status, JSON.stringify(first.events.slice(-6))).toBe('done');
    const out = String(first.events.find((e) => e.type === 'tool_result')?.data.output);
    expect(out.split('\n')[0]).not.toBe(release());
    expect(out).toMatch(/^1000$/m);
    expect(first.events.find((e) => e.type === 'session_starting')?.data).toMatchObject({ followups: 'stdin' });
    const container = `clawpod-grp-${g}`;
    expect(podman(['inspect', container, '--format', '{{.OCIRuntime}}']).stdout.trim()).toBe('runsc');

    const second = await ask('and now?');
    expect(second.message.status, JSON.stringify(second.events.slice(-4))).toBe('done');
    expect(second.message.session_id).toBe(first.message.session_id);
    expect(second.events.find((e) => e.type === 'delivered')?.data).toMatchObject({ followup: true, via: 'stdin' });
    expect(second.events.filter((e) => e.type === 'text').map((e) => e.data.delta).join('')).toContain('echo: and now?');
  }, 180_000);

  it('a networked gVisor agent (runsc-net) serves on its published port from its own network namespace', async (ctx) => {
    need(ctx, runtimeRegistered('runsc-net'), 'runsc-net registered with Podman (networked gVisor)', GVISOR_FIX);
    const name = `${P}n`;
    const port = 20000 + (process.pid % 20000);
    const server = 'require("http").createServer((q, s) => s.end(require("os").release())).listen(8080)';
    const spec = writeSpec(dir, 'n.yaml', agentYaml(name, `isolation: gvisor\nnetwork: bridge\nports: [{containerPort: 8080, hostPort: ${port}}]\ncommand: [node, -e, ${JSON.stringify(server)}]`));
    const r = await clawpod(['run', '-d', '-f', spec], { env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(podman(['inspect', name, '--format', '{{.OCIRuntime}}']).stdout.trim()).toBe('runsc-net');
    let kernel = '';
    for (let i = 0; i < 100 && !kernel; i++) {
      kernel = await fetch(`http://127.0.0.1:${port}/`).then((x) => x.text(), () => '');
      if (!kernel) await new Promise((res) => setTimeout(res, 100));
    }
    expect(kernel).toMatch(/^\d+\.\d+/);
    expect(kernel).not.toBe(release());
    // the host kernel's network stack, but in the container's own namespace: none of the host's interfaces
    const ifaces = podman(['exec', name, 'cat', '/proc/net/dev']).stdout;
    expect(ifaces).toMatch(/eth0:/);
    expect(ifaces).not.toMatch(/\b(br-|veth|cni|podman)\w*:/);
  }, 120_000);
});

