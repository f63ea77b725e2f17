// The one narrow interface every container runtime implements: Podman and Docker over
// the Engine API today, Kubernetes later. Callers speak only these runtime-neutral types.
import type { Readable, Writable } from 'node:stream';

/** The isolation tiers a spec can ask for (spec.isolation); src/runtime/isolation.ts says what each accepts. */
export type IsolationTier = 'runc' | 'gvisor' | 'microvm';

export type RuntimeKind = 'podman' | 'docker' | 'kubernetes';

export type MountPlan =
  | { readonly kind: 'volume'; readonly name: string; readonly target: string; readonly readOnly: boolean }
  | {
    readonly kind: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean;
    /** A folder clawpod made for this one container (secrets, IPC): the engine may re-own it for the agent's
     *  user-namespaced uid (Podman `:U`). Never set on a user's own folder: it would be chowned. */
    readonly agentOwned?: boolean;
  }
  | { readonly kind: 'tmpfs'; readonly target: string; readonly sizeBytes: number };

export interface PortBinding {
  readonly containerPort: number;
  readonly hostPort: number;
  readonly hostIP: string;
  readonly protocol: 'tcp' | 'udp';
}

/** Everything a runtime needs to create one hardened container; no runtime flags leak in. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  /** Replaces the image entrypoint when set. */
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user: string;
  readonly workingDir?: string;
  /** Stable across re-creations (a payload may key state locks to it, as StatefulSet Pods' names are). */
  readonly hostname?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mounts: readonly MountPlan[];
  readonly ports: readonly PortBinding[];
  readonly resources: { readonly cpus: number; readonly memoryBytes: number; readonly pids: number };
  readonly network: 'none' | 'bridge';
  /** With network bridge: this network (a tenant's own, made with createNetwork) instead of the engine's default bridge. */
  readonly networkName?: string;
  /** With network bridge: more networks joined besides networkName (the egress proxy: its agent's internal network and a bridge out). */
  readonly extraNetworks?: readonly string[];
  /** The container's DNS servers (an agent behind an egress proxy asks only the proxy). */
  readonly dns?: readonly string[];
  /** Namespaced sysctls, e.g. net.ipv4.ip_unprivileged_port_start (the egress proxy serves DNS on 53 as a non-root user). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** No IPv6 on the container's network interface (lo keeps ::1): an agent behind an egress proxy must not reach the host by its bridge's link-local address. */
  readonly noLinkIpv6?: boolean;
  /** Join this container's network namespace instead (a browser sidecar on its agent's loopback): `network` and ports are ignored. */
  readonly networkOf?: string;
  /** The engine restarts the container when it exits (a sidecar that crashed); default never. */
  readonly restart?: 'always';
  /** Checked after create against the engine's own inspect (src/runtime/isolation.ts): a mismatch is refused. */
  readonly isolation: IsolationTier;
  readonly security: {
    readonly readOnlyRootfs: boolean; readonly dropAllCapabilities: boolean; readonly noNewPrivileges: boolean;
    /** Run in a user namespace of its own, so the agent's uid is no host account (Podman: a fixed id map, podman-specgen.ts;
     *  Docker: only the daemon's userns-remap can do it). Default false. */
    readonly userNamespace?: boolean;
  };
  /** Keep stdin open so `attach` can write to the agent. */
  readonly openStdin?: boolean;
  /** Runtime-held secrets (Podman secrets) mounted as files under /run/secrets; needs the secrets facet. */
  readonly runtimeSecrets?: readonly { readonly source: string; readonly target: string; readonly uid: number; readonly gid: number; readonly mode: number }[];
}

export type ContainerState = 'created' | 'running' | 'stopped' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing' | 'unknown';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly PortBinding[];
  readonly createdAt: string;
  readonly exitCode?: number;
  /** Named volumes it mounts (engine runtimes list them; undefined where the runtime does not say). */
  readonly volumes?: readonly string[];
}

export interface ContainerDetails extends ContainerInfo {
  readonly user: string;
  readonly readOnlyRootfs: boolean;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly securityOpt: readonly string[];
  readonly memoryBytes: number;
  readonly pidsLimit: number;
  readonly nanoCpus: number;
  readonly networkMode: string;
  /** The networks it is attached to, by name, with its address on each (engine runtimes; undefined where not known). */
  readonly networks?: Readonly<Record<string, { readonly ip: string }>>;
  /** The OCI runtime the engine says the container runs under (Podman: OCIRuntime; Docker: HostConfig.Runtime). */
  readonly ociRuntime: string;
  readonly mounts: readonly { readonly type: string; readonly source: string; readonly target: string; readonly readOnly: boolean }[];
  /** The engine's own inspect document, for `clawpod inspect`. */
  readonly raw: unknown;
}

