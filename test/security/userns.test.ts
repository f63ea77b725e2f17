// Finding: with rootful Podman the agent's uid 1000 was the host's uid 1000 (a real account here,
// e.g. `cloudsdk`), which could read an agent's secrets through /proc/PID/root/run/secrets and
// signal it. The attack is that host user's: it tries both against a running agent. Agents now run
// in a user namespace (Podman: a fixed id map above every host account), and must still read their secrets, write
// their workspace and publish their ports.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('uns');
const SECRET = `s3cret-${P}`;
const env = scratchEnv({ [`UNS_${P}`]: SECRET });
const name = `${P}a`;
let pid = 0;
let hostPort = 0;

beforeAll(async () => {
  const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(name, [
    'command: [node, -e, "require(\'http\').createServer((q, s) => s.end(\'up\')).listen(8080)"]',
    'network: bridge',
    'ports: [{containerPort: 8080}]',
    `secrets: [{name: TOKEN, source: env, secretRef: {name: UNS_${P}}}]`,
  ].join('\n')));
  const r = await clawpod(['run', '-d', '-f', spec], { env });
  expect(r.code, r.stderr).toBe(0);
  pid = Number(podman(['inspect', name, '--format', '{{.State.Pid}}']).stdout.trim());
  const inspect = JSON.parse((await clawpod(['inspect', name], { env })).stdout) as { ports: { hostPort: number }[] };
  hostPort = inspect.ports[0]!.hostPort;
});
afterAll(() => cleanup(P));

/** Runs a command as the host's uid 1000, the uid the agent has inside. */
function asHostUid1000(cmd: string[]): { code: number; stderr: string; stdout: string } {
  const r = spawnSync('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', ...cmd], { encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

describe('the agent\'s uid is no host account', () => {
  it('runs as uid 1000 inside, as a host uid that is neither 1000 nor any /etc/passwd account', () => {
    expect(podman(['exec', name, 'id', '-u']).stdout.trim()).toBe('1000');
    const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!.slice(1).map(Number);
    const accounts = new Set(readFileSync('/etc/passwd', 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split(':')[2])));
    for (const u of uids) {
      expect(u).not.toBe(1000);
      expect(accounts.has(u)).toBe(false);
    }
  });

  it('host uid 1000 can neither read the agent\'s secret through /proc/PID/root nor signal it', (ctx) => {
    need(ctx, process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0, 'root and setpriv (util-linux) to act as host uid 1000');
    const read = asHostUid1000(['cat', `/proc/${pid}/root/run/secrets/TOKEN`]);
    expect(read.code).not.toBe(0);
    expect(read.stdout).not.toContain(SECRET);
    expect(read.stderr).toMatch(/Permission denied/);
    const kill = asHostUid1000(['kill', '-0', String(pid)]);
    expect(kill.code).not.toBe(0);
    expect(kill.stderr).toMatch(/not permitted/);
  });

  it('the agent still reads its secret, writes its workspace and publishes its port', async () => {
    expect(podman(['exec', name, 'cat', '/run/secrets/TOKEN']).stdout).toBe(SECRET);
    expect(podman(['exec', name, 'sh', '-c', 'echo x > /workspace/f && cat /workspace/f']).stdout.trim()).toBe('x');
    let body = '';
    for (let i = 0; i < 100 && body !== 'up'; i++) {
      body = await fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text(), () => '');
      if (body !== 'up') await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe('up');
  });
});
