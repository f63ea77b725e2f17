// The Agent spec (apiVersion clawpod.dev/v1alpha1): strict shape, with every default
// taken from defaults.ts. Values keep the user's spelling ("512Mi"); the planner converts.
import { z } from 'zod';
import { API_VERSION, DEFAULTS, KIND_AGENT, RESERVED_LABEL_PREFIXES } from './defaults.js';
import { parseCpu, parseDuration, parseMemory } from './quantity.js';
import { AGENT_NAME_MAX, AGENT_NAME_MESSAGES, DNS_LABEL } from './names.js';
import { EgressSchema } from './egress.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const FORBIDDEN_TARGETS = ['/proc', '/sys', '/dev'];

/** metadata.name: the rule of names.ts (checkAgentName), with its messages. */
const agentNameSchema = z.string().max(AGENT_NAME_MAX, AGENT_NAME_MESSAGES.tooLong).regex(DNS_LABEL, AGENT_NAME_MESSAGES.notLabel);

/** A Kubernetes-style quantity or duration, checked by `parse` (src/spec/quantity.ts); the value keeps the user's spelling. */
export const quantity = (parse: (v: string | number) => { ok: boolean; expected?: string }) =>
  z.union([z.string(), z.number()]).superRefine((v, ctx) => {
    const r = parse(v);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
  });

/** One idle tier: after this long without activity, the daemon (`clawpod serve`) pauses or stops the agent. */
export const IdleTierSchema = z.strictObject({
  after: quantity(parseDuration),
  action: z.enum(['pause', 'stop']),
});

/** What agents, tenants and plans share under lifecycle (docs/lifecycle.md). */
export const LifecyclePolicyFields = {
  /** Tiers in order of `after`: e.g. [{after: 5m, action: pause}, {after: 1h, action: stop}]. */
  idle: z.array(IdleTierSchema).max(4).optional(),
  /** Destroyed this long after it was created: containers, volumes, vault entries, tokens, networks. */
  ttl: quantity(parseDuration).optional(),
  /** An event this long before the ttl destroys it (default 10m). */
  ttlWarning: quantity(parseDuration).optional(),
};

/** Tiers must grow: a later tier after an earlier one, and nothing after a stop but nothing. */
export function checkIdleTiers(l: { idle?: readonly { after: string | number; action: string }[] | undefined }, ctx: z.RefinementCtx): void {
  let last = -1;
  l.idle?.forEach((t, i) => {
    const r = parseDuration(t.after);
    if (!r.ok) return;
    if (r.value <= last) ctx.addIssue({ code: 'custom', path: ['idle', i, 'after'], message: `expected a longer wait than the tier before it (tiers run in order: pause first, then stop)` });
    if (i > 0 && l.idle![i - 1]!.action === 'stop') ctx.addIssue({ code: 'custom', path: ['idle', i], message: 'expected no tier after a stop tier (a stopped agent cannot be paused)' });
    last = r.value;
  });
}

const containerPath = z.string().superRefine((p, ctx) => {
  if (!p.startsWith('/')) ctx.addIssue({ code: 'custom', message: 'expected an absolute path inside the container, e.g. "/data"' });
  else if (p.split('/').includes('..')) ctx.addIssue({ code: 'custom', message: 'expected a path without ".." segments' });
  // "//proc" or "/./proc" is /proc to the engine, but not to the checks below (nor to the microVM's mount checks)
  else if (p.length > 1 && p.slice(1).replace(/\/$/, '').split('/').some((c) => c === '' || c === '.')) ctx.addIssue({ code: 'custom', message: 'expected a plain path: no "//" and no "." segments, e.g. "/data"' });
  else if (p === '/' || FORBIDDEN_TARGETS.some((t) => p === t || p.startsWith(`${t}/`)))
    ctx.addIssue({ code: 'custom', message: `expected a path outside /, ${FORBIDDEN_TARGETS.join(', ')}` });
});

/** Where a SecretRef's value comes from; each is a module under src/secrets/sources/. */
export const SECRET_SOURCES = ['env', 'file', 'exec', 'vault', 'podman', 'kubernetes'] as const;