export interface OutputChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly data: Buffer;
}

export interface ExecOptions {
  readonly cmd: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly workingDir?: string;
  /** Bytes written to the process's stdin, then closed. */
  readonly stdin?: Readable | string;
  readonly onOutput?: (chunk: OutputChunk) => void;
  /** Aborting stops reading: the call resolves with what came so far (the process itself is not signalled). */
  readonly signal?: AbortSignal;
  /** false: output goes to onOutput only and the result's stdout/stderr are empty (a stream of any length). */
  readonly keepOutput?: boolean;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Attached {
  readonly stdin: Writable;
  readonly output: AsyncIterable<OutputChunk>;
  close(): void;
}

export interface VolumeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mountpoint?: string;
  /** When the engine created it (ISO 8601), where the runtime says. */
  readonly createdAt?: string;
}

export interface ImageInfo {
  readonly id: string;
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly sizeBytes: number;
}

export interface BuildOptions {
  /** A tar stream of the build context. */
  readonly context: Readable;
  readonly containerfile: string;
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly onProgress?: (line: string) => void;
}

export interface RuntimeInfo {
  readonly kind: RuntimeKind;
  readonly version: string;
  readonly apiVersion: string;
  /** OCI runtimes the engine lists (runc, crun, runsc, ...) → their binary path, when given. */
  readonly ociRuntimes: Readonly<Record<string, string>>;
  readonly cgroupVersion?: string;
  /** The runtime a container gets when none is asked for (runc, crun...), when the engine says. */
  readonly defaultRuntime?: string;
}

/** What a driver does differently that is no method of its own: callers branch on these (and on facets), never on `kind`. */
export interface RuntimeCapabilities {
  /** Host ports are published on the host's interfaces (false on Kubernetes). */
  readonly hostPorts: boolean;
}

export interface NetworkOptions {
  /** No route out of the network (Podman/Docker --internal) and no engine DNS on it: its containers reach only each other. */
  readonly internal?: boolean;
}

export interface NetworkInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Its subnets (CIDR), where the engine says. */
  readonly subnets?: readonly string[];
}

// ---- facets: what some runtimes do and others cannot. A driver implements a facet or has none of
// its methods; callers narrow with hasFacet/requireFacet (src/runtime/facets.ts says what to do
// instead where a facet is missing), so a call a runtime cannot make is a type error, not a stub.

/** Named bridge networks (Podman and Docker): a tenant's own, which no other tenant's can reach. */
export interface Networks {
  /** isolate: no traffic to or from other isolated networks (Podman's isolate option; Docker's user bridges are so by default). */
  createNetwork(name: string, labels: Readonly<Record<string, string>>, opts?: NetworkOptions): Promise<void>;
  /** Idempotent: a missing network is not an error. */
  removeNetwork(name: string): Promise<void>;
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
  listNetworks(filter?: { labels?: Readonly<Record<string, string>> }): Promise<NetworkInfo[]>;
}

/** Files in and out of a container through the engine, volumes included (Podman and Docker). */
export interface Archives {
  /** Unpacks a tar stream into a directory of a container (created, running or stopped), volumes included. */
  putArchive(id: string, dir: string, tar: Readable): Promise<void>;
  /** A tar stream of a path inside a container; undefined when the path does not exist. */
  getArchive(id: string, path: string): Promise<Readable | undefined>;
}

/** An image store on this host that clawpod builds into and pulls into (Podman and Docker). */
export interface Images {
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  buildImage(opts: BuildOptions): Promise<ImageInfo>;
  /** Turns a root filesystem tar into an image. */
  importImage(rootfs: Readable, ref: string, opts?: { changes?: readonly string[] }): Promise<void>;
  pullImage(ref: string, opts?: { timeoutMs?: number; onProgress?: (line: string) => void }): Promise<void>;
  removeImage(ref: string): Promise<void>;
}

