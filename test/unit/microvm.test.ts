// The microVM tier's pure parts: the OCI bundle rewrite (src/runtime/microvm/vm-config.ts) and the
// Kata RuntimeClass in rendered Kubernetes objects. The VM itself: test/integration/microvm.test.ts.
import { describe, expect, it } from 'vitest';
import { parseAgents } from '../../src/spec/parse.js';
import { renderAgent } from '../../src/kube/render.js';
import { jobForContainer } from '../../src/runtime/kubernetes/container-job.js';
import type { ContainerSpec } from '../../src/runtime/runtime.js';
import { execProcess, guestMemoryMiB, sq, vmBundle, type OciConfig, type SourceFacts } from '../../src/runtime/microvm/vm-config.js';
import { hostFacts } from '../../src/runtime/microvm/host-facts.js';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAP = [{ containerID: 0, hostID: 0x70000000, size: 65536 }];
const podmanConfig = (): OciConfig => ({
  root: { path: '/var/lib/containers/storage/overlay/abc/merged', readonly: true },
  process: { args: ['sh', '-c', "echo 'it''s' \"$HOME\""], env: ['PATH=/usr/bin:/bin', 'HOME=/home/agent'], cwd: '/workspace', user: { uid: 1000, gid: 1000 } },
  hostname: 'agent-1',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
    { destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['bind'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid'] },
    { destination: '/workspace', type: 'bind', source: '/vol/ws/_data', options: ['rbind', 'rw'] },
    { destination: '/run/secrets/TOKEN', type: 'bind', source: '/sec/TOKEN', options: ['bind', 'ro'] },
    { destination: '/run/clawpod/gateway', type: 'bind', source: '/host/gw', options: ['rbind', 'ro'] },
  ],
  linux: {
    namespaces: [{ type: 'network' }, { type: 'pid' }],
    uidMappings: MAP, gidMappings: MAP,
    resources: { memory: { limit: 512 * 1048576 }, cpu: { quota: 100000, period: 100000 }, devices: [{ allow: false, access: 'rwm' }] },
  },
});
const facts: SourceFacts = {
  isDir: (s) => s !== '/sec/TOKEN',
  sockets: (s) => (s === '/host/gw' ? ['llm.sock'] : []),
  linkOn: () => undefined,
};
const opts = { jail: '/jail', ctlDir: '/b/microvm/ctl', kvmNode: '/b/microvm/kvm', hostCpus: 2, execToken: 'tok123' };

describe('microVM bundle rewrite', () => {
  const vm = vmBundle(podmanConfig(), { ...opts, accel: 'kvm' }, facts);
  const dests = vm.config.mounts!.map((m) => m.destination);

  it('roots the container in the read-only jail and moves the agent\'s root and mounts under /guest', () => {
    expect(vm.config.root).toEqual({ path: '/jail', readonly: true });
    expect(vm.config.process.args).toEqual(['/bin/sh', '/vm/launch']);
    expect(vm.config.process.user).toEqual({ uid: 1000, gid: 1000 });
    expect(vm.config.mounts).toContainEqual({ destination: '/guest', type: 'bind', source: '/var/lib/containers/storage/overlay/abc/merged', options: ['rbind', 'rw'] });
    // the kernel's views stay with the VMM; the agent's mounts go to the guest
    expect(dests).toEqual(expect.arrayContaining(['/proc', '/dev', '/dev/shm', '/guest/tmp', '/guest/workspace', '/guest/run/secrets/TOKEN', '/guest/run/clawpod/gateway']));
    expect(dests).not.toContain('/workspace');
    expect(dests.indexOf('/guest')).toBeLessThan(dests.indexOf('/guest/workspace'));
  });

  it('opens its own /dev/kvm to the agent\'s host uid only, and only with KVM', () => {
    expect(vm.owner).toEqual({ uid: 0x70000000 + 1000, gid: 0x70000000 + 1000 });
    expect(dests.at(-1)).toBe('/dev/kvm');
    expect(vm.config.linux!.resources!.devices).toEqual([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 232, access: 'rw' }]);
    const tcg = vmBundle(podmanConfig(), { ...opts, accel: 'tcg' }, facts);
    expect(tcg.config.mounts!.map((m) => m.destination)).not.toContain('/dev/kvm');
    expect(tcg.config.linux!.resources!.devices).toEqual([{ allow: false, access: 'rwm' }]);
    expect(tcg.files.vmm).toContain("'-accel' 'tcg,tb-size=64'");
  });

  it('exports a read-only root and each writable folder on its own; forwards the gateway socket', () => {
    expect(vm.files.plan).toContain("VM_MOUNTS='root:/:ro m1:/tmp:rw m2:/workspace:rw'");
    expect(vm.files.plan).toContain("VM_SOCKETS='/run/clawpod/gateway/llm.sock'");
    expect(vm.files.plan).toContain('VM_NET=none');
    expect(vm.files.vmm).toContain('restrict=on,hostfwd=tcp:127.0.0.1:2222-:2222,guestfwd=tcp:10.0.2.100:6000-cmd:/usr/bin/socat STDIO UNIX-CONNECT:/vm/sock/0/llm.sock');
    expect(vm.config.mounts).toContainEqual({ destination: '/vm/sock/0', type: 'bind', source: '/host/gw', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
    expect(vm.files.vmm).toContain("'-m' '416M' '-smp' '1'");
    // a prepared network namespace: the guest gets a (NATed) network
    const bridged = podmanConfig();
    bridged.linux!.namespaces = [{ type: 'network', path: '/run/netns/x' }];
    expect(vmBundle(bridged, { ...opts, accel: 'kvm' }, facts).files.plan).toContain('VM_NET=user');
  });

  it('runs the original process with its env, cwd and ids, quoted for the guest\'s shell', () => {
    expect(vm.files.run).toBe([
      "cd '/workspace' || exit 127",
      "exec /proc/1/root/bin/busybox env -i 'PATH=/usr/bin:/bin' 'HOME=/home/agent' /proc/1/root/bin/busybox nsenter -S 1000 -G 1000 -- 'sh' '-c' 'echo '\\''it'\\'''\\''s'\\'' \"$HOME\"'",
      '',
    ].join('\n'));
    expect(sq("a'b")).toBe("'a'\\''b'");
  });

  it('routes an exec into the guest: a jail client as the container\'s user, the process for the guest as base64', () => {
    expect(vm.files.token).toBe('tok123\n');
    const e = execProcess({ args: ['cat', '/workspace/x'], env: ['A=1'], cwd: '/', user: { uid: 0, gid: 0 }, terminal: false }, { uid: 1000, gid: 1000 });
    expect(e).toMatchObject({ args: ['/bin/sh', '/vm/exec', expect.any(String)], env: ['PATH=/bin'], user: { uid: 1000, gid: 1000 }, terminal: false });
    expect(Buffer.from(e.args![2]!, 'base64').toString()).toBe("cd '/' || exit 127\nexec /proc/1/root/bin/busybox env -i 'A=1' /proc/1/root/bin/busybox nsenter -S 0 -G 0 -- 'cat' '/workspace/x'\n");
  });

  it('refuses what it cannot describe safely', () => {
    const odd = podmanConfig();
    odd.mounts!.push({ destination: '/data dir', type: 'tmpfs', source: 'tmpfs' });
    expect(() => vmBundle(odd, { ...opts, accel: 'tcg' }, facts)).toThrow(/characters/);
    const unmapped = podmanConfig();
    unmapped.process.user = { uid: 70000, gid: 70000 };
    expect(() => vmBundle(unmapped, { ...opts, accel: 'tcg' }, facts)).toThrow(/outside the container's id map/);
  });

  it('leaves the VMM room in the container\'s memory limit', () => {
    expect(guestMemoryMiB(undefined)).toBe(512);
    expect(guestMemoryMiB(256 * 1048576)).toBe(160);
    expect(guestMemoryMiB(2048 * 1048576)).toBe(1792);
    expect(guestMemoryMiB(64 * 1048576)).toBe(128);
  });
});

describe('microVM on Kubernetes', () => {
  it('renders the Kata RuntimeClass for isolation: microvm', () => {
    const a = parseAgents('apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: vm}\nspec:\n  isolation: microvm\n', 'vm.yaml')[0]!.agent;
    const { objects, notes } = renderAgent(a, { mode: 'session' });
    const job = objects.find((o) => o.kind === 'Job') as { spec: { template: { spec: { runtimeClassName?: string } } } };
    expect(job.spec.template.spec.runtimeClassName).toBe('kata');
    expect(notes.join('\n')).toContain('RuntimeClass "kata"');
    const spec = { name: 'x', image: 'i', env: {}, user: '1000:1000', labels: {}, mounts: [], ports: [], resources: { cpus: 1, memoryBytes: 1 << 28, pids: 64 }, network: 'none', isolation: 'microvm', security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true } } satisfies ContainerSpec;
    expect(jobForContainer(spec, { serviceAccount: 'default' }).spec!.template.spec!.runtimeClassName).toBe('kata');
    expect(jobForContainer({ ...spec, isolation: 'runc' }, { serviceAccount: 'default' }).spec!.template.spec!.runtimeClassName).toBeUndefined();
  });
});

describe('microVM mount destinations: a symlink on the way would put the mount on the jail', () => {
  // a real image root and volume on disk, looked at with the shim's own lstat walk
  const dir = mkdtempSync(join(tmpdir(), 'microvm-links-'));
  const root = join(dir, 'root');
  const vol = join(dir, 'vol');
  mkdirSync(join(root, 'home', 'agent'), { recursive: true });
  mkdirSync(vol);
  symlinkSync('/vm', join(root, 'workspace'));
  symlinkSync('/vm/ctl', join(vol, 'cache'));
  const withMounts = (mounts: OciConfig['mounts']): OciConfig => ({ ...podmanConfig(), root: { path: root, readonly: true }, mounts });
  const build = (mounts: OciConfig['mounts']) => () => vmBundle(withMounts(mounts), { ...opts, accel: 'tcg' }, { ...facts, linkOn: hostFacts.linkOn });

  it('refuses a destination whose path in the image is a symlink', () => {
    expect(build([{ destination: '/workspace', type: 'bind', source: vol, options: ['rbind', 'rw'] }])).toThrow('mount destination /workspace: /workspace is a symlink');
  });

  it('refuses a mount under an earlier one whose folder holds a symlink there (a volume the agent wrote)', () => {
    expect(build([
      { destination: '/home/agent', type: 'bind', source: vol, options: ['rbind', 'rw'] },
      { destination: '/home/agent/cache/x', type: 'bind', source: '/sec/TOKEN', options: ['bind', 'ro'] },
    ])).toThrow('mount destination /home/agent/cache/x: /home/agent/cache is a symlink');
  });

  it('refuses a doubled slash, which runc cleans but a prefix check would not see as under the earlier mount', () => {
    expect(build([
      { destination: '/home//agent', type: 'bind', source: vol, options: ['rbind', 'rw'] },
      { destination: '/home/agent/cache/x', type: 'tmpfs', source: 'tmpfs' },
    ])).toThrow('has an empty segment (//) in it');
  });

  it('refuses an image whose /proc, /sys or /dev (where the guest init mounts its own) is a symlink', () => {
    const root2 = join(dir, 'root2');
    mkdirSync(root2);
    symlinkSync('/vm', join(root2, 'proc'));
    expect(() => vmBundle({ ...podmanConfig(), root: { path: root2, readonly: true }, mounts: [] }, { ...opts, accel: 'tcg' }, { ...facts, linkOn: hostFacts.linkOn })).toThrow('mount destination /proc: /proc is a symlink');
  });

  it('refuses . and .., and takes plain paths, missing ones and mounts under a fresh tmpfs', () => {
    expect(build([{ destination: '/home/agent/../../vm', type: 'tmpfs', source: 'tmpfs' }])).toThrow('has . or .. in it');
    expect(build([
      { destination: '/home/agent', type: 'bind', source: vol, options: ['rbind', 'rw'] },
      { destination: '/home/agent/new/deeper', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/run/secrets/TOKEN', type: 'bind', source: '/sec/TOKEN', options: ['bind', 'ro'] },
    ])).not.toThrow();
  });
});
