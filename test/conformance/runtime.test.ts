// One runtime conformance suite: the SAME cases against every runtime target that runs here —
// Podman (runc), Podman under gVisor, Docker (a private dockerd, as test/integration/docker.test.ts
// starts it) and Kubernetes (the shared harness node, test/helpers/kube.ts). Each target declares
// the facets its driver has (src/runtime/runtime.ts); the suite checks that set and tests a facet
// only where it is declared. Three containers per target: one that exits (code, logs, volume
// write), one that reads the volume back, one that runs (attach, exec, inspect, pause, stop).
// The image is a 1 MB busybox root filesystem imported through the Images facet, so no target
// waits on a registry or on the agent image.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { requireFacet } from '../../src/runtime/facets.js';
import { driverFor } from '../../src/runtime/connect.js';
import { DockerDriver } from '../../src/runtime/docker-driver.js';
import { isolationMismatch } from '../../src/runtime/isolation.js';
import { KubernetesDriver } from '../../src/runtime/kubernetes-driver.js';
import { probeSocket } from '../../src/runtime/probe.js';
import {
  FACET_METHODS, facetsOf, hasArchives, hasImages, hasNetworks, hasPausing, hasRenaming, hasRuntimeSecrets,
  type ContainerSpec, type EngineRuntime, type Facet, type IsolationTier, type OutputChunk, type Runtime,
} from '../../src/runtime/runtime.js';
import { CONF, tmpDir, uniquePrefix } from '../helpers/cli.js';
import { startKubeIn } from '../helpers/kube.js';
import { missing } from '../helpers/prereq.js';

const IMAGE = 'localhost/clawpod-conformance:busybox';
const P = uniquePrefix('cf');
const LABEL = 'dev.clawpod.conformance';
const ENGINE_FACETS: Facet[] = ['networks', 'archives', 'images', 'pausing', 'renaming'];
const PODMAN_FACETS: Facet[] = ['networks', 'archives', 'images', 'secrets', 'pausing', 'renaming'];

