// A real OpenSSH server in a Podman container, for the SSH sandbox tests. No registry here, so its
// image is made from the host's own sshd (Debian's openssh-server, installed by scripts/setup.sh)
// with the libraries ldd names and busybox, like the offline Node base (src/images/host-base.ts).
// Each server gets a fresh ed25519 host key, a client key in authorized_keys, a hostname and a
// file only it has, so a test can prove where a command ran.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { podman } from './cli.js';

const SSHD = '/usr/sbin/sshd';
const BUSYBOX = '/bin/busybox';
export const SSHD_PORT = 2222;
export const SSHD_USER = 'agent';
export const SSHD_WORKDIR = '/srv/work';

export interface Sshd {
  readonly name: string;
  /** Its address on Podman's bridge network, which agents on network: bridge reach. */
  readonly ip: string;
  readonly hostname: string;
  /** Content of /srv/work/only-here.txt, which only this host has. */
  readonly marker: string;
  /** The client's private key (OpenSSH format), whose public half is in authorized_keys. */
  readonly clientKey: string;
  /** A known_hosts line for this server's real host key. */
  readonly knownHosts: string;
  /** A known_hosts line for the same address with a key this server does not have. */
  readonly wrongKnownHosts: string;
  /** `SHA256:…` of the real host key, as ssh-keygen -l prints it. */
  readonly fingerprint: string;
  logs(): string;
  stop(): void;
}

/** Fails (never skips) when sshd is missing: scripts/setup.sh installs it. */
export function sshdImage(): string {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: run scripts/setup.sh (it installs Debian's openssh-server)`);
  const version = /OpenSSH_[\w.]+/.exec(spawnSync(SSHD, ['-V'], { encoding: 'utf8' }).stderr)?.[0]?.toLowerCase().replace(/[^a-z0-9.]/g, '-') ?? 'unknown';
  const ref = `localhost/clawpod-test-sshd:${version}`;
  if (podman(['image', 'exists', ref]).code === 0) return ref;
  const root = mkdtempSync(join(tmpdir(), 'clawpod-sshd-root-'));
  try {
    const place = (from: string, to = from, mode?: number): void => {
      mkdirSync(dirname(join(root, to)), { recursive: true });
      copyFileSync(from, join(root, to));
      if (mode !== undefined) chmodSync(join(root, to), mode);
    };
    place(SSHD, SSHD, 0o755);
    for (const line of execFileSync('ldd', [SSHD], { encoding: 'utf8' }).split('\n')) {
      const lib = (/=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line))?.[1];
      if (lib) place(lib);
    }
    place(BUSYBOX, '/bin/busybox', 0o755);
    for (const a of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
      if (a && a !== 'busybox' && !existsSync(join(root, 'bin', a))) symlinkSync('busybox', join(root, 'bin', a));
    }
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n${SSHD_USER}:x:1000:1000::/home/${SSHD_USER}:/bin/sh\n`);
    writeFileSync(join(root, 'etc/group'), `root:x:0:\nnogroup:x:65534:\n${SSHD_USER}:x:1000:\n`);
    for (const d of ['run/sshd', 'var/empty', 'tmp', 'root', 'proc', 'sys', 'dev', `home/${SSHD_USER}`, SSHD_WORKDIR.slice(1)]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    chownSync(join(root, 'home', SSHD_USER), 1000, 1000);
    chownSync(join(root, SSHD_WORKDIR.slice(1)), 1000, 1000);
    const r = spawnSync('sh', ['-c', `tar -C '${root}' -c . | podman import --change 'CMD ["${SSHD}", "-D", "-e", "-f", "/etc/sshtest/sshd_config"]' - '${ref}'`], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(`podman import of ${ref} failed: ${r.stderr}`);
    return ref;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function keygen(dir: string, name: string): { priv: string; pub: string; fingerprint: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const fp = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { priv: readFileSync(file, 'utf8'), pub: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint: fp };
}

/** Starts sshd as NAME on Podman's default bridge network; stop() removes it. */
export function startSshd(name: string): Sshd {
  const image = sshdImage();
  const dir = mkdtempSync(join(tmpdir(), 'clawpod-sshd-'));
  chmodSync(dir, 0o755);
  const host = keygen(dir, 'host_key');
  const other = keygen(dir, 'other_host_key');
  const client = keygen(dir, 'client_key');
  // what sshd reads, mounted: readable by the agent user (authorized_keys is read as that user), no client key
  const etc = join(dir, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  copyFileSync(join(dir, 'host_key'), join(etc, 'host_key'));
  writeFileSync(join(etc, 'authorized_keys'), `${client.pub}\n`, { mode: 0o644 });
  writeFileSync(join(etc, 'sshd_config'), [
    `Port ${SSHD_PORT}`, 'HostKey /etc/sshtest/host_key', 'AuthorizedKeysFile /etc/sshtest/authorized_keys',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'PermitRootLogin no',
    // the mounted files are the host's root's, not the agent user's
    'StrictModes no', 'PidFile /run/sshd.pid', 'LogLevel VERBOSE', '',
  ].join('\n'));
  const marker = `only-on-${name}-${process.pid}`;
  const hostname = `sshbox-${process.pid.toString(36)}`;
  const run = podman(['run', '-d', '--name', name, '--hostname', hostname, '--network', 'bridge', '-v', `${etc}:/etc/sshtest:ro,Z`, image]);
  if (run.code !== 0) throw new Error(`starting sshd failed: ${run.stderr}`);
  const put = podman(['exec', '-u', '1000:1000', name, 'sh', '-c', `echo ${marker} > ${SSHD_WORKDIR}/only-here.txt`]);
  if (put.code !== 0) throw new Error(`writing the marker failed: ${put.stderr}`);
  const ip = podman(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name]).stdout.trim();
  const entry = `[${ip}]:${SSHD_PORT}`;
  const keyPart = (pub: string): string => pub.split(' ').slice(0, 2).join(' ');
  return {
    name, ip, hostname, marker, clientKey: client.priv, fingerprint: host.fingerprint,
    knownHosts: `${entry} ${keyPart(host.pub)}\n`,
    wrongKnownHosts: `${entry} ${keyPart(other.pub)}\n`,
    logs: () => { const l = podman(['logs', name]); return l.stdout + l.stderr; },
    stop: () => { podman(['rm', '-f', '-t', '0', name]); rmSync(dir, { recursive: true, force: true }); },
  };
}
