// Engine API driver (Docker-compatible REST over a unix socket) through dockerode.
// Podman and Docker both speak it; their differences live in podman-driver.ts / docker-driver.ts.
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { ClawpodError, messageOf } from '../errors.js';
import { demux } from './demux.js';
import type {
  Attached, BuildOptions, ContainerDetails, ContainerInfo, ContainerSpec, ContainerState, ExecOptions, ExecResult,
  ImageInfo, OutputChunk, PortBinding, Runtime, RuntimeCapabilities, RuntimeInfo, RuntimeKind, VolumeInfo,
} from './runtime.js';

interface EngineError { statusCode?: number; json?: { message?: string } | string; message?: string; code?: string }

export function engineMessage(e: unknown): string {
  const err = e as EngineError;
  if (err && typeof err.json === 'object' && err.json?.message) return err.json.message;
  if (err && typeof err.json === 'string' && err.json.trim()) return err.json.trim();
  return messageOf(e);
}

const statusOf = (e: unknown): number | undefined => (e as EngineError)?.statusCode;

function labelFilter(labels?: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
}

function portsFromEngine(bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const [port, proto] = key.split('/');
    for (const b of list ?? []) {
      if (!b.HostPort) continue;
      out.push({ containerPort: Number(port), hostPort: Number(b.HostPort), hostIP: b.HostIp || '0.0.0.0', protocol: proto === 'udp' ? 'udp' : 'tcp' });
    }
  }
  return out;
}

export abstract class EngineDriver implements Runtime {
  abstract readonly kind: RuntimeKind;
  readonly capabilities: RuntimeCapabilities = { hostPorts: true, build: true };
  protected readonly docker: Docker;

  constructor(readonly endpoint: string, readonly socketPath: string) {
    this.docker = new Docker({ socketPath });
  }

  /** The OCI runtime name the engine knows gVisor by, or undefined when it has none. */
  protected abstract gvisorRuntime(info: RuntimeInfo): string | undefined;

