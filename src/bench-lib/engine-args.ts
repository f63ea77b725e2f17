// The raw engine's own `run` for a ContainerSpec: the baseline a benchmark compares clawpod with must
// do the same work (same hardening, limits, id map and OCI runtime), so its flags are derived from the
// very ContainerSpec clawpod would create, never written by hand next to it.
import { TIERS } from '../runtime/isolation.js';
import { AGENT_HOST_ID_BASE } from '../runtime/podman-specgen.js';
import type { ContainerSpec } from '../runtime/runtime.js';

export type Engine = 'podman' | 'docker';

/**
 * `ENGINE run --rm …` (or `run -d`, detached and kept) arguments, without the engine binary, giving
 * `spec`'s container; `labels` replace the spec's (a raw container is no clawpod agent).
 */
export function engineRunArgs(spec: ContainerSpec, engine: Engine, opts: { labels?: Readonly<Record<string, string>>; detach?: boolean } = {}): string[] {
  const a = ['run', opts.detach ? '-d' : '--rm', '--name', spec.name, '--user', spec.user];
  if (spec.hostname) a.push('--hostname', spec.hostname);
  if (spec.workingDir) a.push('--workdir', spec.workingDir);
  for (const [k, v] of Object.entries(spec.env)) a.push('--env', `${k}=${v}`);
  for (const [k, v] of Object.entries(opts.labels ?? {})) a.push('--label', `${k}=${v}`);
  if (spec.security.readOnlyRootfs) a.push('--read-only');
  if (spec.security.dropAllCapabilities) a.push('--cap-drop', 'ALL');
  if (spec.security.noNewPrivileges) a.push('--security-opt', 'no-new-privileges');
  const { memoryBytes, cpus, pids } = spec.resources;
  a.push('--memory', String(memoryBytes), '--memory-swap', String(memoryBytes), '--cpus', String(cpus), '--pids-limit', String(pids));
  a.push('--network', spec.network === 'bridge' ? (spec.networkName ?? 'bridge') : 'none');
  for (const m of spec.mounts) {
    if (m.kind === 'tmpfs') a.push('--tmpfs', `${m.target}:rw,nosuid,nodev,size=${m.sizeBytes}`);
    else a.push('--mount', `type=${m.kind},${m.kind === 'volume' ? `source=${m.name}` : `source=${m.source}`},target=${m.target}${m.readOnly ? ',readonly' : ''}`);
  }
  for (const p of spec.ports) a.push('--publish', `${p.hostIP}:${p.hostPort}:${p.containerPort}/${p.protocol}`);
  const tier = TIERS[spec.isolation];
  // the same fixed id map the Podman driver gives (podman-specgen.ts); Docker has only the daemon's userns-remap
  if (engine === 'podman' && spec.security.userNamespace && tier.userNamespace) {
    const map = `0:${AGENT_HOST_ID_BASE}:65536`;
    a.push('--uidmap', map, '--gidmap', map);
  }
  // docker run takes --runtime; Podman 4.3 only as a global option, before the verb ("unknown flag" after it)
  if (tier.request && engine === 'docker') a.push('--runtime', tier.request);
  // Entrypoint [command[0]] + Cmd [rest]: the process argv is the same, and both engines accept it
  const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
  if (spec.command?.length) a.push('--entrypoint', spec.command[0]!);
  a.push(spec.image, ...(spec.command?.length ? argv.slice(1) : argv));
  return tier.request && engine === 'podman' ? ['--runtime', tier.request, ...a] : a;
}
