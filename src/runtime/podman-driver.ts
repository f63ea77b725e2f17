// Podman through its Docker-compatible API. gVisor is known to Podman by the name the
// containers.conf [engine.runtimes] table gives runsc (clawpod's setup registers "runsc").
// Podman secrets need its own (libpod) API: the compat API has no secrets outside swarm.
import { Readable } from 'node:stream';
import { ClawpodError } from '../errors.js';
import { EngineDriver } from './engine-driver.js';
import { EngineClient, EngineHttpError } from './engine-client.js';
import type { ContainerSpec, RuntimeCapabilities, RuntimeInfo } from './runtime.js';

export class PodmanDriver extends EngineDriver {
  readonly kind = 'podman' as const;
  override readonly capabilities: RuntimeCapabilities = { hostPorts: true, build: true, secrets: true };
  private readonly libpod: EngineClient;

  constructor(endpoint: string, socketPath: string) {
    super(endpoint, socketPath);
    this.libpod = new EngineClient(socketPath, '/v4.0.0/libpod');
  }

  protected gvisorRuntime(info: RuntimeInfo): string | undefined {
    return this.usableRuntime(info, 'runsc') ? 'runsc' : undefined;
  }

  protected override gvisorHint(): string {
    return 'install gVisor (apt-get install -y runsc) and re-run ./scripts/setup.sh, which registers runsc in .clawpod/containers.conf and restarts the Podman service; or use isolation: runc';
  }

  override async createSecret(name: string, value: string): Promise<void> {
    try {
      await this.libpod.call('POST', '/secrets/create', { query: { name }, body: Readable.from([Buffer.from(value)]) });
    } catch (e) { this.fail(`create the Podman secret ${name}`, e); }
  }

  override async removeSecret(name: string): Promise<void> {
    try { await this.libpod.call('DELETE', `/secrets/${encodeURIComponent(name)}`, { accept: [404] }); } catch (e) { this.fail(`remove the Podman secret ${name}`, e); }
  }

  /** With runtime secrets, create through the libpod API (same hardening, its own field names). */
  override async createContainer(spec: ContainerSpec): Promise<string> {
    if (!spec.runtimeSecrets?.length) return super.createContainer(spec);
    const body = await this.createBody(spec);
    const hc = body.HostConfig;
    const specgen = {
      name: spec.name,
      image: spec.image,
      ...(spec.command ? { entrypoint: [...spec.command] } : {}),
      ...(spec.args ? { command: [...spec.args] } : {}),
      env: { ...spec.env },
      user: spec.user,
      ...(spec.workingDir ? { work_dir: spec.workingDir } : {}),
      ...(spec.hostname ? { hostname: spec.hostname } : {}),
      labels: { ...spec.labels },
      stdin: spec.openStdin ?? false,
      mounts: [
        ...spec.mounts.flatMap((m) => m.kind === 'tmpfs' ? [{ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: [`size=${m.sizeBytes}`, 'nosuid', 'nodev'] }]
          : m.kind === 'bind' ? [{ destination: m.target, type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw'] }] : []),
        // Podman mounts secret files at their target; on a read-only root the folder must be writable
        { destination: '/run/secrets', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'nosuid', 'nodev', 'noexec'] },
      ],
      volumes: spec.mounts.flatMap((m) => (m.kind === 'volume' ? [{ Name: m.name, Dest: m.target, Options: m.readOnly ? ['ro'] : [] }] : [])),
      portmappings: spec.ports.map((p) => ({ host_ip: p.hostIP, host_port: p.hostPort, container_port: p.containerPort, protocol: p.protocol })),
      resource_limits: {
        memory: { limit: spec.resources.memoryBytes, swap: spec.resources.memoryBytes },
        cpu: { quota: Math.round(spec.resources.cpus * 100_000), period: 100_000 },
        pids: { limit: spec.resources.pids },
      },
      cap_drop: hc.CapDrop,
      no_new_privileges: spec.security.noNewPrivileges,
      read_only_filesystem: spec.security.readOnlyRootfs,
      netns: { nsmode: spec.network === 'none' ? 'none' : 'bridge' },
      ...(hc.Runtime ? { oci_runtime: hc.Runtime } : {}),
      secrets: spec.runtimeSecrets.map((s) => ({ Source: s.source, Target: s.target, UID: s.uid, GID: s.gid, Mode: s.mode })),
    };
    try {
      const r = await this.libpod.call<{ Id: string }>('POST', '/containers/create', { json: specgen });
      return r!.Id;
    } catch (e) {
      if (e instanceof EngineHttpError && e.statusCode === 404) {
        throw new ClawpodError('IMAGE_NOT_FOUND', `image ${spec.image} is not in podman's store`, { hint: 'build it with `clawpod image build` or pull it with `podman pull IMAGE`', cause: e });
      }
      this.fail(`create container ${spec.name}`, e);
    }
  }
}