export const SecretRefSchema = z.strictObject({
  /** env: the host variable; file: the file's path (relative to the spec file); exec: the command; vault: the entry; podman: the Podman secret. */
  name: z.string().min(1, 'expected a non-empty name'),
  /** file source only: the entry of a JSON or KEY=VALUE file to read. */
  key: z.string().min(1).optional(),
});

export const SecretSchema = z.strictObject({
  /** File name under /run/secrets, or the variable name when exposeAs is env. */
  name: z.string().regex(FILE_NAME, 'expected a file-name-safe secret name: letters, digits, "_", "-", "."'),
  source: z.enum(SECRET_SOURCES).default('env'),
  secretRef: SecretRefSchema,
  /** file (default): /run/secrets/NAME, mode 0400, from a host tmpfs. podman: the same path, from a Podman secret.
   *  env: a variable, visible to `inspect` — the weaker option. */
  exposeAs: z.enum(['file', 'env', 'podman']).default('file'),
});

export const MountSchema = z.strictObject({
  hostPath: z.string().min(1, 'expected a host path'),
  containerPath,
  /** tools/skills/mcp mount read-only unless readOnly: false is written out. */
  type: z.enum(['data', 'tools', 'skills', 'mcp']).default('data'),
  readOnly: z.boolean().optional(),
});

export const PortSchema = z.strictObject({
  name: z.string().regex(DNS_LABEL).max(15).optional(),
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.union([z.literal('auto'), z.number().int().min(1).max(65535)]).default('auto'),
  hostIP: z.union([z.ipv4(), z.ipv6()]).default(DEFAULTS.hostIP),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

export const EnvVarSchema = z.strictObject({
  name: z.string().regex(ENV_NAME, 'expected an environment variable name: letters, digits and "_", not starting with a digit'),
  value: z.string({ error: 'expected a string value (quote numbers and booleans: "8080"); secrets go in spec.secrets' }),
});

const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'expected a label key like "team" or "example.com/team" (≤ 63 chars, alphanumerics, "-", "_", ".")' });
    else if (RESERVED_LABEL_PREFIXES.some((p) => k.startsWith(p))) ctx.addIssue({ code: 'custom', path: [k], message: `expected a key outside the reserved prefixes ${RESERVED_LABEL_PREFIXES.join(', ')}` });
    if (!LABEL_VALUE.test(v)) ctx.addIssue({ code: 'custom', path: [k], message: 'expected a label value of ≤ 63 alphanumerics, "-", "_", "."' });
  }
});

/** A payload's version as spec.profile.version and `clawpod upgrade --version` take it. */
export const PAYLOAD_VERSION = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/;

/** A payload profile (src/profiles): "openclaw" or { name: openclaw, version: "2026.9.6" }. */
export const ProfileRefSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.strictObject({
    name: z.string().regex(DNS_LABEL, 'expected a profile name such as "openclaw" or "reference"'),
    version: z.string().regex(PAYLOAD_VERSION, 'expected a version such as "2026.9.6"').optional(),
  }),
);

export const CONFIG_MODES = ['seedOnly', 'merge', 'overwrite'] as const;

/** The reference runner's bash on a remote host (docs/runner.md "SSH"); key and knownHosts name spec.secrets entries delivered as files. */
export const SshShellSchema = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$/, 'expected a host name or IP address, e.g. "build.example.com" or "10.0.0.5"'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'expected a user name on the remote host'),
  /** The private key: the name of a spec.secrets entry delivered as a file (unencrypted OpenSSH or PEM key). */
  key: z.string().regex(FILE_NAME, 'expected the name of a spec.secrets entry holding the private key'),
  /** OpenSSH known_hosts lines for the host: the name of a spec.secrets entry delivered as a file. */
  knownHosts: z.string().regex(FILE_NAME, 'expected the name of a spec.secrets entry holding known_hosts lines'),
  /** Remote folder commands run in (default the user's home). */
  workdir: z.string().startsWith('/', 'expected an absolute path on the remote host').optional(),
});

