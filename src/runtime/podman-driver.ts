// Podman through its own (libpod) API for create — user namespaces, the `U` mount option and
// secrets exist only there — and the Docker-compatible API for everything else. gVisor is known
// to Podman by the name the containers.conf [engine.runtimes] table gives runsc (clawpod's setup
// registers "runsc"); Podman 4.3 ignores a per-container runtime, so a container of another tier
// is created through a service whose default runtime it is (podman-runtime-service.ts), and every
// container's OCIRuntime is read back and checked (isolation.ts).
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClawpodError, messageOf } from '../errors.js';
import { EngineDriver } from './engine-driver.js';
import { EngineClient, EngineHttpError } from './engine-client.js';
import type { PodmanLocal } from './podman-runtime-service.js';
import { podmanSpecgen } from './podman-specgen.js';
import type { ContainerDetails, ContainerSpec, IsolationTier, NetworkOptions, RuntimeSecrets } from './runtime.js';

const LIBPOD = '/v4.0.0/libpod';

export class PodmanDriver extends EngineDriver implements RuntimeSecrets {
  readonly kind = 'podman' as const;
  private readonly libpod: EngineClient;

  /** `local`: how to run the podman CLI here; without it only the engine's default runtime (runc) can be created. */
  constructor(endpoint: string, socketPath: string, private readonly local?: PodmanLocal) {
    super(endpoint, socketPath);
    this.libpod = new EngineClient(socketPath, LIBPOD);
  }

  /** Through libpod: the compat API does not know Podman's isolate option. */
  override async createNetwork(name: string, labels: Readonly<Record<string, string>>, opts: NetworkOptions = {}): Promise<void> {
    try {
      // internal: no aardvark-dns either, which would answer (and forward) any name the agent asks
      const internal = opts.internal ? { internal: true, dns_enabled: false } : {};
      await this.libpod.call('POST', '/networks/create', { json: { name, labels: { ...labels }, driver: 'bridge', options: { isolate: 'true' }, ...internal } });
    } catch (e) {
      if (e instanceof EngineHttpError && e.statusCode === 409) throw new ClawpodError('NAME_TAKEN', `a network named ${name} already exists`, { hint: `podman network rm ${name} if nothing uses it` });
      throw new ClawpodError('RUNTIME_ERROR', `podman: create network ${name}: ${messageOf(e)}`, { cause: e });
    }
  }

  protected isolationHint(tier: IsolationTier): string {
    if (tier === 'microvm') return 're-run ./scripts/setup.sh: it installs QEMU and a Debian kernel, builds the VM (scripts/microvm/build.sh) and registers clawpod-microvm in .clawpod/containers.conf; or use isolation: runc';
    return tier === 'gvisor'
      ? 'install gVisor (apt-get install -y runsc) and re-run ./scripts/setup.sh, which registers runsc in .clawpod/containers.conf and restarts the Podman service; or use isolation: runc'
      : 'check [engine] runtime in the containers.conf the Podman service reads';
  }

  protected override async reportedRuntime(id: string): Promise<string | undefined> {
    const d = await this.libpod.call<{ OCIRuntime?: string }>('GET', `/containers/${encodeURIComponent(id)}/json`, { accept: [404] });
    return d ? (d.OCIRuntime ?? '') : undefined;
  }

