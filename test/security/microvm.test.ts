// Attacks from inside a microVM agent (docs/runtimes.md, "microVM tier"): the guest's exec server runs
// commands as any user, so it must refuse the agent — which can reach it on the guest's address but
// cannot read its token; the agent's root stays read-only (QEMU exports it read-only, whatever the
// guest kernel is told); `network: none` leaves only the forwarded sockets (QEMU's restrict=on).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, CONF, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('mvmsec');
const registered = (() => { try { return readFileSync(CONF, 'utf8').includes('clawpod-microvm'); } catch { return false; } })();
const run = registered || process.env.CI === 'true' ? describe : describe.skip;
const hostEnv: Record<string, string> = process.env.CONTAINER_HOST ? { CONTAINER_HOST: process.env.CONTAINER_HOST } : {};

afterAll(() => cleanup(P));

run('microVM agent attacks', () => {
  it('cannot use the exec server, read its token, write its root or reach a network', async () => {
    const script = [
      'cat /proc/1/root/ctl/token >/dev/null 2>&1 && echo TOKEN-READ || echo token-denied',
      'ls /proc/1/root >/dev/null 2>&1 && echo INIT-ROOT-LISTED || echo init-root-denied',
      // a guessed token: the server must answer "refused" and run nothing
      `printf 'guess\\nabc\\n%s\\n' "$(printf 'id -u\\n' | base64)" | nc -w 20 10.0.2.15 2222 2>&1 | grep -q refused && echo exec-refused || echo EXEC-NOT-REFUSED`,
      'touch /etc/pwned 2>/dev/null && echo ROOT-WRITABLE || echo root-read-only',
      'nc -w 3 10.0.2.2 22 </dev/null >/dev/null 2>&1 && echo HOST-REACHED || echo host-unreachable',
      'nc -w 3 1.1.1.1 80 </dev/null >/dev/null 2>&1 && echo INTERNET-REACHED || echo internet-unreachable',
    ].join('; ');
    const spec = writeSpec(tmpDir(), 'a.yaml', agentYaml(`${P}a`, [
      'isolation: microvm', 'network: none', 'resources: {cpu: "1", memory: 512Mi, pids: 128}', `command: [sh, -c, ${JSON.stringify(script)}]`,
    ].join('\n')));
    const r = await clawpod(['run', '--rm', '-f', spec], { env: scratchEnv(hostEnv), timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['token-denied', 'init-root-denied', 'exec-refused', 'root-read-only', 'host-unreachable', 'internet-unreachable']);
  }, 300_000);

  it('an image whose mount point is a symlink to the jail (/workspace -> /vm) is refused before the VM starts', async () => {
    // runc resolves mounts inside the VMM's jail: followed, the agent's writable volume would cover /vm (QEMU, launch, exec token)
    const tag = `localhost/${P}-linked:latest`;
    const dir = tmpDir();
    writeFileSync(join(dir, 'Containerfile'), 'FROM localhost/clawpod-agent:latest\nUSER root\nRUN rm -rf /workspace && ln -s /vm /workspace\nUSER 1000\n');
    const b = podman(['build', '-q', '-t', tag, dir]);
    expect(b.code, b.stderr).toBe(0);
    try {
      const spec = writeSpec(dir, 'l.yaml', agentYaml(`${P}l`, [`image: ${tag}`, 'isolation: microvm', 'network: none', 'resources: {cpu: "1", memory: 512Mi, pids: 128}', 'command: [sh, -c, "echo VM-STARTED"]'].join('\n')));
      const r = await clawpod(['run', '--rm', '-f', spec], { env: scratchEnv(hostEnv), timeoutMs: 120_000 });
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain('VM-STARTED');
      expect(r.stderr).toContain('/workspace is a symlink');
    } finally {
      podman(['rmi', '-f', tag]);
    }
  }, 180_000);
});
