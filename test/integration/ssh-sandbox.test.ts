// spec.tools.shell.ssh end to end: `clawpod serve` starts a session whose agent spec sends bash to a
// real OpenSSH server (a container of the host's sshd, test/helpers/sshd.ts). The scripted model
// calls bash; the command runs on the sshd host (its hostname, its workdir, a file only it has),
// output, stderr and exit code come back as the local tool gives them, and the connection is reused
// (one accepted login for several calls). The time limit and the output cap are tried on the SSH
// shell directly (the runner's default limit is 30 s). Leaks and host key refusals:
// test/security/ssh-sandbox.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBash } from '../../src/agent/tools/bash.js';
import { SshShell } from '../../src/agent/tools/ssh.js';
import { cleanup, clawpod, podman, uniquePrefix } from '../helpers/cli.js';
import { waitFor } from '../helpers/control.js';
import { ask, KEY_VAR, startSshPlane, toolResult, type SshPlane } from '../helpers/sshd-plane.js';
import { startSshd, SSHD_PORT, SSHD_USER, SSHD_WORKDIR, type Sshd } from '../helpers/sshd.js';

const P = uniquePrefix('ssh');
const G = `${P}g`;
let sshd: Sshd;
let sp: SshPlane;

beforeAll(async () => {
  sshd = startSshd(`${P}-sshd`);
  sp = await startSshPlane(G, sshd, sshd.knownHosts);
}, 300_000);

afterAll(async () => {
  await sp?.close();
  sshd?.stop();
  cleanup(P);
});

describe('the SSH sandbox', () => {
  it('runs bash on the SSH host in its workdir, reusing one connection', async () => {
    const t0 = performance.now();
    const a = await ask(sp.plane, G, 'run: hostname; pwd; cat only-here.txt; echo to-stderr >&2; exit 3');
    console.log(`first message (session start + SSH connect + command): ${(performance.now() - t0).toFixed(0)} ms`);
    expect(a.m.status, JSON.stringify(a.events.slice(-3))).toBe('done');
    const r = toolResult(a);
    expect(r.output).toBe(`${sshd.hostname}\n${SSHD_WORKDIR}\n${sshd.marker}\nto-stderr\n[exit code 3]`);
    expect(r.isError).toBe(true);
    // the session container itself has no such file: the command did not run there
    const session = podman(['ps', '-q', '--filter', `name=clawpod-grp-${G}`]).stdout.trim();
    expect(session).not.toBe('');
    expect(podman(['exec', session, 'sh', '-c', `test -e ${SSHD_WORKDIR}/only-here.txt && echo there || echo absent`]).stdout.trim()).toBe('absent');

    const t1 = performance.now();
    const b = await ask(sp.plane, G, 'run: echo second > made-remotely.txt && cat made-remotely.txt');
    console.log(`second message (same session, connection reused): ${(performance.now() - t1).toFixed(0)} ms`);
    expect(toolResult(b)).toMatchObject({ output: 'second\n[exit code 0]', isError: false });
    expect(podman(['exec', sshd.name, 'cat', `${SSHD_WORKDIR}/made-remotely.txt`]).stdout).toBe('second\n');
    // one login for both calls: the connection stays open between them
    expect(sshd.logs().match(/Accepted publickey for agent/g)).toHaveLength(1);
  });

  it('the runner profile (clawpod run runner) runs its bash over SSH too; another payload with tools.shell.ssh is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), `${P}-spec-`));
    const spec = (name: string, head: string) => {
      const f = join(dir, `${name}.yaml`);
      writeFileSync(f, [
        'apiVersion: clawpod.dev/v1alpha1', 'kind: Agent', `metadata: {name: ${name}}`, 'spec:', head,
        '  network: bridge',
        '  secrets:',
        `    - {name: ssh-key, source: env, secretRef: {name: ${KEY_VAR}}}`,
        '    - {name: ssh-known-hosts, source: env, secretRef: {name: SSH_TEST_KNOWN_HOSTS}}',
        `  tools: {shell: {ssh: {host: "${sshd.ip}", port: ${SSHD_PORT}, user: ${SSHD_USER}, key: ssh-key, knownHosts: ssh-known-hosts, workdir: ${SSHD_WORKDIR}}}}`, '',
      ].join('\n'));
      return f;
    };
    const run = (...a: string[]) => clawpod(a, { env: sp.plane.env, timeoutMs: 120_000 });
    // a payload that is not the reference runner would run its shell in the container: refused, nothing made
    const plain = await run('run', '-d', '-f', spec(`${P}plain`, '  command: [sleep, infinity]'));
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain('spec.tools.shell.ssh');
    expect(plain.stderr).toContain('profile: {name: runner}');
    expect(podman(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain(`${P}plain`);

    const r = await run('run', '-d', '-f', spec(`${P}svc`, `  profile: {name: runner}\n  llm: {group: ${G}}`));
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    const [, instance, token] = /gateway token of (\S+) \(shown once[^)]*\): (\S+)/.exec(out) ?? [];
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(token && url, out).toBeTruthy();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'runner', messages: [{ role: 'user', content: 'run: hostname; cat only-here.txt' }] }),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(body).toContain(sshd.hostname);
    expect(body).toContain(sshd.marker);
    const rm = await run('rm', '-f', '--volumes', instance!);
    expect(rm.code, rm.stderr).toBe(0);
  }, 180_000);

  it('closes the connection when the session ends', async () => {
    await sp.close();
    // ssh2's end(): an SSH disconnect message (reason 11, by application), not a dropped TCP connection
    await waitFor('sshd to see the client disconnect', () => /Received disconnect from [\d.]+ port \d+:11/.test(sshd.logs()), 20_000);
  });

  it('the SSH shell itself: the time limit kills the remote command, output is capped', async () => {
    // SshShell from the host against the same sshd: the runner's default 30 s limit is too long for a test
    const dir = mkdtempSync(join(tmpdir(), `${P}-keys-`));
    writeFileSync(join(dir, 'key'), sshd.clientKey, { mode: 0o600 });
    writeFileSync(join(dir, 'known_hosts'), sshd.knownHosts);
    const shell = new SshShell({ host: sshd.ip, port: SSHD_PORT, user: SSHD_USER, keyFile: join(dir, 'key'), knownHostsFile: join(dir, 'known_hosts'), workdir: SSHD_WORKDIR });
    const signal = new AbortController().signal;
    try {
      const slow = await shell.run('echo started; sleep 37; echo never', { timeoutMs: 1000, maxOutputBytes: 1000, signal });
      expect(describeBash(slow, 1000)).toMatchObject({ output: 'started\n[killed: the command ran longer than 1000 ms (tools.bash.timeoutMs); its process group was killed]', isError: true });
      await waitFor('the remote sleep to end', () => !podman(['exec', sshd.name, 'ps']).stdout.includes('sleep 37'), 5000);
      const big = await shell.run('seq 1 100000', { timeoutMs: 10_000, maxOutputBytes: 100, signal });
      expect(big.output).toMatch(/^1\n2\n[\s\S]*\[output truncated: showing the first 100 of 588895 bytes\]$/);
      expect(big.exitCode).toBe(0);
    } finally {
      shell.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