  /** The compat inspect says "oci" for every container; the runtime comes from libpod's, asked at the same time (one round trip, not two). */
  override async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    const runtime = this.reportedRuntime(idOrName).catch((e: unknown) => this.fail(`inspect container ${idOrName}`, e));
    // handled from the start: when the engine is not there both fail, and the compat call's error is the one thrown
    runtime.catch(() => undefined);
    const d = await super.inspectContainer(idOrName);
    if (!d) return undefined;
    return { ...d, ociRuntime: (await runtime) ?? d.ociRuntime };
  }

  async createSecret(name: string, value: string): Promise<void> {
    try {
      await this.libpod.call('POST', '/secrets/create', { query: { name }, body: Readable.from([Buffer.from(value)]) });
    } catch (e) { this.fail(`create the Podman secret ${name}`, e); }
  }

  /**
   * Podman refuses to remove a container another joined the network namespace of (a browser
   * sidecar, src/browser); Docker removes it regardless. Same here: the dependents go with it.
   */
  override async removeContainer(id: string, opts: { force?: boolean } = {}): Promise<void> {
    try { await super.removeContainer(id, opts); } catch (e) {
      if (!/has dependent containers/.test(messageOf(e))) throw e;
      try { await this.libpod.call('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: opts.force ?? false, depend: true }, accept: [404] }); } catch (e2) { this.fail(`remove container ${id} and the containers joined to it`, e2); }
    }
  }

  async removeSecret(name: string): Promise<void> {
    try { await this.libpod.call('DELETE', `/secrets/${encodeURIComponent(name)}`, { accept: [404] }); } catch (e) { this.fail(`remove the Podman secret ${name}`, e); }
  }

  /**
   * Podman's wait answers a few hundred ms after the exit (it polls); its inspect already has the
   * exit code, so a caller whose attach stream just ended is answered from that, briefly, then from wait.
   */
  override async waitContainer(id: string, opts: { exited?: boolean } = {}): Promise<number> {
    for (let i = 0; opts.exited && i < 50; i++) {
      const d = await super.inspectContainer(id);
      if (!d) return 0;
      if (d.state !== 'running' && d.state !== 'created' && d.exitCode !== undefined) return d.exitCode;
      await sleep(10);
    }
    return super.waitContainer(id);
  }

  protected override async createOnly(spec: ContainerSpec): Promise<string> {
    const runtime = await this.runtimeFor(spec);
    const body = podmanSpecgen(spec, runtime);
    if (!runtime) return this.libpodCreate(this.libpod, spec, body);
    const local = this.local;
    if (!local) {
      throw new ClawpodError('ISOLATION_UNAVAILABLE', `isolation: ${spec.isolation} on Podman needs the podman CLI on this host (Podman's API ignores a per-container runtime), and ${this.endpoint} was given without it`, { hint: 'run clawpod on the host of the Podman service' });
    }
    // loaded only for a tier other than the engine's default (it spawns a podman service)
    const { withRuntimeService } = await import('./podman-runtime-service.js');
    return withRuntimeService(local, runtime, async (sock) => {
      const via = new EngineClient(sock, LIBPOD);
      const id = await this.libpodCreate(via, spec, body);
      // the private service must share the main one's storage, or the main one cannot run what it made
      if ((await this.reportedRuntime(id)) === undefined) {
        await via.call('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: true }, accept: [404] }).catch(() => undefined);
        throw new ClawpodError('ISOLATION_UNAVAILABLE', `\`${local.podmanBin} --runtime ${runtime}\` created ${spec.name} in another container store than ${this.endpoint} uses`, {
          hint: 'run clawpod as the user the Podman service runs as (root for /run/podman/podman.sock), with the same CONTAINERS_CONF',
        });
      }
      return id;
    });
  }

  private async libpodCreate(client: EngineClient, spec: ContainerSpec, body: Record<string, unknown>): Promise<string> {
    try {
      const r = await client.call<{ Id: string }>('POST', '/containers/create', { json: body });
      return r!.Id;
    } catch (e) {
      // libpod answers 500 where the compat API says 404/409: tell them apart by the message
      if (e instanceof EngineHttpError && (e.statusCode === 404 || /image not known/i.test(e.message))) throw this.imageMissing(spec.image, e);
      if (e instanceof EngineHttpError && /name .* is already in use/i.test(e.message)) this.fail(`create container ${spec.name}`, new EngineHttpError(409, e.message, e.path));
      if (/enough available IDs|no subuid ranges/i.test(messageOf(e))) {
        throw new ClawpodError('RUNTIME_ERROR', `podman could not give ${spec.name} a user namespace of its own: ${messageOf(e)}`, {
          hint: 'add a range for the user "containers" to /etc/subuid and /etc/subgid: echo containers:2147483647:2147483648 | tee -a /etc/subuid /etc/subgid (./scripts/setup.sh does it)', cause: e,
        });
      }
      this.fail(`create container ${spec.name}`, e);
    }
  }
}
