// ContainerSpec → Podman's libpod "specgen" create body. Pure. Podman creates through its own API
// (not the Docker-compatible one) because only there do a user namespace (an id map), the `U`
// mount option and runtime secrets exist.
import { TIERS } from './isolation.js';
import type { ContainerSpec } from './runtime.js';

/**
 * The agent's ids 0..65535 are host ids AGENT_HOST_ID_BASE.. (0x70000000: above every account and
 * every /etc/subuid range a distribution hands out, below 2^31 for tools that keep ids signed),
 * so its uid 1000 is no host account. One fixed map, not userns=auto: Podman 4.3 deadlocks under
 * concurrent creates with auto (containers/storage getAutoUserNS takes the layer store lock while
 * holding the container store's; seen here with five sessions starting at once, the whole engine
 * hung), and a fixed map needs no /etc/subuid entry. Agents share the range; each still has its
 * own pid, mount and network namespaces, so none can see another's processes or files.
 */
export const AGENT_HOST_ID_BASE = 0x70000000;
const AGENT_ID_MAP = [{ container_id: 0, host_id: AGENT_HOST_ID_BASE, size: 65536 }];
const USERNS_MAPPED = { userns: { nsmode: 'private' }, idmappings: { UIDMap: AGENT_ID_MAP, GIDMap: AGENT_ID_MAP } } as const;

/**
 * With a user namespace Podman attaches eth0 after the OCI runtime applied the sysctls (naming eth0
 * fails: it is not there yet), and it inherits `default`; without one eth0 is there already.
 */
function noLinkIpv6(userns: boolean): Record<string, string> {
  return { 'net.ipv6.conf.default.disable_ipv6': '1', ...(userns ? {} : { 'net.ipv6.conf.eth0.disable_ipv6': '1' }) };
}

export function podmanSpecgen(spec: ContainerSpec, runtime: string | undefined): Record<string, unknown> {
  const userns = spec.security.userNamespace === true && TIERS[spec.isolation].userNamespace;
  // `U`: Podman hands the folder to the container user's host ids at start (the agent could not
  // read its secrets or write its workspace otherwise). Only on what clawpod made for this container.
  const own = (yes: boolean | undefined): string[] => (userns && yes ? ['U'] : []);
  return {
    name: spec.name,
    image: spec.image,
    ...(spec.command ? { entrypoint: [...spec.command] } : {}),
    ...(spec.args ? { command: [...spec.args] } : {}),
    env: { ...spec.env },
    user: spec.user,
    ...(TIERS[spec.isolation].groups ? { groups: TIERS[spec.isolation].groups!.map(String) } : {}),
    ...(spec.workingDir ? { work_dir: spec.workingDir } : {}),
    ...(spec.hostname ? { hostname: spec.hostname } : {}),
    labels: { ...spec.labels },
    stdin: spec.openStdin ?? false,
    mounts: [
      ...spec.mounts.flatMap((m) => m.kind === 'tmpfs' ? [{ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: [`size=${m.sizeBytes}`, 'nosuid', 'nodev'] }]
        : m.kind === 'bind' ? [{ destination: m.target, type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw', ...own(m.agentOwned)] }] : []),
      // Podman mounts secret files at their target; on a read-only root the folder must be writable
      ...(spec.runtimeSecrets?.length ? [{ destination: '/run/secrets', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'nosuid', 'nodev', 'noexec'] }] : []),
    ],
    volumes: spec.mounts.flatMap((m) => (m.kind === 'volume' ? [{ Name: m.name, Dest: m.target, Options: [...(m.readOnly ? ['ro'] : []), ...own(true)] }] : [])),
    portmappings: spec.ports.map((p) => ({ host_ip: p.hostIP, host_port: p.hostPort, container_port: p.containerPort, protocol: p.protocol })),
    resource_limits: {
      memory: { limit: spec.resources.memoryBytes, swap: spec.resources.memoryBytes },
      cpu: { quota: Math.round(spec.resources.cpus * 100_000), period: 100_000 },
      pids: { limit: spec.resources.pids },
    },
    cap_drop: spec.security.dropAllCapabilities ? ['ALL'] : [],
    no_new_privileges: spec.security.noNewPrivileges,
    read_only_filesystem: spec.security.readOnlyRootfs,
    netns: spec.networkOf ? { nsmode: 'container', value: spec.networkOf } : { nsmode: spec.network === 'none' ? 'none' : 'bridge' },
    ...(spec.network === 'bridge' && spec.networkName && !spec.networkOf ? { Networks: { [spec.networkName]: {} } } : {}),
    ...(spec.restart ? { restart_policy: spec.restart } : {}),
    // networks beyond networkName (the egress proxy joins its agent's internal network and a bridge out)
    ...(spec.network === 'bridge' && spec.extraNetworks?.length ? { Networks: Object.fromEntries([spec.networkName, ...spec.extraNetworks].flatMap((n) => (n ? [[n, {}]] : []))) } : {}),
    ...(spec.dns?.length ? { dns_server: [...spec.dns] } : {}),
    ...(spec.sysctls || spec.noLinkIpv6 ? { sysctl: { ...spec.sysctls, ...(spec.noLinkIpv6 ? noLinkIpv6(userns) : {}) } } : {}),
    ...(userns ? USERNS_MAPPED : {}),
    // ignored by Podman 4.3 (the runtime comes from the service's default: podman-runtime-service.ts), honoured by later ones
    ...(runtime ? { oci_runtime: runtime } : {}),
    ...(spec.runtimeSecrets?.length ? { secrets: spec.runtimeSecrets.map((s) => ({ Source: s.source, Target: s.target, UID: s.uid, GID: s.gid, Mode: s.mode })) } : {}),
  };
}
