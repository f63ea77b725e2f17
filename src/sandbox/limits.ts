// What a `sandbox:OWNER` token may ask for (docs/sandbox-api.md): at most maxSandboxes at once,
// each within cpus/memory/pids, with no host mounts, published ports, host secrets, network,
// model wiring or isolation weaker than the default. Checked on the validated spec before anything
// is created; a refusal is 403 FORBIDDEN naming the field, the value asked for and the limit.
import { ClawpodError } from '../errors.js';
import { PROFILES } from '../profiles/index.js';
import { DEFAULTS } from '../spec/defaults.js';
import { formatBytes, parseCpu, parseMemory } from '../spec/quantity.js';
import type { Agent } from '../spec/schema.js';

export interface SandboxLimits {
  readonly maxSandboxes: number;
  /** Cores. */
  readonly cpus: number;
  /** As given ("512Mi"); memoryBytes is what is compared. */
  readonly memory: string;
  readonly memoryBytes: number;
  readonly pids: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = Object.freeze({ maxSandboxes: 5, cpus: 1, memory: '512Mi', memoryBytes: 512 * 2 ** 20, pids: 256 });

/** The limits as typed (`clawpod token create --max-sandboxes N --cpus X --memory Q --pids N`, or the API's body). */
export interface LimitsInput { maxSandboxes?: number | string; cpus?: number | string; memory?: string; pids?: number | string }

const usage = (field: string, value: unknown, expected: string) =>
  new ClawpodError('USAGE', `${field} ${JSON.stringify(value)}: expected ${expected}`, { hint: `e.g. --max-sandboxes 5 --cpus 1 --memory 512Mi --pids 256 (the defaults)` });

function wholeNumber(field: string, v: number | string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw usage(field, v, `a whole number from ${min} to ${max}`);
  return n;
}

/** Checked limits, each missing one at its default; a bad value is USAGE naming it. */
export function parseLimits(i: LimitsInput): SandboxLimits {
  const d = DEFAULT_SANDBOX_LIMITS;
  const cpu = i.cpus === undefined ? undefined : parseCpu(i.cpus);
  if (cpu && !cpu.ok) throw usage('cpus', i.cpus, cpu.expected);
  const mem = i.memory === undefined ? undefined : parseMemory(i.memory);
  if (mem && !mem.ok) throw usage('memory', i.memory, mem.expected);
  return {
    maxSandboxes: i.maxSandboxes === undefined ? d.maxSandboxes : wholeNumber('maxSandboxes', i.maxSandboxes, 1, 10_000),
    cpus: cpu?.ok ? cpu.value : d.cpus,
    memory: mem?.ok ? String(i.memory).trim() : d.memory,
    memoryBytes: mem?.ok ? mem.value : d.memoryBytes,
    pids: i.pids === undefined ? d.pids : wholeNumber('pids', i.pids, 16, 1_000_000),
  };
}

/** Limits read back from the store (a row written by parseLimits); a missing or broken one is the defaults. */
export function limitsOf(json: string | null): SandboxLimits {
  if (!json) return DEFAULT_SANDBOX_LIMITS;
  try { return parseLimits(JSON.parse(json) as LimitsInput); } catch { return DEFAULT_SANDBOX_LIMITS; }
}

/** The limits as stored and shown (memoryBytes is derived). */
export function limitsView(l: SandboxLimits): { maxSandboxes: number; cpus: number; memory: string; pids: number } {
  return { maxSandboxes: l.maxSandboxes, cpus: l.cpus, memory: l.memory, pids: l.pids };
}

function forbidden(field: string, value: string, limit: string, hint: string): ClawpodError {
  return new ClawpodError('FORBIDDEN', `${field} ${value} is not allowed for this sandbox token: ${limit}`, { hint });
}

/** Weakest first: a scoped token may ask for the default tier or a stronger one. */
const ISOLATION_ORDER: readonly Agent['spec']['isolation'][] = ['runc', 'gvisor', 'microvm'];

const WIDER = 'or ask an admin for a token made with larger limits (`clawpod token create --scope sandbox:OWNER --cpus X --memory Q --pids N`)';

/** Resources the spec did not set get the token's limits rather than clawpod's defaults. */
export type GivenResources = { readonly cpu: boolean; readonly memory: boolean; readonly pids: boolean };

/** The agent with unset resources at the token's limits and the model never wired; refuses anything wider than the limits. */
export function withinLimits(agent: Agent, given: GivenResources, l: SandboxLimits): Agent {
  const s = agent.spec;
  const refuse = (field: string, value: string, limit: string, hint: string): never => { throw forbidden(field, value, limit, hint); };
  if (s.mounts.length) refuse('spec.mounts', s.mounts.map((m) => m.hostPath).join(', '), 'a sandbox mounts no host folder (only the volume it creates)', 'drop spec.mounts; put files in with PUT /v1/sandboxes/{id}/files');
  if (s.bundle !== undefined) refuse('spec.bundle', s.bundle, 'a sandbox copies in no host folder', 'drop spec.bundle; put files in with PUT /v1/sandboxes/{id}/files');
  if (s.ports.length) refuse('spec.ports', s.ports.map((p) => p.containerPort).join(', '), 'a sandbox publishes no port', 'drop spec.ports');
  if (s.secrets.length) refuse('spec.secrets', s.secrets.map((x) => `${x.name} (source ${x.source})`).join(', '), 'a sandbox gets no secret from a host source', 'drop spec.secrets; pass values with exec env');
  if (s.network !== 'none') refuse('spec.network', s.network, 'a sandbox has network none', 'drop spec.network');
  if (ISOLATION_ORDER.indexOf(s.isolation) < ISOLATION_ORDER.indexOf(DEFAULTS.isolation)) refuse('spec.isolation', s.isolation, `no weaker than ${DEFAULTS.isolation}`, `use ${ISOLATION_ORDER.slice(ISOLATION_ORDER.indexOf(DEFAULTS.isolation)).join(' or ')}`);
  if (s.llm !== undefined && s.llm !== false) refuse('spec.llm', JSON.stringify(s.llm), 'a sandbox is not wired to a model through the gateway', 'drop spec.llm');
  const profile = s.profile ? PROFILES[s.profile.name] : undefined;
  if (profile && (profile.config || profile.generatedSecrets?.length)) {
    refuse('spec.profile', profile.name, 'a sandbox uses no profile that generates secrets or wires a model', `use a profile without them (${Object.values(PROFILES).filter((p) => !p.config && !p.generatedSecrets?.length).map((p) => p.name).join(', ')}) or a spec`);
  }
  const cpus = given.cpu ? (parseCpu(s.resources.cpu) as { value: number }).value : l.cpus;
  const mem = given.memory ? (parseMemory(s.resources.memory) as { value: number }).value : l.memoryBytes;
  const pids = given.pids ? s.resources.pids : l.pids;
  if (cpus > l.cpus) refuse('spec.resources.cpu', String(s.resources.cpu), `the token's limit is ${l.cpus}`, `ask for at most ${l.cpus}, ${WIDER}`);
  if (mem > l.memoryBytes) refuse('spec.resources.memory', String(s.resources.memory), `the token's limit is ${l.memory}`, `ask for at most ${l.memory}, ${WIDER}`);
  if (pids > l.pids) refuse('spec.resources.pids', String(pids), `the token's limit is ${l.pids}`, `ask for at most ${l.pids}, ${WIDER}`);
  return {
    ...agent,
    spec: { ...s, llm: false, resources: { cpu: given.cpu ? s.resources.cpu : String(cpus), memory: given.memory ? s.resources.memory : formatBytes(mem), pids } },
  };
}

/** Refuses a create that would take the owner over maxSandboxes (counting the one asked for). */
export function checkCount(owner: string, has: number, l: SandboxLimits): void {
  if (has < l.maxSandboxes) return;
  throw new ClawpodError('FORBIDDEN', `sandboxes of ${owner}: ${has + 1} would be over this token's limit of ${l.maxSandboxes} (--max-sandboxes)`, {
    hint: `kill one first (DELETE /v1/sandboxes/{id}; GET /v1/sandboxes lists them), ${WIDER.replace('--cpus X --memory Q --pids N', '--max-sandboxes N')}`,
  });
}