export const AgentSpecBodySchema = z.strictObject({
  image: z.string().min(1).default(DEFAULTS.image),
  command: z.array(z.string()).min(1).optional(),
  args: z.array(z.string()).optional(),
  workingDir: containerPath.optional(),
  user: z.string().regex(/^\d+(:\d+)?$/, 'expected a numeric "uid" or "uid:gid"').refine((u) => !/^0(:|$)/.test(u), 'expected a non-root uid; clawpod never runs agents as root').default(DEFAULTS.user),
  env: z.array(EnvVarSchema).default([]),
  secrets: z.array(SecretSchema).default([]),
  mounts: z.array(MountSchema).default([]),
  workspace: z.strictObject({
    enabled: z.boolean().default(true),
    mountPath: containerPath.default(DEFAULTS.workspaceMountPath),
    /** Kubernetes PVC size; local volumes grow as needed. */
    size: quantity(parseMemory).optional(),
  }).prefault({}),
  ports: z.array(PortSchema).default([]),
  resources: z.strictObject({
    cpu: quantity(parseCpu).default(DEFAULTS.cpu),
    memory: quantity(parseMemory).default(DEFAULTS.memory),
    pids: z.number().int().min(16).max(1_000_000).default(DEFAULTS.pids),
  }).prefault({}),
  network: z.enum(['none', 'bridge']).default(DEFAULTS.network),
  /** Only these hosts, through a per-agent egress proxy that can add credentials (docs/egress.md). Needs network: bridge. */
  egress: EgressSchema.optional(),
  isolation: z.enum(['runc', 'gvisor', 'microvm']).default(DEFAULTS.isolation),
  lifecycle: z.strictObject({
    idleTimeout: quantity(parseDuration).default(DEFAULTS.idleTimeout),
    ...LifecyclePolicyFields,
  }).prefault({}).superRefine(checkIdleTiers),
  labels: labelsSchema.default({}),
  profile: ProfileRefSchema.optional(),
  /** The profile's config file (openclaw.json for openclaw): values over what clawpod renders, and how to
   *  seed it onto the state volume: seedOnly (first run only), merge (clawpod's keys over the file's), overwrite. */
  config: z.strictObject({
    mode: z.enum(CONFIG_MODES).default('merge'),
    values: z.record(z.string(), z.unknown()).default({}),
  }).optional(),
  /** A host folder (AGENTS.md, skills/, MCP config...) copied into the workspace at each run. */
  bundle: z.string().min(1).optional(),
  /** Reference runner tools: `shell.ssh` runs its bash on a remote host instead of in the container. */
  tools: z.strictObject({ shell: z.strictObject({ ssh: SshShellSchema.optional() }).optional() }).optional(),
  /** Model calls through clawpod's LLM gateway (`clawpod serve` with spec.gateway.listen): the group whose
   *  model, allowlist and budget apply (default: the instance name). false: never wire a model. */
  llm: z.union([z.literal(false), z.strictObject({
    group: z.string().min(1).optional(),
    /** For clusters (export/apply), where no local control plane can be asked: the gateway's URL as the
     *  agent's Pod reaches it, the wire protocol and the model id the group serves. */
    url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL').optional(),
    api: z.enum(['anthropic', 'openai']).optional(),
    model: z.string().min(1).optional(),
  })]).optional(),
  /** A headless Chromium beside the agent, its DevTools endpoint on the agent's own loopback (docs/browser.md). */
  browser: z.strictObject({
    enabled: z.boolean().default(false),
    /** The browser's own limits: it runs in a container of its own, beside the agent's. */
    memory: quantity(parseMemory).default('1Gi'),
    pids: z.number().int().min(64).max(1_000_000).default(512),
    /** The sidecar's image. Locally the default is built from the host's Chromium (localhost/clawpod-browser:HASH);
     *  on a cluster the default is localhost/clawpod-browser:latest, so push one and name it here. */
    image: z.string().min(1).optional(),
  }).optional(),
});

