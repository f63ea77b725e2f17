// The SSH sandbox's guards, attacked with a real sshd (test/helpers/sshd.ts) and `clawpod serve`:
// - known_hosts that lists another key for the host's address (a host swapped, or a machine in
//   between): the bash call is refused naming the host and the key's fingerprint, nothing runs on
//   the host and no login is even tried;
// - the private key is delivered only as the tmpfs file /run/secrets/ssh-key: not in any process's
//   environment in the container (read from the host), not in `podman inspect` or logs, not in the
//   session's events, the serve output or anything the runner sent the model.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podman, uniquePrefix } from '../helpers/cli.js';
import { ask, startSshPlane, toolResult, type SshPlane } from '../helpers/sshd-plane.js';
import { startSshd, SSHD_PORT, SSHD_WORKDIR, type Sshd } from '../helpers/sshd.js';

const P = uniquePrefix('sshsec');
const G = `${P}g`;
let sshd: Sshd;
let sp: SshPlane;

beforeAll(async () => {
  sshd = startSshd(`${P}-sshd`);
  sp = await startSshPlane(G, sshd, sshd.wrongKnownHosts);
}, 300_000);

afterAll(async () => {
  await sp?.close();
  sshd?.stop();
});

describe('SSH sandbox guards', () => {
  it('refuses a host whose key is not the one known_hosts lists, and runs nothing', async () => {
    const a = await ask(sp.plane, G, `run: touch ${SSHD_WORKDIR}/ran-anyway`);
    const r = toolResult(a);
    expect(r.isError).toBe(true);
    expect(r.output).toContain(`bash was not run on agent@${sshd.ip}:${SSHD_PORT}: the host key of [${sshd.ip}]:${SSHD_PORT} does not match /run/secrets/ssh-known-hosts: it showed ssh-ed25519 ${sshd.fingerprint}`);
    expect(r.output).toContain('nothing was run');
    expect(podman(['exec', sshd.name, 'ls', SSHD_WORKDIR]).stdout.trim()).toBe('only-here.txt');
    // the client hung up at the host key: it never offered its key, let alone ran a command
    expect(sshd.logs()).not.toMatch(/Accepted publickey|Failed publickey/);
  });

  it('keeps the private key in the tmpfs file only', async () => {
    // asked first: once, asked after the seconds of podman calls below, the API call failed with
    // "other side closed" (probably a kept-alive connection the server had closed; not proven)
    const a = await ask(sp.plane, G, 'run: echo hello');
    const key = sshd.clientKey;
    // a line of the key's base64 body: any copy of the key, or of most of it, holds it
    const needle = key.split('\n')[2]!;
    expect(needle.length).toBeGreaterThan(40);
    const id = podman(['ps', '-q', '--filter', `name=clawpod-grp-${G}`]).stdout.trim();
    expect(id).not.toBe('');
    // it is there, as the tmpfs file the runner reads
    expect(podman(['exec', id, 'cat', '/run/secrets/ssh-key']).stdout).toBe(key);
    const mounts = podman(['exec', id, 'cat', '/proc/mounts']).stdout.split('\n').find((l) => l.split(' ')[1] === '/run/secrets');
    expect(mounts?.split(' ')[2]).toBe('tmpfs');

    const leaks: string[] = [];
    const look = (where: string, text: string): void => { if (text.includes(needle)) leaks.push(where); };
    // every process of the container, its environment read from the host
    const pids = podman(['top', id, 'hpid']).stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) look(`environ of host pid ${pid}`, readFileSync(`/proc/${pid}/environ`, 'latin1'));
    look('podman inspect', podman(['inspect', id]).stdout);
    const logs = podman(['logs', id]);
    look('podman logs', logs.stdout + logs.stderr);
    look('message events', JSON.stringify(a.events));
    look('serve output', sp.plane.output());
    look('requests to the model', JSON.stringify(sp.model.requests));
    expect(leaks).toEqual([]);
  });
});
