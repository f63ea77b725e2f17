// The microVM tier's OCI bundle rewrite (docs/runtimes.md, "microVM tier"). Pure. The engine
// prepares a container as usual (image root, volumes, secret files, limits, namespaces); this
// turns it into a VMM container: its root becomes the shared read-only jail (QEMU and its
// libraries only), the engine's root and mounts move under /guest where QEMU shares them with
// the guest over virtio-9p, and its process becomes the launcher that boots the VM. The
// container's own process runs inside the guest kernel, described to the guest init by the
// files returned here (plan, run) and to the launcher by `vmm` (QEMU's argv).

export interface OciMount { destination: string; type?: string; source?: string; options?: string[] }
interface IdMap { containerID: number; hostID: number; size: number }
export interface OciConfig {
  root: { path: string; readonly?: boolean };
  process: { args?: string[]; env?: string[]; cwd?: string; user?: { uid?: number; gid?: number }; [k: string]: unknown };
  hostname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  linux?: {
    resources?: { memory?: { limit?: number }; cpu?: { quota?: number; period?: number }; devices?: unknown[]; [k: string]: unknown };
    namespaces?: { type: string; path?: string }[];
    uidMappings?: IdMap[]; gidMappings?: IdMap[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** What the shim learned about the engine's bind sources (it stats them; this module does no I/O). */
export interface SourceFacts {
  /** The bind source is a directory (else a file, socket or device). */
  isDir(source: string): boolean;
  /** Unix sockets directly in a directory source, by name; for a socket source, [''] (itself). */
  sockets(source: string): readonly string[];
  /**
   * The first symlink on `rel` (a plain relative path) under the host directory `base`, as a path
   * relative to base; undefined when there is none (a component that does not exist ends the walk).
   */
  linkOn(base: string, rel: string): string | undefined;
}

export interface VmOptions {
  /** The jail folder on the host (scripts/microvm/build.sh). */
  readonly jail: string;
  /** The bundle's control folder on the host, mounted read-only at /vm/ctl (plan, run, vmm). */
  readonly ctlDir: string;
  /** The /dev/kvm node made for this container (owned by its user's host id). */
  readonly kvmNode: string;
  readonly hostCpus: number;
  /**
   * kvm where the host's /dev/kvm boots the guest kernel; tcg (QEMU's emulation) where it cannot:
   * on these machines /dev/kvm is PVM (kvm_pvm), which runs only PVM-enabled guest kernels.
   * scripts/microvm/build.sh probes it and records the answer in the jail (vm/accel).
   */
  readonly accel: 'kvm' | 'tcg';
  /** A random secret the guest's exec server asks of every exec (the agent in the guest cannot read it). */
  readonly execToken: string;
}

export interface VmBundle {
  readonly config: OciConfig;
  /** Files for ctlDir. */
  readonly files: { readonly plan: string; readonly run: string; readonly vmm: string; readonly token: string };
  /** The host uid/gid that must own ctlDir and the kvm node: the container user's, through the id maps. */
  readonly owner: { readonly uid: number; readonly gid: number };
}

export const MICROVM_ANNOTATION = 'dev.clawpod.microvm';
const KVM = { major: 10, minor: 232 };
/** Paths the engine mounts for the container's kernel view: they stay with the VMM (the guest mounts its own). */
const SYSTEM = /^\/(proc|sys|dev)(\/|$)/;
/** QEMU user networking's guestfwd address for the forwarded sockets (ports 6000+i). */
const FWD_BASE_PORT = 6000;
/** The guest's exec server, forwarded to the container's own loopback (its network namespace: nobody else's). */
const EXEC_PORT = 2222;

/** POSIX shell single-quoting. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function hostId(maps: readonly IdMap[] | undefined, id: number): number {
  if (!maps?.length) return id;
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  // an id the map does not cover belongs to nobody in the container: nothing of ours may be given to it
  if (!m) throw new Error(`id ${id} is outside the container's id map`);
  return m.hostID + (id - m.containerID);
}

/** Guest RAM: the container's memory limit less the VMM's own use (QEMU, 9p buffers, the jail's tmpfs). */
export function guestMemoryMiB(limitBytes: number | undefined): number {
  if (!limitBytes || limitBytes <= 0) return 512;
  const mib = Math.floor(limitBytes / 1048576);
  return Math.max(128, mib - Math.max(96, Math.floor(mib / 8)));
}

export function guestCpus(quota: number | undefined, period: number | undefined, hostCpus: number): number {
  if (!quota || quota <= 0 || !period) return Math.max(1, Math.min(2, hostCpus));
  return Math.max(1, Math.min(hostCpus, Math.ceil(quota / period)));
}

/** Paths go into the guest init's word lists: refuse what it could not split safely. */
function plainPath(p: string): string {
  if (!/^\/[A-Za-z0-9._@+\-/]*$/.test(p)) throw new Error(`mount path ${JSON.stringify(p)} has characters the microVM's init does not take`);
  if (p.split('/').some((c) => c === '.' || c === '..')) throw new Error(`mount path ${JSON.stringify(p)} has . or .. in it`);
  // "//": runc cleans it, the prefix checks here would not (a mount under another would be checked against the wrong folder)
  if (p.length > 1 && p.replace(/\/+$/, '').slice(1).split('/').includes('')) throw new Error(`mount path ${JSON.stringify(p)} has an empty segment (//) in it`);
  return p.replace(/\/+$/, '') || '/';
}

/**
 * runc resolves a mount's destination inside the VMM's jail, where the agent's root is /guest: a
 * symlink on the way (the image's, or one the agent left in a volume a later mount goes under) would
 * land the mount on the jail's own files (/vm: QEMU, launch, the exec token) instead of the guest's.
 * So no symlink may be on the way; each part is looked at where it comes from: the root's image, or
 * the host folder of the deepest earlier mount it lies under (a fresh tmpfs has none).
 */
function refuseLinks(dest: string, earlier: readonly { dest: string; m: OciMount }[], root: string, facts: SourceFacts): void {
  const under = [...earlier].reverse().find((e) => dest.startsWith(`${e.dest}/`));
  if (under?.m.type === 'tmpfs') return;
  const [base, rel] = under ? [under.m.source ?? '', dest.slice(under.dest.length + 1)] : [root, dest.slice(1)];
  const link = rel ? facts.linkOn(base, rel) : undefined;
  if (link !== undefined) {
    throw new Error(`mount destination ${dest}: ${under ? `${under.dest}/` : '/'}${link} is a symlink, which would take the mount out of the microVM's guest; use a plain directory there`);
  }
}

function qemuOpt(s: string): string {
  // QEMU's option syntax doubles a comma inside a value
  return s.replace(/,/g, ',,');
}

export function vmBundle(cfg: OciConfig, o: VmOptions, facts: SourceFacts): VmBundle {
  const uid = cfg.process.user?.uid ?? 0;
  const gid = cfg.process.user?.gid ?? 0;
  const owner = { uid: hostId(cfg.linux?.uidMappings, uid), gid: hostId(cfg.linux?.gidMappings, gid) };
  const rootRo = cfg.root.readonly === true;

  const jailMounts: OciMount[] = [];
  const guestMounts: OciMount[] = [];
  const exports: { tag: string; jailPath: string; guestPath: string; ro: boolean }[] = [{ tag: 'root', jailPath: '/guest', guestPath: '/', ro: rootRo }];
  const sockets: { guest: string; jail: string }[] = [];
  const sockMounts: OciMount[] = [];
  // the mount points the guest's init uses are the image's too
  for (const d of ['/proc', '/sys', '/dev']) refuseLinks(d, [], cfg.root.path, facts);
  const placed: { dest: string; m: OciMount }[] = [];
  for (const m of cfg.mounts ?? []) {
    if (SYSTEM.test(m.destination)) { jailMounts.push(m); continue; }
    const dest = plainPath(m.destination);
    refuseLinks(dest, placed, cfg.root.path, facts);
    placed.push({ dest, m });
    guestMounts.push({ ...m, destination: `/guest${dest}` });
    const opts = m.options ?? [];
    const ro = opts.includes('ro');
    const isDir = m.type === 'tmpfs' || (m.source !== undefined && facts.isDir(m.source));
    // under a read-only root QEMU's export is read-only too: a writable folder is its own export
    if (rootRo && !ro && isDir) exports.push({ tag: `m${exports.length}`, jailPath: `/guest${dest}`, guestPath: dest, ro: false });
    if (m.type === 'bind' && m.source !== undefined) {
      const names = facts.sockets(m.source);
      if (names.length) {
        const at = `/vm/sock/${sockMounts.length}`;
        sockMounts.push({ destination: at, type: 'bind', source: m.source, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
        for (const n of names) sockets.push({ guest: n ? `${dest}/${n}` : dest, jail: n ? `${at}/${n}` : at });
      }
    }
  }
  for (const s of sockets) plainPath(s.guest);

  const ctlMount: OciMount = { destination: '/vm/ctl', type: 'bind', source: o.ctlDir, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] };
  const small = (dest: string, size: string, mode = '755'): OciMount => ({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', `size=${size}`, `mode=${mode}`] });
  const config: OciConfig = {
    ...cfg,
    root: { path: o.jail, readonly: true },
    process: { ...cfg.process, args: ['/bin/sh', '/vm/launch'], env: ['PATH=/bin', 'HOME=/vm/run'], cwd: '/vm/run' },
    mounts: [
      ...jailMounts,
      { destination: '/guest', type: 'bind', source: cfg.root.path, options: ['rbind', 'rw'] },
      // mount points the guest init mounts its own proc, sys and dev on (an image may lack them)
      small('/guest/proc', '4k'), small('/guest/sys', '4k'), small('/guest/dev', '4k'),
      ...guestMounts,
      ctlMount,
      { ...small('/vm/run', '2m', '1777') },
      { ...small('/vm/out', '64k', '1777') },
      small('/vm/sock', '4k'),
      ...sockMounts,
      ...(o.accel === 'kvm' ? [{ destination: '/dev/kvm', type: 'bind', source: o.kvmNode, options: ['bind', 'rw', 'nosuid', 'noexec'] }] : []),
    ],
    annotations: { ...cfg.annotations, [MICROVM_ANNOTATION]: 'rewritten' },
    linux: {
      ...cfg.linux,
      resources: {
        ...cfg.linux?.resources,
        devices: [...(cfg.linux?.resources?.devices ?? []), ...(o.accel === 'kvm' ? [{ allow: true, type: 'c', major: KVM.major, minor: KVM.minor, access: 'rw' }] : [])],
      },
    },
  };

  const network = cfg.linux?.namespaces?.find((n) => n.type === 'network');
  // the engine hands a prepared namespace (a path) only when it gave the container a network
  const net = network?.path ? 'user' : 'none';
  const plan = [
    `VM_HOSTNAME=${sq(cfg.hostname ?? '')}`,
    `VM_NET=${net}`,
    `VM_MOUNTS=${sq(exports.map((e) => `${e.tag}:${e.guestPath}:${e.ro ? 'ro' : 'rw'}`).join(' '))}`,
    `VM_SOCKETS=${sq(sockets.map((s) => s.guest).join(' '))}`,
    '',
  ].join('\n');

  const run = processScript(cfg.process);

  const mem = guestMemoryMiB(cfg.linux?.resources?.memory?.limit);
  const cpus = guestCpus(cfg.linux?.resources?.cpu?.quota, cfg.linux?.resources?.cpu?.period, o.hostCpus);
  const fwd = sockets.map((s, i) => `,guestfwd=tcp:10.0.2.100:${FWD_BASE_PORT + i}-cmd:/usr/bin/socat STDIO UNIX-CONNECT:${qemuOpt(s.jail)}`).join('');
  const argv = [
    // the PIT and PIC give an emulated guest its timer; tb-size bounds the emulator's code cache (it counts against the container's memory)
    '/usr/bin/qemu-system-x86_64', '-M', 'microvm,x-option-roms=off,isa-serial=on,pit=on,pic=on,rtc=on',
    ...(o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,tb-size=64', '-cpu', 'max']),
    '-m', `${mem}M`, '-smp', String(cpus), '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-L', '/usr/share/qemu', '-kernel', '/vm/vmlinuz', '-initrd', '/vm/initrd',
    '-append', `console=ttyS0 quiet loglevel=3 panic=-1 reboot=t${o.accel === 'tcg' ? ' tsc_early_khz=2000000 tsc=reliable' : ''}`,
    '-serial', 'file:/vm/run/console.log',
    // stdin alone on its chardev: its end of file closes that port only (the guest reads EOF), output keeps flowing
    // stdout and stderr are the engine's pipes, handed over as fd sets 1 and 2 (the launcher dups them to 3 and 4: QEMU takes no stdio fd, and the agent's uid may not reopen them)
    '-add-fd', 'fd=3,set=1', '-add-fd', 'fd=4,set=2',
    '-chardev', 'stdio,id=in,signal=off', '-chardev', 'file,id=out,path=/dev/fdset/1,append=on',
    '-chardev', 'file,id=err,path=/dev/fdset/2,append=on', '-chardev', 'pipe,id=sig,path=/vm/run/sig',
    '-device', 'virtio-serial-device,max_ports=5',
    '-device', 'virtserialport,chardev=in,nr=1,name=in', '-device', 'virtserialport,chardev=out,nr=2,name=out',
    '-device', 'virtserialport,chardev=err,nr=3,name=err', '-device', 'virtserialport,chardev=sig,nr=4,name=sig',
    ...[...exports, { tag: 'ctl', jailPath: '/vm/ctl', guestPath: '', ro: true }, { tag: 'out', jailPath: '/vm/out', guestPath: '', ro: false }].flatMap((e, i) => [
      '-fsdev', `local,id=fs${i},path=${qemuOpt(e.jailPath)},security_model=none,multidevs=remap${e.ro ? ',readonly=on' : ''}`,
      '-device', `virtio-9p-device,fsdev=fs${i},mount_tag=${e.tag}`,
    ]),
    '-netdev', `user,id=n0${net === 'none' ? ',restrict=on' : ''},hostfwd=tcp:127.0.0.1:${EXEC_PORT}-:${EXEC_PORT}${fwd}`, '-device', 'virtio-net-device,netdev=n0',
  ];
  const vmm = `set -- ${argv.map(sq).join(' ')}\n`;
  return { config, files: { plan, run, vmm, token: `${o.execToken}\n` }, owner };
}

/**
 * A process (the container's, or an exec's) as the script the guest runs inside the agent's root
 * (chrooted; /proc/1/root is the init's, where busybox is): its cwd, only its env, its ids.
 */
export function processScript(p: OciConfig['process']): string {
  const env = (p.env ?? []).map(sq).join(' ');
  return [
    `cd ${sq(p.cwd ?? '/')} || exit 127`,
    `exec /proc/1/root/bin/busybox env -i ${env} /proc/1/root/bin/busybox nsenter -S ${p.user?.uid ?? 0} -G ${p.user?.gid ?? 0} -- ${(p.args ?? []).map(sq).join(' ')}`,
    '',
  ].join('\n');
}

/**
 * `exec` into the VM: the engine's process.json becomes a client in the jail (/vm/exec) that hands
 * the process to the guest's exec server; it runs as the container's user (who can read the token).
 */
export function execProcess(p: OciConfig['process'], containerUser: { uid?: number; gid?: number } | undefined): OciConfig['process'] {
  return {
    ...p, args: ['/bin/sh', '/vm/exec', Buffer.from(processScript(p)).toString('base64')],
    env: ['PATH=/bin'], cwd: '/vm/run', user: { uid: containerUser?.uid ?? 0, gid: containerUser?.gid ?? 0 },
  };
}