  /** Wraps an engine failure in a ClawpodError that names what we were doing. */
  protected fail(what: string, e: unknown): never {
    if (e instanceof ClawpodError) throw e;
    const code = (e as EngineError)?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES') {
      throw new ClawpodError('RUNTIME_UNAVAILABLE', `${this.kind} at ${this.endpoint} did not answer while trying to ${what}: ${code}`, {
        hint: 'run `clawpod doctor` to find and start a container runtime', cause: e,
      });
    }
    const status = statusOf(e);
    if (status === 404) throw new ClawpodError('NOT_FOUND', `${what}: ${engineMessage(e)}`, { cause: e, hint: 'run `clawpod ps -a` to see what exists' });
    if (status === 409) throw new ClawpodError('NAME_TAKEN', `${what}: ${engineMessage(e)}`, { cause: e, hint: 'choose another --name or remove the existing one with `clawpod rm NAME`' });
    throw new ClawpodError('RUNTIME_ERROR', `${this.kind} failed to ${what}: ${engineMessage(e)}`, { cause: e });
  }

  async info(): Promise<RuntimeInfo> {
    try {
      const [version, info] = await Promise.all([this.docker.version(), this.docker.info() as Promise<Record<string, unknown>>]);
      const runtimes: Record<string, string> = {};
      for (const [name, r] of Object.entries((info.Runtimes as Record<string, { path?: string }> | undefined) ?? {})) runtimes[name] = r?.path ?? '';
      return {
        kind: this.kind,
        version: version.Version,
        apiVersion: version.ApiVersion,
        ociRuntimes: runtimes,
        cgroupVersion: typeof info.CgroupVersion === 'string' ? info.CgroupVersion : undefined,
      };
    } catch (e) { this.fail('read its version', e); }
  }

  protected async createBody(spec: ContainerSpec): Promise<Docker.ContainerCreateOptions> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
    }
    const tmpfs: Record<string, string> = {};
    const mounts: Docker.MountSettings[] = [];
    for (const m of spec.mounts) {
      if (m.kind === 'tmpfs') tmpfs[m.target] = `rw,nosuid,nodev,size=${m.sizeBytes}`;
      else if (m.kind === 'volume') mounts.push({ Type: 'volume', Source: m.name, Target: m.target, ReadOnly: m.readOnly });
      else mounts.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly });
    }
    let runtime: string | undefined;
    if (spec.isolation === 'gvisor') {
      const info = await this.info();
      runtime = this.gvisorRuntime(info);
      if (!runtime) {
        throw new ClawpodError('ISOLATION_UNAVAILABLE', `isolation: gvisor needs the runsc runtime, and ${this.kind} at ${this.endpoint} has none (usable: ${Object.keys(info.ociRuntimes).filter((n) => this.usableRuntime(info, n)).join(', ') || 'none listed'})`, {
          hint: this.gvisorHint(),
        });
      }
    }
    return {
      name: spec.name,
      Image: spec.image,
      ...(spec.command ? { Entrypoint: [...spec.command] } : {}),
      ...(spec.args ? { Cmd: [...spec.args] } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      User: spec.user,
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      Labels: { ...spec.labels },
      ExposedPorts: exposed,
      OpenStdin: spec.openStdin ?? false,
      StdinOnce: false,
      AttachStdin: spec.openStdin ?? false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: spec.network,
        PortBindings: bindings,
        Mounts: mounts,
        Tmpfs: tmpfs,
        ReadonlyRootfs: spec.security.readOnlyRootfs,
        CapDrop: spec.security.dropAllCapabilities ? ['ALL'] : [],
        SecurityOpt: spec.security.noNewPrivileges ? ['no-new-privileges'] : [],
        Memory: spec.resources.memoryBytes,
        MemorySwap: spec.resources.memoryBytes,
        NanoCpus: Math.round(spec.resources.cpus * 1e9),
        PidsLimit: spec.resources.pids,
        ...(runtime ? { Runtime: runtime } : {}),
      },
    };
  }

  /** Podman lists runtimes it merely knows of; on a local socket, a listed binary must exist too. */
  protected usableRuntime(info: RuntimeInfo, name: string): boolean {
    const path = info.ociRuntimes[name];
    if (path === undefined) return false;
    return path === '' || !path.startsWith('/') || existsSync(path);
  }

  protected gvisorHint(): string {
    return 'install gVisor (Debian: apt-get install -y runsc) and register it with the engine, or use isolation: runc';
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const body = await this.createBody(spec);
    try {
      const c = await this.docker.createContainer(body);
      return c.id;
    } catch (e) {
      if (statusOf(e) === 404) {
        throw new ClawpodError('IMAGE_NOT_FOUND', `image ${spec.image} is not in ${this.kind}'s store`, {
          hint: 'build it with `clawpod image build` or pull it with `podman pull IMAGE`', cause: e,
        });
      }
      this.fail(`create container ${spec.name}`, e);
    }
  }

  async startContainer(id: string): Promise<void> {
    try { await this.docker.getContainer(id).start(); } catch (e) {
      if (statusOf(e) === 304) return; // already running
      this.fail(`start container ${id}`, e);
    }
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    try { await this.docker.getContainer(id).stop({ t: timeoutSeconds }); } catch (e) {
      if (statusOf(e) === 304) return; // already stopped
      this.fail(`stop container ${id}`, e);
    }
  }

  async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    try { await this.docker.getContainer(id).remove({ force: opts.force ?? false, v: false }); } catch (e) {
      if (statusOf(e) === 404) return;
      this.fail(`remove container ${id}`, e);
    }
  }

  async waitContainer(id: string): Promise<number> {
    try {
      const r = (await this.docker.getContainer(id).wait()) as { StatusCode: number };
      return r.StatusCode;
    } catch (e) { this.fail(`wait for container ${id}`, e); }
  }

  async listContainers(filter: { labels?: Readonly<Record<string, string>>; all?: boolean } = {}): Promise<ContainerInfo[]> {
    try {
      const list = await this.docker.listContainers({ all: filter.all ?? true, filters: { label: labelFilter(filter.labels) } });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        image: c.Image,
        state: (c.State as ContainerState) ?? 'unknown',
        labels: c.Labels ?? {},
        ports: (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => ({
          containerPort: p.PrivatePort, hostPort: p.PublicPort, hostIP: p.IP || '0.0.0.0', protocol: p.Type === 'udp' ? 'udp' : 'tcp',
        })),
        createdAt: new Date(c.Created * 1000).toISOString(),
      }));
    } catch (e) { this.fail('list containers', e); }
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    let d: Docker.ContainerInspectInfo;
    try { d = await this.docker.getContainer(idOrName).inspect(); } catch (e) {
      if (statusOf(e) === 404) return undefined;
      this.fail(`inspect container ${idOrName}`, e);
    }
    const hc = d.HostConfig;
    return {
      id: d.Id,
      name: d.Name.replace(/^\//, ''),
      image: d.Config.Image,
      state: (d.State.Status as ContainerState) ?? 'unknown',
      labels: d.Config.Labels ?? {},
      ports: portsFromEngine(hc.PortBindings as Record<string, { HostIp?: string; HostPort?: string }[]>),
      createdAt: d.Created,
      ...(d.State.Status === 'exited' ? { exitCode: d.State.ExitCode } : {}),
      user: d.Config.User,
      readOnlyRootfs: hc.ReadonlyRootfs ?? false,
      capDrop: hc.CapDrop ?? [],
      securityOpt: hc.SecurityOpt ?? [],
      memoryBytes: hc.Memory ?? 0,
      pidsLimit: hc.PidsLimit ?? 0,
      nanoCpus: hc.NanoCpus ?? 0,
      networkMode: hc.NetworkMode ?? '',
      ociRuntime: (hc as { Runtime?: string }).Runtime ?? '',
      mounts: (d.Mounts ?? []).map((m) => ({ type: m.Type, source: m.Name ?? m.Source, target: m.Destination, readOnly: !m.RW })),
      raw: d,
    };
  }

  async *logs(id: string, opts: { follow?: boolean; tail?: number } = {}): AsyncIterable<OutputChunk> {
    let src: Readable | Buffer;
    try {
      const c = this.docker.getContainer(id);
      const common = { stdout: true, stderr: true, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) };
      src = (opts.follow ? await c.logs({ ...common, follow: true }) : await c.logs({ ...common, follow: false })) as Readable | Buffer;
    } catch (e) { this.fail(`read logs of ${id}`, e); }
    yield* demux(src);
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const hasStdin = opts.stdin !== undefined;
    try {
      const ex = await this.docker.getContainer(id).exec({
        Cmd: [...opts.cmd],
        AttachStdout: true, AttachStderr: true, AttachStdin: hasStdin,
        ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(opts.user ? { User: opts.user } : {}),
        ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
      });
      const stream = await ex.start({ hijack: true, stdin: hasStdin });
      if (hasStdin) {
        const input = typeof opts.stdin === 'string' ? Readable.from([opts.stdin]) : opts.stdin!;
        input.on('end', () => (stream as unknown as { end(): void }).end());
        input.pipe(stream as unknown as NodeJS.WritableStream, { end: false });
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      for await (const chunk of demux(stream as unknown as Readable)) {
        (chunk.stream === 'stdout' ? out : err).push(chunk.data);
        opts.onOutput?.(chunk);
      }
      const r = await ex.inspect();
      return { exitCode: r.ExitCode ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    } catch (e) { this.fail(`exec in ${id}`, e); }
  }

  async attach(id: string): Promise<Attached> {
    try {
      const socket = (await this.docker.getContainer(id).attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as NodeJS.ReadWriteStream & Readable & { destroy(): void };
      const stdin = new PassThrough();
      stdin.pipe(socket as unknown as NodeJS.WritableStream);
      return { stdin, output: demux(socket), close: () => socket.destroy() };
    } catch (e) { this.fail(`attach to ${id}`, e); }
  }

  async createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    try { await this.docker.createVolume({ Name: name, Labels: { ...labels } }); } catch (e) { this.fail(`create volume ${name}`, e); }
  }

  async removeVolume(name: string): Promise<void> {
    try { await this.docker.getVolume(name).remove(); } catch (e) {
      if (statusOf(e) === 404) return;
      this.fail(`remove volume ${name}`, e);
    }
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    try {
      const v = await this.docker.getVolume(name).inspect();
      return { name: v.Name, labels: v.Labels ?? {}, mountpoint: v.Mountpoint };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      this.fail(`inspect volume ${name}`, e);
    }
  }

  async listVolumes(filter: { labels?: Readonly<Record<string, string>> } = {}): Promise<VolumeInfo[]> {
    try {
      const r = await this.docker.listVolumes({ filters: { label: labelFilter(filter.labels) } });
      return (r.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {}, mountpoint: v.Mountpoint }));
    } catch (e) { this.fail('list volumes', e); }
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.docker.getImage(ref).inspect();
      return { id: i.Id, tags: i.RepoTags ?? [], labels: i.Config?.Labels ?? {}, sizeBytes: i.Size };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      this.fail(`inspect image ${ref}`, e);
    }
  }

  async buildImage(opts: BuildOptions): Promise<ImageInfo> {
    let failure: string | undefined;
    try {
      const stream = await this.docker.buildImage(opts.context as unknown as NodeJS.ReadableStream, {
        t: opts.tag, dockerfile: opts.containerfile, buildargs: { ...(opts.buildArgs ?? {}) }, labels: { ...(opts.labels ?? {}) }, rm: true,
      } as Docker.ImageBuildOptions);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve()), (ev: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
          if (ev.stream) for (const line of ev.stream.split('\n')) if (line.trim()) opts.onProgress?.(line.trimEnd());
        });
      });
    } catch (e) {
      failure ??= engineMessage(e);
    }
    const image = failure === undefined ? await this.inspectImage(opts.tag) : undefined;
    if (!image) {
      throw new ClawpodError('IMAGE_BUILD_FAILED', `building ${opts.tag} failed: ${failure ?? 'the engine reported success but the image is missing'}`, {
        hint: 'read the build output above: the failing step and its message are printed there',
      });
    }
    return image;
  }

  async importImage(rootfs: Readable, ref: string, opts: { changes?: readonly string[] } = {}): Promise<void> {
    try {
      // The whole reference goes in `repo`: Podman's compat endpoint drops a separate `tag`.
      const stream = await this.docker.importImage(rootfs as unknown as NodeJS.ReadableStream, { repo: ref, changes: opts.changes ? [...opts.changes] : undefined } as object);
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    } catch (e) { this.fail(`import image ${ref}`, e); }
  }

  async pullImage(ref: string, opts: { timeoutMs?: number; onProgress?: (line: string) => void } = {}): Promise<void> {
    const ac = new AbortController();
    const timer = opts.timeoutMs ? setTimeout(() => ac.abort(), opts.timeoutMs) : undefined;
    try {
      const stream = await this.docker.pull(ref, { abortSignal: ac.signal });
      await new Promise<void>((resolve, reject) => {
        ac.signal.addEventListener('abort', () => reject(new Error(`no answer from the registry within ${opts.timeoutMs} ms`)));
        this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve()), (ev: { status?: string; error?: string }) => {
          if (ev.error) reject(new Error(ev.error));
          else if (ev.status) opts.onProgress?.(ev.status);
        });
      });
    } catch (e) {
      throw new ClawpodError('IMAGE_NOT_FOUND', `could not pull ${ref}: ${ac.signal.aborted ? `no answer from the registry within ${opts.timeoutMs} ms` : engineMessage(e)}`, {
        hint: 'check the image name and your registry access, or build it locally with `clawpod image build`', cause: e,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async removeImage(ref: string): Promise<void> {
    try { await this.docker.getImage(ref).remove({ force: true }); } catch (e) {
      if (statusOf(e) === 404) return;
      this.fail(`remove image ${ref}`, e);
    }
  }
}