export const AgentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }),
  kind: z.literal(KIND_AGENT, { error: `expected "${KIND_AGENT}"` }),
  metadata: z.strictObject({
    name: agentNameSchema,
    labels: labelsSchema.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: AgentSpecBodySchema.prefault({}),
}).superRefine((a, ctx) => {
  const names = new Set<string>();
  a.spec.secrets.forEach((s, i) => {
    if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['spec', 'secrets', i, 'name'], message: 'expected a unique secret name' });
    names.add(s.name);
    if (s.source === 'env' && s.secretRef.key !== undefined)
      ctx.addIssue({ code: 'custom', path: ['spec', 'secrets', i, 'secretRef', 'key'], message: 'expected no key for source env (the variable named by secretRef.name is the whole value)' });
  });
  const exposed = new Set(a.spec.secrets.map((s) => s.exposeAs));
  if (exposed.has('file') && exposed.has('podman')) {
    const i = a.spec.secrets.findIndex((s) => s.exposeAs === 'podman');
    ctx.addIssue({ code: 'custom', path: ['spec', 'secrets', i, 'exposeAs'], message: 'expected one file delivery per agent: "file" and "podman" both use /run/secrets, so use one of them for all file secrets' });
  }
  // runsc 2022-12 does not apply OCI sysctls, and the one that keeps an egress agent off the host's IPv6 link-local address is one
  if (a.spec.egress && a.spec.isolation === 'gvisor')
    ctx.addIssue({ code: 'custom', path: ['spec', 'isolation'], message: 'expected runc or microvm with spec.egress: gVisor here (runsc 2022-12) ignores the sysctl that keeps the agent\'s interface off the host\'s IPv6 link-local address, so the proxy would not be its only way out' });
  if (a.spec.egress && a.spec.network !== 'bridge')
    ctx.addIssue({ code: 'custom', path: ['spec', 'network'], message: 'expected "bridge" when spec.egress is set: the agent reaches its allowed hosts through a proxy on a network of its own (set network: bridge)' });
  if (a.spec.ports.length > 0 && a.spec.network === 'none')
    ctx.addIssue({ code: 'custom', path: ['spec', 'network'], message: 'expected "bridge" when spec.ports is set: a container without a network cannot publish ports' });
  if (a.spec.browser?.enabled && a.spec.isolation !== 'runc')
    ctx.addIssue({ code: 'custom', path: ['spec', 'browser', 'enabled'], message: `expected isolation: runc with a browser: the sidecar shares the agent's loopback, which a ${a.spec.isolation} agent keeps inside its own kernel` });
  checkSshShell(a.spec, ctx);
  const targets = new Set<string>();
  a.spec.mounts.forEach((m, i) => {
    if (targets.has(m.containerPath) || (a.spec.workspace.enabled && m.containerPath === a.spec.workspace.mountPath))
      ctx.addIssue({ code: 'custom', path: ['spec', 'mounts', i, 'containerPath'], message: 'expected a containerPath not used by another mount or the workspace' });
    targets.add(m.containerPath);
  });
  const ports = new Set<string>();
  a.spec.ports.forEach((p, i) => {
    const k = `${p.containerPort}/${p.protocol}`;
    if (ports.has(k)) ctx.addIssue({ code: 'custom', path: ['spec', 'ports', i, 'containerPort'], message: 'expected each containerPort/protocol once' });
    ports.add(k);
  });
});

/** spec.tools.shell.ssh needs a network to reach its host, and its key and known_hosts as file secrets (never env). */
function checkSshShell(spec: z.output<typeof AgentSpecBodySchema>, ctx: z.RefinementCtx): void {
  const ssh = spec.tools?.shell?.ssh;
  if (!ssh) return;
  if (spec.network === 'none')
    ctx.addIssue({ code: 'custom', path: ['spec', 'network'], message: `expected "bridge" when spec.tools.shell.ssh is set: the agent reaches ${ssh.host}:${ssh.port} over the network (set network: bridge)` });
  for (const field of ['key', 'knownHosts'] as const) {
    const s = spec.secrets.find((x) => x.name === ssh[field]);
    if (!s) ctx.addIssue({ code: 'custom', path: ['spec', 'tools', 'shell', 'ssh', field], message: `expected the name of a spec.secrets entry; add { name: ${ssh[field]}, source: …, secretRef: … } to spec.secrets` });
    else if (s.exposeAs === 'env') ctx.addIssue({ code: 'custom', path: ['spec', 'tools', 'shell', 'ssh', field], message: `expected a secret delivered as a file: spec.secrets entry ${s.name} has exposeAs: env, which inspect shows (use exposeAs: file)` });
  }
}

export type Agent = z.output<typeof AgentSchema>;
export type AgentInput = z.input<typeof AgentSchema>;
export type SecretSpec = Agent['spec']['secrets'][number];
export type MountSpec = Agent['spec']['mounts'][number];
export type PortSpec = Agent['spec']['ports'][number];
