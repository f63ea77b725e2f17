// Builds a minimal Node base image from the host's own Node when no registry answers:
// the node binary, the shared libraries ldd names, busybox for a shell, passwd/group,
// the host's CA bundle, and a 1777 /tmp — imported as a root filesystem tar.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import { ClawpodError, messageOf } from '../errors.js';
import type { Images } from '../runtime/runtime.js';

export interface HostBaseOptions {
  readonly nodeBin: string;
  readonly busybox: string;
  readonly caBundle: string | undefined;
  readonly ref: string;
  readonly onProgress: (line: string) => void;
}

/** The shared libraries `bin` loads, as ldd lists them (absolute paths). */
export function sharedLibraries(bin: string): string[] {
  const out = execFileSync('ldd', [bin], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

function place(root: string, hostPath: string, inImage = hostPath, mode?: number): void {
  const dest = join(root, inImage);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(hostPath, dest);
  if (mode !== undefined) chmodSync(dest, mode);
}

export async function buildHostBase(runtime: Images, opts: HostBaseOptions): Promise<void> {
  if (!existsSync(opts.busybox)) {
    throw new ClawpodError('IMAGE_BUILD_FAILED', `building a base image from the host needs busybox at ${opts.busybox}`, {
      hint: 'apt-get install -y busybox-static (or pass --base IMAGE to use an image you already have)',
    });
  }
  const root = mkdtempSync(join(tmpdir(), 'clawpod-base-'));
  try {
    opts.onProgress(`copying ${opts.nodeBin} and its shared libraries`);
    place(root, opts.nodeBin, '/usr/local/bin/node', 0o755);
    for (const lib of sharedLibraries(opts.nodeBin)) place(root, lib);
    place(root, opts.busybox, '/bin/busybox', 0o755);
    const applets = execFileSync(opts.busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) {
      const link = join(root, 'bin', a);
      if (!existsSync(link)) symlinkSync('busybox', link);
    }
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    symlinkSync('/usr/local/bin/node', join(root, 'usr/bin/node'));
    symlinkSync('/bin/busybox', join(root, 'usr/bin/env'));
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    if (opts.caBundle && existsSync(opts.caBundle)) place(root, opts.caBundle, '/etc/ssl/certs/ca-certificates.crt', 0o644);
    for (const d of ['tmp', 'root', 'home', 'proc', 'sys', 'dev', 'run', 'var/tmp']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'var/tmp'), 0o1777);
    opts.onProgress(`importing the root filesystem as ${opts.ref}`);
    await runtime.importImage(pack(root) as unknown as Readable, opts.ref, {
      changes: [
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        'CMD ["node"]',
      ],
    });
  } catch (e) {
    if (e instanceof ClawpodError) throw e;
    throw new ClawpodError('IMAGE_BUILD_FAILED', `building the host-based Node image ${opts.ref} failed: ${messageOf(e)}`, { cause: e });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
