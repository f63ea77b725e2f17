// Agent spec → runtime-neutral ContainerSpec, with clawpod's hardened defaults. Pure:
// everything that touches the host (ports in use, mount checks, secrets) is passed in.
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import { parseCpu, parseDuration, parseMemory } from '../spec/quantity.js';
import type { Agent } from '../spec/schema.js';
import type { ContainerSpec, MountPlan, PortBinding } from '../runtime/runtime.js';
import type { CheckedMount } from '../security/mount-allowlist.js';
import { BROWSER_ENV, CDP_URL } from '../browser/sidecar.js';

export interface PlanInputs {
  readonly instanceName: string;
  readonly index: number;
  readonly ports: readonly PortBinding[];
  readonly mounts: readonly CheckedMount[];
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly secretsHostDir: string | undefined;
  /** Folder the spec came from, kept so `start` can re-resolve file secrets. */
  readonly specDir: string;
  readonly now: Date;
  /** The workspace volume when it is not the instance's own name (a claimed warm-pool member's, kept by upgrades). */
  readonly volume?: string;
}

export function workspaceVolumeName(instanceName: string): string {
  return `clawpod-${instanceName}-workspace`;
}

/** The workspace volume a container uses, from its labels. */
export function volumeOfContainer(labels: Readonly<Record<string, string>>, name: string): string {
  return labels[LABELS.volume] ?? workspaceVolumeName(labels[LABELS.instance] ?? name);
}

/** Instance 0 is the spec's name; instance i > 0 is NAME-i. */
export function instanceName(agentName: string, index: number): string {
  return index === 0 ? agentName : `${agentName}-${index}`;
}

function must<T>(r: { ok: true; value: T } | { ok: false }): T {
  if (!r.ok) throw new Error('unreachable: the spec was validated');
  return r.value;
}

export function encodeSpecLabel(agent: Agent, specDir: string): string {
  return Buffer.from(JSON.stringify({ agent, specDir })).toString('base64');
}

export function decodeSpecLabel(label: string | undefined): { agent: Agent; specDir: string } | undefined {
  if (!label) return undefined;
  try { return JSON.parse(Buffer.from(label, 'base64').toString('utf8')) as { agent: Agent; specDir: string }; } catch { return undefined; }
}

export function planContainer(agent: Agent, inp: PlanInputs): ContainerSpec {
  const s = agent.spec;
  const mounts: MountPlan[] = [
    { kind: 'tmpfs', target: '/tmp', sizeBytes: must(parseMemory(DEFAULTS.tmpSize)) },
  ];
  if (s.workspace.enabled) mounts.push({ kind: 'volume', name: inp.volume ?? workspaceVolumeName(inp.instanceName), target: s.workspace.mountPath, readOnly: false });
  for (const m of inp.mounts) mounts.push({ kind: 'bind', source: m.source, target: m.target, readOnly: m.readOnly });
  // the secrets folder is this container's alone: the engine re-owns it for the agent's user-namespaced uid
  if (inp.secretsHostDir) mounts.push({ kind: 'bind', source: inp.secretsHostDir, target: DEFAULTS.secretsMountPath, readOnly: true, agentOwned: true });

  const env: Record<string, string> = {};
  if (s.workspace.enabled) env.WORKSPACE = s.workspace.mountPath;
  for (const e of s.env) env[e.name] = e.value;
  if (s.browser?.enabled) env[BROWSER_ENV] = CDP_URL;
  Object.assign(env, inp.secretEnv);

  const labels: Record<string, string> = {
    ...(agent.metadata.labels ?? {}),
    ...s.labels,
    [LABELS.managed]: 'true',
    [LABELS.agent]: agent.metadata.name,
    [LABELS.instance]: inp.instanceName,
    [LABELS.index]: String(inp.index),
    [LABELS.spec]: encodeSpecLabel(agent, inp.specDir),
    ...(inp.volume ? { [LABELS.volume]: inp.volume } : {}),
  };
  if (s.lifecycle.ttl !== undefined) {
    labels[LABELS.expiresAt] = new Date(inp.now.getTime() + must(parseDuration(s.lifecycle.ttl))).toISOString();
  }

  return {
    name: inp.instanceName,
    image: s.image,
    ...(s.command ? { command: s.command } : {}),
    ...(s.args ? { args: s.args } : {}),
    env,
    user: s.user,
    hostname: inp.instanceName,
    ...(s.workingDir ? { workingDir: s.workingDir } : s.workspace.enabled ? { workingDir: s.workspace.mountPath } : {}),
    labels,
    mounts,
    ports: inp.ports,
    resources: { cpus: must(parseCpu(s.resources.cpu)), memoryBytes: must(parseMemory(s.resources.memory)), pids: s.resources.pids },
    network: s.network,
    isolation: s.isolation,
    // userNamespace: the agent's uid 1000 must not be a host account (it could read another agent's
    // secrets through /proc/PID/root and signal it); see docs/security.md
    security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
  };
}
