// The same verbs on Docker's engine. Runs where Docker answers (DOCKER_HOST) or where dockerd
// is installed, in which case the test starts a private dockerd on a scratch socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, clawpod, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { probeSocket } from '../../src/runtime/probe.js';
import { IN_CI } from '../helpers/prereq.js';

const dockerd = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' }).stdout.trim();
const given = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : undefined;
const P = uniquePrefix('dk');
let daemon: ChildProcess | undefined;
let socket = given ?? '';
let env: Record<string, string> = {};

// Locally it skips without Docker; in CI `.ci/run` installs docker.io, so a missing dockerd fails.
describe.skipIf(!IN_CI && !dockerd && !given)('Docker engine driver', () => {
  beforeAll(async () => {
    if (!dockerd && !given) throw new Error('prerequisite missing in CI: dockerd (the Debian package docker.io, which .ci/run installs)');
    if (!given) {
      const root = tmpDir();
      socket = join(root, 'docker.sock');
      mkdirSync(join(root, 'exec'));
      daemon = spawn(dockerd, ['--host', `unix://${socket}`, '--data-root', join(root, 'data'), '--exec-root', join(root, 'exec'),
        '--pidfile', join(root, 'docker.pid'), '--bridge', 'none', '--iptables=false', '--default-ulimit', 'nofile=1024:1024', '--default-ulimit', 'nproc=1024:1024'],
      { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(existsSync(socket) && (await probeSocket(socket, 500))); i++) await new Promise((r) => setTimeout(r, 100));
    }
    env = scratchEnv({ DOCKER_HOST: `unix://${socket}`, CLAWPOD_RUNTIME: 'docker' });
    const b = await clawpod(['image', 'build'], { env, timeoutMs: 300_000 });
    expect(b.code, b.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (daemon) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
      rmSync(join(socket, '..'), { recursive: true, force: true });
    }
  });

  it('runs a hardened agent, keeps its workspace, and removes it', async () => {
    const name = `${P}a`;
    const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(name, 'command: [sleep, "600"]\nresources: {memory: 64Mi, pids: 32}'));
    const run = await clawpod(['run', '-d', '-f', spec], { env });
    expect(run.code, run.stderr).toBe(0);
    const inspect = JSON.parse((await clawpod(['inspect', name], { env })).stdout);
    expect(inspect).toMatchObject({
      runtime: 'docker',
      security: { user: '1000:1000', readOnlyRootfs: true, capDrop: ['ALL'], securityOpt: ['no-new-privileges'] },
      resources: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 32 },
    });
    expect((await clawpod(['exec', name, 'sh', '-c', 'id -u; echo kept > /workspace/f; touch /etc/x 2>/dev/null || echo ro'], { env })).stdout).toBe('1000\nro\n');
    expect((await clawpod(['rm', '-f', name], { env })).code).toBe(0);
    expect((await clawpod(['run', '-d', '-f', spec], { env })).code).toBe(0);
    expect((await clawpod(['exec', name, 'cat', '/workspace/f'], { env })).stdout).toBe('kept\n');
    const attached = await clawpod(['run', '--rm', '--name', `${P}once`, '-f', writeSpec(tmpDir(), 'o.yaml', agentYaml(`${P}o`, 'command: [sh, -c, "echo hi; exit 4"]\nworkspace: {enabled: false}'))], { env });
    expect(attached).toMatchObject({ code: 4, stdout: 'hi\n' });
    expect((await clawpod(['rm', '-f', '--volumes', name], { env })).code).toBe(0);
    expect(JSON.parse((await clawpod(['--json', 'ps', '-a'], { env })).stdout)).toEqual([]);
  });

  it('provisions a tenant on its own network, answers on its port, and deletes it with nothing left', async () => {
    const t = `${P}t`;
    const file = writeSpec(tmpDir(), 'fleet.yaml', `apiVersion: clawpod.dev/v1alpha1
kind: Plan
metadata: {name: ${P}p}
spec: {resources: {cpu: "0.5", memory: 128Mi}, volumes: {appDataPath: /data}}
---
apiVersion: clawpod.dev/v1alpha1
kind: Tenant
metadata: {name: ${t}}
spec: {plan: ${P}p, profile: runner}
`);
    const r = await clawpod(['tenant', 'apply', '-f', file], { env, timeoutMs: 180_000 });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const docker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${socket}` } }).stdout.trim();
    expect(docker(['inspect', `tenant-${t}`, '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}'])).toBe(`clawpod-tenant-${t}`);
    expect(docker(['inspect', `tenant-${t}`, '--format', '{{range .Mounts}}{{.Name}} {{end}}'])).toContain(`clawpod-tenant-${t}-app-data`);
    const ls = JSON.parse((await clawpod(['--json', 'tenant', 'ls'], { env })).stdout) as { name: string; phase: string; url: string }[];
    expect(ls).toMatchObject([{ name: t, phase: 'Ready' }]);
    expect((await fetch(new URL('healthz', ls[0]!.url))).status).toBe(200);
    expect((await clawpod(['tenant', 'delete', t], { env })).code).toBe(0);
    expect(docker(['ps', '-a', '--format', '{{.Names}}'])).not.toContain(t);
    expect(docker(['volume', 'ls', '--format', '{{.Name}}'])).not.toContain(t);
    expect(docker(['network', 'ls', '--format', '{{.Name}}'])).not.toContain(t);
  }, 240_000);
});