/** Secrets the runtime stores itself and mounts (ContainerSpec.runtimeSecrets): Podman only. */
export interface RuntimeSecrets {
  createSecret(name: string, value: string): Promise<void>;
  /** Idempotent: a missing secret is not an error. */
  removeSecret(name: string): Promise<void>;
}

/** Freezes a running container's processes (a consistent backup, an idle session), and thaws them. */
export interface Pausing {
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
}

export interface Renaming {
  renameContainer(id: string, newName: string): Promise<void>;
}

export interface Facets {
  readonly networks: Networks;
  readonly archives: Archives;
  readonly images: Images;
  readonly secrets: RuntimeSecrets;
  readonly pausing: Pausing;
  readonly renaming: Renaming;
}
export type Facet = keyof Facets;

/** Every method of each facet: a driver has a facet when it has all of them. */
export const FACET_METHODS: { readonly [F in Facet]: readonly (keyof Facets[F])[] } = {
  networks: ['createNetwork', 'removeNetwork', 'inspectNetwork', 'listNetworks'],
  archives: ['putArchive', 'getArchive'],
  images: ['inspectImage', 'buildImage', 'importImage', 'pullImage', 'removeImage'],
  secrets: ['createSecret', 'removeSecret'],
  pausing: ['pauseContainer', 'unpauseContainer'],
  renaming: ['renameContainer'],
};

export function hasFacet<F extends Facet>(rt: Runtime, facet: F): rt is Runtime & Facets[F] {
  return FACET_METHODS[facet].every((m) => typeof (rt as unknown as Record<PropertyKey, unknown>)[m] === 'function');
}

/** The facets a driver has, in FACET_METHODS' order. */
export function facetsOf(rt: Runtime): Facet[] {
  return (Object.keys(FACET_METHODS) as Facet[]).filter((f) => hasFacet(rt, f));
}

export const hasNetworks = (rt: Runtime): rt is Runtime & Networks => hasFacet(rt, 'networks');
export const hasArchives = (rt: Runtime): rt is Runtime & Archives => hasFacet(rt, 'archives');
export const hasImages = (rt: Runtime): rt is Runtime & Images => hasFacet(rt, 'images');
export const hasRuntimeSecrets = (rt: Runtime): rt is Runtime & RuntimeSecrets => hasFacet(rt, 'secrets');
export const hasPausing = (rt: Runtime): rt is Runtime & Pausing => hasFacet(rt, 'pausing');
export const hasRenaming = (rt: Runtime): rt is Runtime & Renaming => hasFacet(rt, 'renaming');

/** What every engine (Podman, Docker) does: the core and every facet but runtime secrets (Podman adds those). */
export type EngineRuntime = Runtime & Networks & Archives & Images & Pausing & Renaming;

/** The core every driver implements: one container's life, its I/O, and volumes (a workspace is on every runtime). */
export interface Runtime {
  readonly kind: RuntimeKind;
  /** Where the runtime was found, e.g. unix:///run/podman/podman.sock. */
  readonly endpoint: string;
  /** Kubernetes: the namespace its objects live in (for hints); undefined on an engine. */
  readonly namespace?: string;
  readonly capabilities: RuntimeCapabilities;

  info(): Promise<RuntimeInfo>;

  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  removeContainer(id: string, opts?: { force?: boolean }): Promise<void>;
  /**
   * Resolves with the exit code once the container stops. `exited`: the caller knows it has just
   * exited (its attach stream ended), so the driver may answer from a faster source than its wait.
   */
  waitContainer(id: string, opts?: { exited?: boolean }): Promise<number>;
  /** `name`: only containers whose name contains it, where the runtime can filter by name (the caller checks exact names). */
  listContainers(filter?: { labels?: Readonly<Record<string, string>>; all?: boolean; name?: string }): Promise<ContainerInfo[]>;
  /** undefined when no such container exists. */
  inspectContainer(idOrName: string): Promise<ContainerDetails | undefined>;
  logs(id: string, opts?: { follow?: boolean; tail?: number; signal?: AbortSignal }): AsyncIterable<OutputChunk>;
  exec(id: string, opts: ExecOptions): Promise<ExecResult>;
  attach(id: string): Promise<Attached>;

  createVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  inspectVolume(name: string): Promise<VolumeInfo | undefined>;
  listVolumes(filter?: { labels?: Readonly<Record<string, string>> }): Promise<VolumeInfo[]>;
}
