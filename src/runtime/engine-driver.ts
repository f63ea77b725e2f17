// Engine API driver (Docker-compatible REST over a unix socket). Podman and Docker both
// speak it; their differences live in podman-driver.ts / docker-driver.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClawpodError, messageOf } from '../errors.js';
import { demux } from './demux.js';
import { EngineClient, EngineHttpError, jsonLines } from './engine-client.js';
import { isolationMismatch, TIERS } from './isolation.js';
import type { EngineContainer, EngineCreateBody, EngineImage, EngineListed, EngineVolume } from './engine-types.js';
import type {
  Attached, BuildOptions, ContainerDetails, ContainerInfo, ContainerSpec, ContainerState, ExecOptions, ExecResult,
  ImageInfo, IsolationTier, OutputChunk, PortBinding, RuntimeCapabilities, RuntimeInfo, RuntimeKind, VolumeInfo,
  NetworkInfo, NetworkOptions, EngineRuntime,
} from './runtime.js';

const statusOf = (e: unknown): number | undefined => (e instanceof EngineHttpError ? e.statusCode : undefined);
const enc = encodeURIComponent;

function labelFilter(labels?: Readonly<Record<string, string>>): { label: string[] } {
  return { label: Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`) };
}

const volumeInfo = (v: EngineVolume): VolumeInfo => ({ name: v.Name, labels: v.Labels ?? {}, mountpoint: v.Mountpoint, ...(v.CreatedAt ? { createdAt: v.CreatedAt } : {}) });

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

/**
 * Podman lists runtimes it merely knows of; on a local socket, a listed binary must exist too.
 * A bare name (Docker says "runc") is looked up by the engine on its own PATH: trust it.
 */
export function usableOciRuntime(info: Pick<RuntimeInfo, 'ociRuntimes'>, name: string): boolean {
  const path = info.ociRuntimes[name];
  if (path === undefined) return false;
  return path === '' || !path.startsWith('/') || existsSync(path);
}

/**
 * A registered runtime that is a small wrapper script passing --network=none (clawpod's setup registers
 * runsc that way: gVisor cannot set up its own network stack on these VMs) gives a container no network.
 */
export function withoutNetwork(path: string): boolean {
  if (!path.startsWith('/')) return false;
  try {
    if (statSync(path).size > 4096) return false; // a binary, not a wrapper
    return /--network[= ]none\b/.test(readFileSync(path, 'utf8'));
  } catch { return false; }
}

export abstract class EngineDriver implements EngineRuntime {
  abstract readonly kind: RuntimeKind;
  readonly capabilities: RuntimeCapabilities = { hostPorts: true };
  protected readonly api: EngineClient;

  constructor(readonly endpoint: string, readonly socketPath: string) {
    this.api = new EngineClient(socketPath);
  }

  /** How to get the runtime of `tier` registered with this engine (the ISOLATION_UNAVAILABLE hint). */
  protected abstract isolationHint(tier: IsolationTier): string;

  /** The OCI runtime name to ask the engine for, undefined for its default; throws when the tier cannot run here. */
  protected async runtimeFor(spec: ContainerSpec): Promise<string | undefined> {
    const min = TIERS[spec.isolation].minMemoryBytes;
    if (min && spec.resources.memoryBytes > 0 && spec.resources.memoryBytes < min) {
      throw new ClawpodError('SPEC_INVALID', `isolation: ${spec.isolation} needs a memory limit of at least ${min / 2 ** 20} MiB (${TIERS[spec.isolation].what} shares it), and ${spec.name} has ${Math.round(spec.resources.memoryBytes / 2 ** 20)} MiB`, {
        hint: `set spec.resources.memory to ${min / 2 ** 20}Mi or more, or use isolation: runc or gvisor`,
      });
    }
    const want = TIERS[spec.isolation].request;
    if (!want) return undefined;
    const info = await this.runtimes();
    if (!this.usableRuntime(info, want)) {
      const usable = Object.keys(info.ociRuntimes).filter((n) => this.usableRuntime(info, n));
      throw new ClawpodError('ISOLATION_UNAVAILABLE', `isolation: ${spec.isolation} needs the ${want} runtime, and ${this.kind} at ${this.endpoint} has none (usable: ${usable.join(', ') || 'none listed'})`, { hint: this.isolationHint(spec.isolation) });
    }
    if (spec.network !== 'none' && withoutNetwork(info.ociRuntimes[want]!)) {
      // its networked twin, when registered beside it (setup.sh: runsc-net, docs/runtimes.md)
      const net = TIERS[spec.isolation].networkedRequest;
      if (net && this.usableRuntime(info, net) && !withoutNetwork(info.ociRuntimes[net]!)) return net;
      throw new ClawpodError('ISOLATION_UNAVAILABLE', `isolation: ${spec.isolation} with network: ${spec.network}: the ${want} registered with ${this.kind} (${info.ociRuntimes[want]}) runs with --network=none, so the agent would have no network`, {
        hint: `use network: none with isolation: ${spec.isolation} (ports need a network too); for a networked agent register ${TIERS[spec.isolation].networkedRequest ?? 'a networked runtime'} (./scripts/setup.sh does) or use isolation: runc; see docs/runtimes.md`,
      });
    }
    return want;
  }

  /** The OCI runtime the engine reports for a container (Docker: HostConfig.Runtime; Podman overrides). */
  protected async reportedRuntime(id: string): Promise<string | undefined> {
    const d = await this.api.call<EngineContainer>('GET', `/containers/${enc(id)}/json`, { accept: [404] });
    return d ? (d.HostConfig.Runtime ?? '') : undefined;
  }

  /**
   * Reads back the runtime the engine really used and refuses a container whose tier differs:
   * it is removed before the error is thrown, so a caller never starts or keeps it.
   */
  async verifyIsolation(id: string, spec: Pick<ContainerSpec, 'isolation' | 'name'>): Promise<void> {
    let reported: string | undefined;
    try { reported = await this.reportedRuntime(id); } catch (e) { await this.removeContainer(id, { force: true }).catch(() => undefined); this.fail(`inspect container ${spec.name}`, e); }
    const err = isolationMismatch(spec.isolation, reported ?? '', spec.name);
    if (!err) return;
    await this.removeContainer(id, { force: true });
    throw err;
  }

  protected usableRuntime(info: Pick<RuntimeInfo, 'ociRuntimes'>, name: string): boolean {
    return usableOciRuntime(info, name);
  }

  /** Wraps an engine failure in a ClawpodError that names what we were doing. */
  protected fail(what: string, e: unknown): never {
    if (e instanceof ClawpodError) throw e;
    const code = (e as { code?: string })?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET') {
      throw new ClawpodError('RUNTIME_UNAVAILABLE', `${this.kind} at ${this.endpoint} did not answer while trying to ${what}: ${code}`, {
        hint: 'run `clawpod doctor` to find and start a container runtime', cause: e,
      });
    }
    const status = statusOf(e);
    if (status === 404) throw new ClawpodError('NOT_FOUND', `${what}: ${messageOf(e)}`, { cause: e, hint: 'run `clawpod ps -a` to see what exists' });
    if (status === 409) throw new ClawpodError('NAME_TAKEN', `${what}: ${messageOf(e)}`, { cause: e, hint: 'choose another --name or remove the existing one with `clawpod rm NAME`' });
    throw new ClawpodError('RUNTIME_ERROR', `${this.kind} failed to ${what}: ${messageOf(e)}`, { cause: e });
  }

  /** GET /info alone: the OCI runtimes the engine lists. Its /version is the slow one on Podman (~0.3 s idle: it asks conmon and the OCI runtime), and a gVisor create needs only this. */
  private async runtimes(): Promise<Pick<RuntimeInfo, 'ociRuntimes' | 'cgroupVersion' | 'defaultRuntime'>> {
    let info: { Runtimes?: Record<string, { path?: string }>; CgroupVersion?: string; DefaultRuntime?: string } | undefined;
    try { info = await this.api.call('GET', '/info'); } catch (e) { this.fail('read its runtimes', e); }
    const runtimes: Record<string, string> = {};
    for (const [name, r] of Object.entries(info?.Runtimes ?? {})) runtimes[name] = r?.path ?? '';
    return { ociRuntimes: runtimes, ...(info?.CgroupVersion ? { cgroupVersion: info.CgroupVersion } : {}), ...(info?.DefaultRuntime ? { defaultRuntime: info.DefaultRuntime } : {}) };
  }

  async info(): Promise<RuntimeInfo> {
    try {
      const [version, rest] = await Promise.all([this.api.call<{ Version: string; ApiVersion: string }>('GET', '/version'), this.runtimes()]);
      return { kind: this.kind, version: version?.Version ?? '?', apiVersion: version?.ApiVersion ?? '?', ...rest };
    } catch (e) { this.fail('read its version', e); }
  }

  protected async createBody(spec: ContainerSpec): Promise<EngineCreateBody> {
    // Docker's create takes one network; more need a connect each, which nothing here does yet
    if (spec.extraNetworks?.length) throw new ClawpodError('RUNTIME_ERROR', `${spec.name}: joining several networks (an egress proxy) is implemented for Podman only`, { hint: 'use Podman (docs/egress.md), or drop spec.egress' });
    if (spec.noLinkIpv6) throw new ClawpodError('RUNTIME_ERROR', `${spec.name}: an interface without IPv6 (an agent behind an egress proxy) is implemented for Podman only`, { hint: 'use Podman (docs/egress.md), or drop spec.egress' });
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
    }
    const tmpfs: Record<string, string> = {};
    const mounts: EngineCreateBody['HostConfig']['Mounts'] = [];
    for (const m of spec.mounts) {
      if (m.kind === 'tmpfs') tmpfs[m.target] = `rw,nosuid,nodev,size=${m.sizeBytes}`;
      else if (m.kind === 'volume') mounts.push({ Type: 'volume', Source: m.name, Target: m.target, ReadOnly: m.readOnly });
      else mounts.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly });
    }
    const runtime = await this.runtimeFor(spec);
    return {
      Image: spec.image,
      ...(spec.command ? { Entrypoint: [...spec.command] } : {}),
      ...(spec.args ? { Cmd: [...spec.args] } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      User: spec.user,
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      ...(spec.hostname ? { Hostname: spec.hostname } : {}),
      Labels: { ...spec.labels },
      ExposedPorts: exposed,
      OpenStdin: spec.openStdin ?? false,
      StdinOnce: false,
      AttachStdin: spec.openStdin ?? false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: spec.network === 'bridge' && spec.networkName ? spec.networkName : spec.network,
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
        ...(spec.dns?.length ? { Dns: [...spec.dns] } : {}),
        ...(spec.sysctls ? { Sysctls: { ...spec.sysctls } } : {}),
        ...(runtime ? { Runtime: runtime } : {}),
        ...(TIERS[spec.isolation].groups ? { GroupAdd: TIERS[spec.isolation].groups!.map(String) } : {}),
      },
    };
  }

  /** Creates the container, then checks its isolation tier from the engine's inspect (a mismatch is removed and refused). */
  async createContainer(spec: ContainerSpec): Promise<string> {
    const id = await this.createOnly(spec);
    await this.verifyIsolation(id, spec);
    return id;
  }

  /** The engine's create, through the Docker-compatible API (HostConfig.Runtime picks the tier's runtime). */
  protected async createOnly(spec: ContainerSpec): Promise<string> {
    const body = await this.createBody(spec);
    try {
      const r = await this.api.call<{ Id: string }>('POST', '/containers/create', { query: { name: spec.name }, json: body });
      return r!.Id;
    } catch (e) {
      if (statusOf(e) === 404) throw this.imageMissing(spec.image, e);
      this.fail(`create container ${spec.name}`, e);
    }
  }

  protected imageMissing(image: string, cause: unknown): ClawpodError {
    return new ClawpodError('IMAGE_NOT_FOUND', `image ${image} is not in ${this.kind}'s store`, { hint: 'build it with `clawpod image build` or pull it with `podman pull IMAGE`', cause });
  }

  async startContainer(id: string): Promise<void> {
    try { await this.api.call('POST', `/containers/${enc(id)}/start`, { accept: [304] }); } catch (e) { this.fail(`start container ${id}`, e); }
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    try { await this.api.call('POST', `/containers/${enc(id)}/stop`, { query: { t: timeoutSeconds }, accept: [304] }); } catch (e) { this.fail(`stop container ${id}`, e); }
  }

  async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    // Podman refuses ("container state improper") while it is still cleaning up a container
    // that has just exited; that settles within a few hundred ms.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.api.call('DELETE', `/containers/${enc(id)}`, { query: { force: opts.force ?? false, v: false }, accept: [404] });
        return;
      } catch (e) {
        // and a just-stopped container's shm mount can still be busy ("unlinkat .../shm: device or resource busy")
        if (attempt < 20 && statusOf(e) === 500 && /state improper|resource busy/.test(messageOf(e))) { await sleep(50); continue; }
        this.fail(`remove container ${id}`, e);
      }
    }
  }

  async waitContainer(id: string): Promise<number> {
    try {
      const r = await this.api.call<{ StatusCode: number }>('POST', `/containers/${enc(id)}/wait`);
      return r?.StatusCode ?? -1;
    } catch (e) { this.fail(`wait for container ${id}`, e); }
  }

  async listContainers(filter: { labels?: Readonly<Record<string, string>>; all?: boolean; name?: string } = {}): Promise<ContainerInfo[]> {
    try {
      // the engine's name filter matches a part of the name (a regular expression: the name is escaped)
      const filters = { ...labelFilter(filter.labels), ...(filter.name ? { name: [filter.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')] } : {}) };
      const list = (await this.api.call<EngineListed[]>('GET', '/containers/json', { query: { all: filter.all ?? true, filters } })) ?? [];
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        image: c.Image,
        state: (c.State as ContainerState) ?? 'unknown',
        labels: c.Labels ?? {},
        ports: (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => ({
          containerPort: p.PrivatePort, hostPort: p.PublicPort!, hostIP: p.IP || '0.0.0.0', protocol: p.Type === 'udp' ? 'udp' as const : 'tcp' as const,
        })),
        createdAt: new Date(c.Created * 1000).toISOString(),
        volumes: (c.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])),
      }));
    } catch (e) { this.fail('list containers', e); }
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    let d: EngineContainer | undefined;
    try { d = await this.api.call<EngineContainer>('GET', `/containers/${enc(idOrName)}/json`, { accept: [404] }); } catch (e) { this.fail(`inspect container ${idOrName}`, e); }
    if (!d) return undefined;
    const hc = d.HostConfig;
    const status = d.State.Status as ContainerState;
    return {
      id: d.Id,
      name: d.Name.replace(/^\//, ''),
      image: d.Config.Image,
      state: status ?? 'unknown',
      labels: d.Config.Labels ?? {},
      ports: portsFromEngine(hc.PortBindings),
      createdAt: d.Created,
      ...(status === 'exited' || status === 'stopped' ? { exitCode: d.State.ExitCode } : {}),
      user: d.Config.User,
      readOnlyRootfs: hc.ReadonlyRootfs ?? false,
      // Podman lists every dropped capability by name where Docker keeps "ALL".
      capDrop: hc.CapDrop ?? [],
      capAdd: hc.CapAdd ?? [],
      securityOpt: hc.SecurityOpt ?? [],
      memoryBytes: hc.Memory ?? 0,
      pidsLimit: hc.PidsLimit ?? 0,
      nanoCpus: hc.NanoCpus ?? 0,
      networkMode: hc.NetworkMode ?? '',
      networks: Object.fromEntries(Object.entries(d.NetworkSettings?.Networks ?? {}).map(([n, v]) => [n, { ip: v.IPAddress ?? '' }])),
      ociRuntime: hc.Runtime ?? '',
      mounts: [
        // tmpfs mounts are not in Mounts, only in HostConfig.Tmpfs
        ...Object.keys(hc.Tmpfs ?? {}).map((target) => ({ type: 'tmpfs', source: 'tmpfs', target, readOnly: false })),
        ...(d.Mounts ?? []).map((m) => ({ type: m.Type, source: m.Name ?? m.Source, target: m.Destination, readOnly: !m.RW })),
      ],
      raw: d,
    };
  }

  async *logs(id: string, opts: { follow?: boolean; tail?: number; signal?: AbortSignal } = {}): AsyncIterable<OutputChunk> {
    let res: Readable;
    try {
      res = await this.api.stream('GET', `/containers/${enc(id)}/logs`, {
        query: { stdout: true, stderr: true, follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) { this.fail(`read logs of ${id}`, e); }
    yield* demux(res);
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const hasStdin = opts.stdin !== undefined;
    try {
      const created = await this.api.call<{ Id: string }>('POST', `/containers/${enc(id)}/exec`, {
        json: {
          Cmd: [...opts.cmd], AttachStdout: true, AttachStderr: true, AttachStdin: hasStdin,
          ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
          ...(opts.user ? { User: opts.user } : {}),
          ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
        },
      });
      const execId = created!.Id;
      const socket = await this.api.hijack('POST', `/exec/${enc(execId)}/start`, { json: { Detach: false, Tty: false } });
      if (hasStdin) {
        const input = typeof opts.stdin === 'string' ? Readable.from([opts.stdin]) : opts.stdin!;
        input.on('end', () => socket.end());
        input.pipe(socket, { end: false });
      } else {
        socket.end();
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const keep = opts.keepOutput ?? true;
      const stop = () => socket.destroy();
      opts.signal?.addEventListener('abort', stop, { once: true });
      if (opts.signal?.aborted) stop();
      try {
        for await (const chunk of demux(socket)) {
          if (keep) (chunk.stream === 'stdout' ? out : err).push(chunk.data);
          opts.onOutput?.(chunk);
        }
      } catch (e) {
        if (!opts.signal?.aborted) throw e;
      } finally {
        opts.signal?.removeEventListener('abort', stop);
      }
      const r = await this.api.call<{ ExitCode: number | null }>('GET', `/exec/${enc(execId)}/json`);
      return { exitCode: r?.ExitCode ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    } catch (e) { this.fail(`exec in ${id}`, e); }
  }

  async attach(id: string): Promise<Attached> {
    try {
      const socket = await this.api.hijack('POST', `/containers/${enc(id)}/attach`, { query: { stream: true, stdin: true, stdout: true, stderr: true } });
      const stdin = new PassThrough();
      stdin.pipe(socket);
      // A container that exits resets the connection; readers learn it from the output stream
      // ending. Without listeners these errors would crash the process.
      socket.on('error', () => undefined);
      stdin.on('error', () => undefined);
      return { stdin, output: demux(socket), close: () => socket.destroy() };
    } catch (e) {
      // Podman answers 409 when it cannot prepare the container to attach (its OCI runtime failed): no name clash
      if (statusOf(e) === 409) throw new ClawpodError('RUNTIME_ERROR', `${this.kind} could not attach to ${id}: ${messageOf(e)}`, { cause: e, hint: `\`clawpod doctor\` checks the engine and its OCI runtime; \`${this.kind} logs ${id}\`` });
      this.fail(`attach to ${id}`, e);
    }
  }

  async putArchive(id: string, dir: string, tar: Readable): Promise<void> {
    try { await this.api.call('PUT', `/containers/${enc(id)}/archive`, { query: { path: dir }, body: tar, headers: { 'content-type': 'application/x-tar' } }); } catch (e) { this.fail(`copy files into ${id}:${dir}`, e); }
  }

  async getArchive(id: string, path: string): Promise<Readable | undefined> {
    try { return await this.api.stream('GET', `/containers/${enc(id)}/archive`, { query: { path } }); } catch (e) {
      if (statusOf(e) === 404 && /no such file|not found|could not find/i.test(messageOf(e)) && !/no such container/i.test(messageOf(e))) return undefined;
      this.fail(`copy ${id}:${path} out`, e);
    }
  }

  async pauseContainer(id: string): Promise<void> {
    try { await this.api.call('POST', `/containers/${enc(id)}/pause`); } catch (e) { this.fail(`pause container ${id}`, e); }
  }

  async unpauseContainer(id: string): Promise<void> {
    try { await this.api.call('POST', `/containers/${enc(id)}/unpause`); } catch (e) { this.fail(`unpause container ${id}`, e); }
  }

  async renameContainer(id: string, newName: string): Promise<void> {
    try { await this.api.call('POST', `/containers/${enc(id)}/rename`, { query: { name: newName } }); } catch (e) { this.fail(`rename container ${id} to ${newName}`, e); }
  }

  async createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void> {
    try { await this.api.call('POST', '/volumes/create', { json: { Name: name, Labels: { ...labels } } }); } catch (e) { this.fail(`create volume ${name}`, e); }
  }

  async removeVolume(name: string): Promise<void> {
    try { await this.api.call('DELETE', `/volumes/${enc(name)}`, { accept: [404] }); } catch (e) { this.fail(`remove volume ${name}`, e); }
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    try {
      const v = await this.api.call<EngineVolume>('GET', `/volumes/${enc(name)}`, { accept: [404] });
      return v ? volumeInfo(v) : undefined;
    } catch (e) { this.fail(`inspect volume ${name}`, e); }
  }

  async listVolumes(filter: { labels?: Readonly<Record<string, string>> } = {}): Promise<VolumeInfo[]> {
    try {
      const r = await this.api.call<{ Volumes: EngineVolume[] | null }>('GET', '/volumes', { query: { filters: labelFilter(filter.labels) } });
      return (r?.Volumes ?? []).map(volumeInfo);
    } catch (e) { this.fail('list volumes', e); }
  }

  async createNetwork(name: string, labels: Readonly<Record<string, string>>, opts: NetworkOptions = {}): Promise<void> {
    try { await this.api.call('POST', '/networks/create', { json: { Name: name, Labels: { ...labels }, CheckDuplicate: true, Driver: 'bridge', ...(opts.internal ? { Internal: true } : {}) } }); } catch (e) { this.fail(`create network ${name}`, e); }
  }

  async removeNetwork(name: string): Promise<void> {
    try { await this.api.call('DELETE', `/networks/${enc(name)}`, { accept: [404] }); } catch (e) { this.fail(`remove network ${name}`, e); }
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    try {
      const n = await this.api.call<{ Name: string; Labels?: Record<string, string> | null; IPAM?: { Config?: { Subnet?: string }[] | null } }>('GET', `/networks/${enc(name)}`, { accept: [404] });
      return n ? { name: n.Name, labels: n.Labels ?? {}, subnets: (n.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])) } : undefined;
    } catch (e) { this.fail(`inspect network ${name}`, e); }
  }

  async listNetworks(filter: { labels?: Readonly<Record<string, string>> } = {}): Promise<NetworkInfo[]> {
    try {
      const r = await this.api.call<{ Name: string; Labels?: Record<string, string> | null }[]>('GET', '/networks', { query: { filters: labelFilter(filter.labels) } });
      return (r ?? []).map((n) => ({ name: n.Name, labels: n.Labels ?? {} }));
    } catch (e) { this.fail('list networks', e); }
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.api.call<EngineImage>('GET', `/images/${enc(ref)}/json`, { accept: [404] });
      return i ? { id: i.Id, tags: i.RepoTags ?? [], labels: i.Config?.Labels ?? {}, sizeBytes: i.Size } : undefined;
    } catch (e) { this.fail(`inspect image ${ref}`, e); }
  }

  async buildImage(opts: BuildOptions): Promise<ImageInfo> {
    let failure: string | undefined;
    try {
      const res = await this.api.stream('POST', '/build', {
        query: { t: opts.tag, dockerfile: opts.containerfile, buildargs: { ...(opts.buildArgs ?? {}) }, labels: { ...(opts.labels ?? {}) }, rm: true },
        body: opts.context,
        headers: { 'content-type': 'application/x-tar' },
      });
      for await (const ev of jsonLines<{ stream?: string; error?: string; errorDetail?: { message?: string } }>(res)) {
        if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
        if (ev.stream) for (const line of ev.stream.split('\n')) if (line.trim()) opts.onProgress?.(line.trimEnd());
      }
    } catch (e) {
      failure ??= messageOf(e);
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
      const query = `fromSrc=-&repo=${enc(ref)}${(opts.changes ?? []).map((c) => `&changes=${enc(c)}`).join('')}`;
      const res = await this.api.stream('POST', `/images/create?${query}`, { body: rootfs, headers: { 'content-type': 'application/x-tar' } });
      for await (const ev of jsonLines<{ error?: string }>(res)) if (ev.error) throw new Error(ev.error);
    } catch (e) { this.fail(`import image ${ref}`, e); }
  }

  async pullImage(ref: string, opts: { timeoutMs?: number; onProgress?: (line: string) => void } = {}): Promise<void> {
    const ac = new AbortController();
    const timer = opts.timeoutMs ? setTimeout(() => ac.abort(), opts.timeoutMs) : undefined;
    try {
      const res = await this.api.stream('POST', '/images/create', { query: { fromImage: ref }, signal: ac.signal });
      for await (const ev of jsonLines<{ status?: string; error?: string }>(res)) {
        if (ev.error) throw new Error(ev.error);
        if (ev.status) opts.onProgress?.(ev.status);
      }
      if (!(await this.inspectImage(ref))) throw new Error('the engine finished without the image');
    } catch (e) {
      throw new ClawpodError('IMAGE_NOT_FOUND', `could not pull ${ref}: ${ac.signal.aborted ? `no answer from the registry within ${opts.timeoutMs} ms` : messageOf(e)}`, {
        hint: 'check the image name and your registry access, or build it locally with `clawpod image build`', cause: e,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async removeImage(ref: string): Promise<void> {
    try { await this.api.call('DELETE', `/images/${enc(ref)}`, { query: { force: true }, accept: [404] }); } catch (e) { this.fail(`remove image ${ref}`, e); }
  }
}
