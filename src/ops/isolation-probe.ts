// `clawpod doctor` tries an isolation tier for real instead of trusting configuration: a tiny
// hardened container is created through the same driver path as an agent (so the isolation
// check after create runs too), and it prints its kernel release and its user-id map from inside.
import { LABELS } from '../spec/defaults.js';
import { messageOf } from '../errors.js';
import { CGROUP_READ_SCRIPT, cgroupLimits, readerFrom, type CgroupLimits } from '../runtime/cgroup.js';
import { TIERS } from '../runtime/isolation.js';
import type { IsolationTier, Runtime } from '../runtime/runtime.js';

/** What the probe container is given, so doctor can say the limits hold. */
export const PROBE_LIMITS = { memoryBytes: 128 * 2 ** 20, pids: 64 } as const;

export interface TierProbe {
  /** `uname -r` inside: gVisor answers its own (4.4.0), runc the host's. */
  readonly kernel: string;
  /** /proc/self/uid_map inside, one "inside host count" triple per line. */
  readonly uidMap: string;
  /** The OCI runtime the engine reports for the container. */
  readonly runtime: string;
  /** The memory and pids limits as seen from inside (cgroup v1 or v2), when visible. */
  readonly limits: CgroupLimits | undefined;
}

/** Runs the probe container once; `{ error }` says why it could not (the refusal's own message). */
export async function probeTier(rt: Runtime, image: string, tier: IsolationTier, user: string): Promise<TierProbe | { error: string }> {
  const name = `clawpod-doctor-${tier}-${process.pid}`;
  let id: string | undefined;
  try {
    id = await rt.createContainer({
      name, image, command: ['/bin/sh', '-c', `uname -r; echo ---; cat /proc/self/uid_map; echo ---; ${CGROUP_READ_SCRIPT}`], env: {}, user,
      labels: { [LABELS.managed]: 'true', [LABELS.role]: 'doctor' }, mounts: [], ports: [],
      resources: { cpus: 1, ...PROBE_LIMITS, memoryBytes: Math.max(PROBE_LIMITS.memoryBytes, TIERS[tier].minMemoryBytes ?? 0) }, network: 'none', isolation: tier,
      security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
    });
    const runtime = (await rt.inspectContainer(id))?.ociRuntime ?? '';
    await rt.startContainer(id);
    const code = await rt.waitContainer(id);
    let out = '';
    for await (const c of rt.logs(id)) if (c.stream === 'stdout') out += c.data.toString();
    if (code !== 0) return { error: `the probe container exited ${code}: ${out.trim()}` };
    const [kernel = '', uidMap = '', cgroup = ''] = out.split('---\n');
    return { kernel: kernel.trim(), uidMap: uidMap.trim(), runtime, limits: cgroupLimits(readerFrom(cgroup)) };
  } catch (e) {
    return { error: messageOf(e) };
  } finally {
    if (id) await rt.removeContainer(id, { force: true }).catch(() => undefined);
  }
}

/** The host uid that `uid` inside maps to, from uid_map text; undefined when it is unmapped. */
export function hostUidOf(uidMap: string, uid: number): number | undefined {
  for (const line of uidMap.split('\n')) {
    const [inside, host, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || host === undefined || count === undefined || Number.isNaN(count)) continue;
    if (uid >= inside && uid < inside + count) return host + (uid - inside);
  }
  return undefined;
}