/** A root filesystem of busybox (static, Debian's) and its applets, /workspace owned by the agent's uid. */
function busyboxRootfs(): Readable {
  const p = pack();
  for (const d of ['bin', 'tmp', 'etc', 'proc', 'sys', 'dev', 'run']) p.entry({ name: `${d}/`, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755 });
  p.entry({ name: 'workspace/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 });
  p.entry({ name: 'bin/busybox', mode: 0o755 }, readFileSync('/bin/busybox'));
  for (const a of ['sh', 'cat', 'echo', 'sleep', 'id', 'grep', 'tar', 'ls', 'uname', 'true']) p.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' });
  p.finalize();
  return p as unknown as Readable;
}

async function importImage(rt: Runtime): Promise<void> {
  if (!hasImages(rt)) throw new Error(`${rt.kind} has no image store to import ${IMAGE} into`);
  if (!(await rt.inspectImage(IMAGE))) await rt.importImage(busyboxRootfs(), IMAGE, { changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin'] });
}

let podman: Promise<EngineRuntime> | undefined;
function podmanDriver(): Promise<EngineRuntime> {
  podman ??= driverFor({ kind: 'podman', socketPath: '/run/podman/podman.sock' }, loadConfig({ ...process.env, CONTAINERS_CONF: CONF })).then(async (rt) => { await importImage(rt); return rt; });
  return podman;
}

interface Opened { readonly rt: Runtime; close(): Promise<void> }

interface Target {
  readonly name: string;
  readonly tier: IsolationTier;
  readonly facets: readonly Facet[];
  /** The engine user-namespaces the agent (Podman): the volume is re-owned to it. */
  readonly userNamespace: boolean;
  /** Per-case time limit when a container takes long to start. */
  readonly timeoutMs?: number;
  /** Limits other than the suite's small ones (a VMM needs more). */
  readonly resources?: ContainerSpec['resources'];
  /** exec's stderr comes back in its stdout (the microVM's exec server has one stream). */
  readonly execMergesStderr?: boolean;
  /** Whether `ociRuntime` from inspect says this target's tier. */
  reportsTier(ociRuntime: string, container: string): boolean;
  /** The runtime, or why it cannot run here (skipped outside CI, a failure in CI). */
  open(): Promise<Opened | string>;
}

const engineTier = (tier: IsolationTier) => (oci: string, c: string) => isolationMismatch(tier, oci, c) === undefined;
const hasRuntime = (name: string) => existsSync(CONF) && new RegExp(`^${name}\\s*=`, 'm').test(readFileSync(CONF, 'utf8'));
const hasRunsc = spawnSync('sh', ['-c', 'command -v runsc']).status === 0 && hasRuntime('runsc');

const TARGETS: readonly Target[] = [
  { name: 'podman', tier: 'runc', facets: PODMAN_FACETS, userNamespace: true, reportsTier: engineTier('runc'), open: async () => ({ rt: await podmanDriver(), close: async () => {} }) },
  {
    name: 'gvisor (podman)', tier: 'gvisor', facets: PODMAN_FACETS, userNamespace: false, reportsTier: engineTier('gvisor'),
    open: async () => (hasRunsc ? { rt: await podmanDriver(), close: async () => {} } : 'runsc registered in .clawpod/containers.conf'),
  },
  { name: 'docker', tier: 'runc', facets: ENGINE_FACETS, userNamespace: false, reportsTier: engineTier('runc'), open: openDocker },
  // a RuntimeClass names the tier; none = the node's default runtime (runc)
  { name: 'kubernetes', tier: 'runc', facets: [], userNamespace: false, reportsTier: (oci) => oci === '', open: openKube },
  {
    // QEMU and the guest's kernel live inside the container's limits. These machines' KVM (PVM) cannot boot the
    // guest, so QEMU emulates it: the target's 13 cases took 71 s at load 7.5 (three VM boots); in every run,
    // since the issue asks the suite to be green for every runtime that runs here
    name: 'microvm (podman)', tier: 'microvm', facets: PODMAN_FACETS, userNamespace: true, reportsTier: engineTier('microvm'), execMergesStderr: true, timeoutMs: 240_000,
    resources: { cpus: 1, memoryBytes: 512 * 2 ** 20, pids: 128 },
    open: async () => (hasRuntime('clawpod-microvm') ? { rt: await podmanDriver(), close: async () => {} } : 'clawpod-microvm registered in .clawpod/containers.conf'),
  },
];

/** A private dockerd on a scratch socket (or DOCKER_HOST when given), as test/integration/docker.test.ts. */
async function openDocker(): Promise<Opened | string> {
  const given = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : undefined;
  const dockerd = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' }).stdout.trim();
  if (!given && !dockerd) return 'dockerd (the Debian package docker.io)';
  let daemon: ChildProcess | undefined;
  let socket = given ?? '';
  if (!given) {
    const root = tmpDir();
    socket = join(root, 'docker.sock');
    mkdirSync(join(root, 'exec'));
    daemon = spawn(dockerd, ['--host', `unix://${socket}`, '--data-root', join(root, 'data'), '--exec-root', join(root, 'exec'),
      '--pidfile', join(root, 'docker.pid'), '--bridge', 'none', '--iptables=false', '--default-ulimit', 'nofile=1024:1024', '--default-ulimit', 'nproc=1024:1024'],
    { stdio: 'ignore' });
    for (let i = 0; i < 150 && !(existsSync(socket) && (await probeSocket(socket, 500))); i++) await new Promise((r) => setTimeout(r, 100));
  }
  const rt = new DockerDriver(`unix://${socket}`, socket);
  await importImage(rt);
  return {
    rt,
    close: async () => {
      if (!daemon) return;
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
      rmSync(join(socket, '..'), { recursive: true, force: true });
    },
  };
}

/** The shared harness node, with the busybox image imported from Podman. */
async function openKube(): Promise<Opened | string> {
  await podmanDriver();
  const ns = `${P}-ns`;
  const { kube, skip } = await startKubeIn(ns, { nodes: true, images: [IMAGE] });
  if (!kube) return skip;
  return { rt: new KubernetesDriver({ kubeconfig: kube.kubeconfig, namespace: ns, pollMs: 100 }), close: () => kube.stop() };
}

function spec(t: Target, name: string, run: string, o: { volume?: string; stdin?: boolean } = {}): ContainerSpec {
  return {
    name, image: IMAGE, command: ['/bin/sh', '-c', run], env: { PATH: '/bin' }, user: '1000:1000',
    labels: { [LABEL]: P }, ports: [], network: 'none', isolation: t.tier,
    mounts: [{ kind: 'tmpfs', target: '/tmp', sizeBytes: 16 * 2 ** 20 }, ...(o.volume ? [{ kind: 'volume' as const, name: o.volume, target: '/workspace', readOnly: false }] : [])],
    resources: t.resources ?? { cpus: 0.25, memoryBytes: 64 * 2 ** 20, pids: 64 },
    security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: t.userNamespace },
    ...(o.stdin ? { openStdin: true } : {}),
  };
}

async function text(chunks: AsyncIterable<OutputChunk>): Promise<string> {
  let s = '';
  for await (const c of chunks) s += c.data.toString();
  return s;
}

/** Until `f` holds (polled), or its last value after `ms`. */
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tarOf(name: string, content: string): Readable {
  const p = pack();
  p.entry({ name, mode: 0o644, uid: 1000, gid: 1000 }, content);
  p.finalize();
  return p as unknown as Readable;
}

async function firstFile(tar: Readable): Promise<string> {
  const ex = extract();
  tar.pipe(ex);
  for await (const e of ex) {
    let s = '';
    for await (const c of e) s += (c as Buffer).toString();
    if (e.header.type === 'file') return s;
  }
  return '';
}

// CLAWPOD_CONFORMANCE=podman,docker runs those targets only (a developer's quick run)
const only = process.env.CLAWPOD_CONFORMANCE?.split(',');
describe.each(TARGETS.filter((x) => !only || only.some((o) => x.name.startsWith(o))))('runtime conformance: $name', (t) => {
  let rt: Runtime | undefined;
  let opened: Opened | undefined;
  let skip = '';
  const slug = t.name.replace(/[^a-z]+/g, '').slice(0, 6);
  const exits = `${P}-${slug}-exits`;
  const reads = `${P}-${slug}-reads`;
  const runs = `${P}-${slug}-runs`;
  const vol = `${P}-${slug}-ws`;
  const ids: Record<string, string> = {};
  let attached: Promise<string> | undefined;

  beforeAll(async () => {
    const o = await t.open();
    if (typeof o === 'string') { skip = o; return; }
    opened = o;
    rt = o.rt;
  }, 15 * 60_000);

  afterAll(async () => {
    if (rt) {
      for (const c of await rt.listContainers({ labels: { [LABEL]: P }, all: true }).catch(() => [])) await rt.removeContainer(c.id, { force: true }).catch(() => undefined);
      await rt.removeVolume(vol).catch(() => undefined);
      if (hasNetworks(rt)) await rt.removeNetwork(`${P}-${slug}-net`).catch(() => undefined);
    }
    await opened?.close();
  }, 180_000);

  const need = (ctx: { skip(note?: string): void }): Runtime => {
    if (skip) missing(ctx, skip);
    return rt!;
  };

  it('declares the facets its driver has', (ctx) => {
    expect(facetsOf(need(ctx))).toEqual(t.facets);
  }, t.timeoutMs);

  it('volumes: created with labels, found by label', async (ctx) => {
    const r = need(ctx);
    await r.createVolume(vol, { [LABEL]: P });
    expect((await r.inspectVolume(vol))?.labels[LABEL]).toBe(P);
    expect((await r.listVolumes({ labels: { [LABEL]: P } })).map((v) => v.name)).toContain(vol);
  }, t.timeoutMs);

  it('create, start, wait: the exit code; logs: both streams', async (ctx) => {
    const r = need(ctx);
    ids.exits = await r.createContainer(spec(t, exits, 'echo out; echo err >&2; echo kept > /workspace/f; exit 3', { volume: vol }));
    expect((await r.inspectContainer(ids.exits))?.state).toBe('created');
    await r.startContainer(ids.exits);
    expect(await r.waitContainer(ids.exits)).toBe(3);
    expect((await r.inspectContainer(ids.exits))).toMatchObject({ state: 'exited', exitCode: 3 });
    const logs = await text(r.logs(ids.exits));
    expect(logs).toContain('out\n');
    expect(logs).toContain('err\n');
  }, t.timeoutMs);

  it('volumes persist across containers', async (ctx) => {
    const r = need(ctx);
    ids.reads = await r.createContainer(spec(t, reads, 'cat /workspace/f', { volume: vol }));
    await r.startContainer(ids.reads);
    expect(await r.waitContainer(ids.reads)).toBe(0);
    expect(await text(r.logs(ids.reads))).toBe('kept\n');
  }, t.timeoutMs);

  it('attach: stdin reaches the container, its stdout comes back', async (ctx) => {
    const r = need(ctx);
    ids.runs = await r.createContainer(spec(t, runs, 'read line; echo "got:$line"; exec sleep 600', { stdin: true }));
    const a = await r.attach(ids.runs);
    await r.startContainer(ids.runs);
    attached = (async () => {
      let s = '';
      for await (const c of a.output) { s += c.data.toString(); if (s.includes('\n')) break; }
      a.close();
      return s;
    })();
    a.stdin.write('hello\n');
    expect(await attached).toBe('got:hello\n');
  }, t.timeoutMs);

  it('exec: exit code, stdout and stderr apart, stdin', async (ctx) => {
    const r = need(ctx);
    const x = await r.exec(ids.runs!, { cmd: ['sh', '-c', 'echo o; echo e >&2; exit 5'] });
    expect(x).toEqual(t.execMergesStderr ? { exitCode: 5, stdout: 'o\ne\n', stderr: '' } : { exitCode: 5, stdout: 'o\n', stderr: 'e\n' });
    expect((await r.exec(ids.runs!, { cmd: ['cat'], stdin: 'piped' })).stdout).toBe('piped');
  }, t.timeoutMs);

  it('inspect: user, read-only root, capabilities dropped, isolation as asked', async (ctx) => {
    const r = need(ctx);
    const d = (await r.inspectContainer(ids.runs!))!;
    expect(d).toMatchObject({ name: runs, state: 'running', user: '1000:1000', readOnlyRootfs: true, labels: { [LABEL]: P } });
    expect(d.capDrop.length).toBeGreaterThan(0);
    expect(t.reportsTier(d.ociRuntime, runs), `ociRuntime "${d.ociRuntime}"`).toBe(true);
    // what the engine reports is what the process gets
    const inside = await r.exec(ids.runs!, { cmd: ['sh', '-c', 'id -u; grep CapEff /proc/self/status; touch /x 2>/dev/null || echo ro'] });
    expect(inside.stdout).toMatch(/^1000\nCapEff:\s+0+\nro\n$/);
  }, t.timeoutMs);

  it('list: by label', async (ctx) => {
    const r = need(ctx);
    const names = (await r.listContainers({ labels: { [LABEL]: P }, all: true })).map((c) => c.name).sort();
    expect(names).toEqual([exits, reads, runs].sort());
    expect((await r.listContainers({ labels: { [LABEL]: `${P}-other` }, all: true }))).toEqual([]);
  }, t.timeoutMs);

  it('pausing (where the driver has it)', async (ctx) => {
    const r = need(ctx);
    if (!hasPausing(r)) return ctx.skip(`${t.name} has no pausing facet`);
    await r.pauseContainer(ids.runs!);
    expect((await r.inspectContainer(ids.runs!))?.state).toBe('paused');
    await r.unpauseContainer(ids.runs!);
    expect((await r.inspectContainer(ids.runs!))?.state).toBe('running');
  }, t.timeoutMs);

  it('archives (where the driver has it): into and out of a stopped container', async (ctx) => {
    const r = need(ctx);
    if (!hasArchives(r)) return ctx.skip(`${t.name} has no archives facet`);
    await r.putArchive(ids.exits!, '/workspace', tarOf('put.txt', 'in via tar'));
    expect(await firstFile((await r.getArchive(ids.exits!, '/workspace/put.txt'))!)).toBe('in via tar');
    expect(await r.getArchive(ids.exits!, '/workspace/none')).toBeUndefined();
  }, t.timeoutMs);

  it('renaming (where the driver has it)', async (ctx) => {
    const r = need(ctx);
    if (!hasRenaming(r)) return ctx.skip(`${t.name} has no renaming facet`);
    await r.renameContainer(ids.reads!, `${reads}2`);
    expect((await r.inspectContainer(`${reads}2`))?.id).toBe(ids.reads);
    expect(await r.inspectContainer(reads)).toBeUndefined();
  }, t.timeoutMs);

  it('images, runtime secrets, networks (where the driver has them)', async (ctx) => {
    const r = need(ctx);
    if (!hasImages(r) && !hasRuntimeSecrets(r) && !hasNetworks(r)) return ctx.skip(`${t.name} has none of these facets`);
    if (hasImages(r)) expect((await r.inspectImage(IMAGE))?.tags).toContain(IMAGE);
    if (hasRuntimeSecrets(r)) {
      const s = `${P}-${slug}-secret`;
      await r.createSecret(s, 'value');
      await r.removeSecret(s);
      await r.removeSecret(s); // idempotent
    }
    if (hasNetworks(r)) {
      const n = `${P}-${slug}-net`;
      await r.createNetwork(n, { [LABEL]: P });
      expect((await r.inspectNetwork(n))?.labels[LABEL]).toBe(P);
      expect((await r.listNetworks({ labels: { [LABEL]: P } })).map((x) => x.name)).toContain(n);
      await r.removeNetwork(n);
      expect(await r.inspectNetwork(n)).toBeUndefined();
    }
  }, t.timeoutMs);

  it('a facet it lacks is a USAGE error that says what to do instead', (ctx) => {
    const r = need(ctx);
    const lacking = (Object.keys(FACET_METHODS) as Facet[]).filter((f) => !t.facets.includes(f));
    if (!lacking.length) return ctx.skip(`${t.name} has every facet`);
    for (const f of lacking) {
      const e = (() => { try { requireFacet(r, f, 'the test'); } catch (err) { return err; } })();
      expect(e, f).toBeInstanceOf(ClawpodError);
      expect(e, f).toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/\w/) });
    }
  }, t.timeoutMs);

  it('stop and remove: containers, then the volume', async (ctx) => {
    const r = need(ctx);
    await r.stopContainer(ids.runs!, 1);
    expect(typeof (await r.waitContainer(ids.runs!))).toBe('number');
    expect((await r.inspectContainer(ids.runs!))?.state).not.toBe('running');
    for (const id of Object.values(ids)) await r.removeContainer(id, { force: true });
    for (const id of Object.values(ids)) expect(await r.inspectContainer(id)).toBeUndefined();
    await r.removeVolume(vol);
    // a claim goes once no Pod holds it (its protection finalizer): polled
    expect(await until(() => r.inspectVolume(vol), (v) => v === undefined)).toBeUndefined();
  }, t.timeoutMs);
});
