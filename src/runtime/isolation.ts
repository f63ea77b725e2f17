// Isolation tiers and the check that the engine really ran the one asked for. A tier is data:
// the OCI runtime names an engine may report for it. The drivers verify every container right
// after create from the engine's own inspect, because an engine can silently ignore the runtime
// it was given (Podman 4.3's API drops a per-container runtime: podman#28429). A tier added later
// (a microVM: kata, krun) is one more entry here; the create path and the check stay the same.
import { ClawpodError } from '../errors.js';
import type { IsolationTier } from './runtime.js';

export interface TierDef {
  /** What the tier means, for messages. */
  readonly what: string;
  /** OCI runtime names (as the engine reports them) that give this tier. */
  readonly runtimes: readonly string[];
  /** The runtime clawpod asks the engine for; undefined = the engine's default, which must be one of `runtimes`. */
  readonly request?: string;
  /** The engine may put the container in a user namespace of its own (ContainerSpec.security.userNamespace). */
  readonly userNamespace: boolean;
  /** The runtime asked for instead of `request` when the agent has a network and `request` is registered without one. */
  readonly networkedRequest?: string;
  /** Supplementary group ids the container's user gets in this tier (Podman groups, Docker GroupAdd, a Pod's supplementalGroups). */
  readonly groups?: readonly number[];
  /** The least memory limit a container of this tier can start with (a VMM and its guest share the limit). */
  readonly minMemoryBytes?: number;
}

/**
 * The group that may read the agent image's `node` (root:NODE_READ_GID 0751, images/agent/Containerfile).
 * Under runc the agent is not in it: an unreadable binary makes Linux mark the runner non-dumpable, so its
 * tools cannot read its memory. gVisor (release 2022-12) cannot exec a binary its user cannot read
 * (its loader opens it for reading: "failed to load /usr/local/bin/node: permission denied"), so a
 * gVisor agent gets this group; inside gVisor the runner is then dumpable to its own tools (docs/runtimes.md).
 */
export const NODE_READ_GID = 1990;

/** QEMU and a 128 MiB guest: at a 128 MiB limit the engine OOM-killed QEMU before the guest booted (exit 137, measured); 256 MiB booted. */
export const MICROVM_MIN_MEMORY = 256 * 2 ** 20;

export const TIERS: Readonly<Record<IsolationTier, TierDef>> = {
  runc: { what: 'namespaces on the host kernel', runtimes: ['runc', 'crun'], userNamespace: true },
  // No engine user namespace: runsc's gofer then mounts volumes from inside it and cannot reach
  // Podman's root-only volume folders (measured: "stat .../_data: permission denied"). The sandbox's
  // host processes run as nobody anyway, and uid 1000 exists only inside gVisor's own kernel.
  // The VMM (QEMU, in a jail container: src/runtime/microvm) runs as the agent's user in the engine's
  // user namespace; the agent runs in the guest's own kernel (docs/runtimes.md, "microVM tier").
  // QEMU serves the guest's files as its own user: it must read the image's node (NODE_READ_GID); the
  // agent in the guest is not in that group (the guest init sets its ids alone), so stays non-dumpable.
  microvm: { what: 'a microVM with its own Linux kernel (QEMU)', runtimes: ['clawpod-microvm'], request: 'clawpod-microvm', userNamespace: true, groups: [NODE_READ_GID], minMemoryBytes: MICROVM_MIN_MEMORY },
  // runsc-net: gVisor on the host kernel's network stack inside the container's own namespace (runsc
  // 2022-12 cannot build its own netstack on a 6.x kernel): the one way to a networked gVisor agent here.
  gvisor: { what: 'the gVisor user-space kernel', runtimes: ['runsc', 'runsc-net'], request: 'runsc', networkedRequest: 'runsc-net', userNamespace: false, groups: [NODE_READ_GID] },
};

/** The runtime the engine reports, by name: a registered path (/x/runsc) counts by its file name. */
export function runtimeName(reported: string): string {
  return reported.split('/').pop() ?? reported;
}

/** undefined when `reported` gives `tier`; else the ISOLATION_MISMATCH error to throw. */
export function isolationMismatch(tier: IsolationTier, reported: string, container: string): ClawpodError | undefined {
  const def = TIERS[tier];
  if (def.runtimes.includes(runtimeName(reported))) return undefined;
  return new ClawpodError('ISOLATION_MISMATCH', `container ${container} asked for isolation: ${tier} (${def.what}, OCI runtime ${def.runtimes.join(' or ')}) but the engine created it under "${reported || 'no runtime reported'}"; it was removed and nothing was started`, {
    hint: tier === 'runc'
      ? 'the engine\'s default OCI runtime is not runc/crun: set it back (containers.conf [engine] runtime, or dockerd --default-runtime), or ask for that tier explicitly'
      : `check the engine's runtime registration with \`clawpod doctor\` (it runs a container under ${def.request ?? def.runtimes[0]} and reads the kernel from inside)`,
  });
}
