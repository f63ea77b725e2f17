// The control plane's own spec (`kind: ControlPlane`): where it listens, how many containers it
// may run, the models groups can use, and the groups it starts with. Every field has a default,
// so `clawpod serve` runs without a file.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ClawpodError, messageOf } from '../errors.js';
import { API_VERSION, CONTROL_DEFAULTS } from '../spec/defaults.js';
import { parseDocuments } from '../spec/parse.js';
import { decodeUtf8 } from '../spec/utf8.js';
import { parseCpu, parseDuration, parseMemory } from '../spec/quantity.js';
import { SECRET_SOURCES, SecretRefSchema } from '../spec/schema.js';
import { otlpEndpointProblem } from '../otel/settings.js';
import { BindingSchema, ChannelSchema, MemorySchema, ScheduleSchema } from '../channels/schema.js';

export const GROUP_NAME = /^[a-z0-9]([-a-z0-9_.]{0,38}[a-z0-9])?$/;
const GROUP_NAME_HINT = 'lowercase letters, digits, "-", "_", "." (at most 40), starting and ending with a letter or digit';

const quantity = (parse: (v: string | number) => { ok: true } | { ok: false; expected: string }) => z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parse(v);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
});
const duration = quantity(parseDuration);

export const ModelSchema = z.strictObject({
  provider: z.enum(['anthropic', 'openai', 'gemini']),
  model: z.string().min(1),
  /** Default: the provider's public endpoint. */
  baseUrl: z.string().regex(/^(https?|unix):\/\//, 'expected an http://, https:// or unix:// URL').optional(),
  /** Where the provider key comes from; it reaches the runner on stdin only. */
  apiKey: z.strictObject({ source: z.enum(SECRET_SOURCES).default('env'), secretRef: SecretRefSchema }).optional(),
  maxTokens: z.number().int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  timeout: duration.optional(),
});

export const BudgetSchema = z.strictObject({
  /** Budgets reset at multiples of this period since the Unix epoch (UTC). */
  period: duration.default(CONTROL_DEFAULTS.budgetPeriod),
  tokens: z.number().int().min(0).optional(),
  requests: z.number().int().min(0).optional(),
});

export const GroupSchema = z.strictObject({
  name: z.string().regex(GROUP_NAME, `expected a group name: ${GROUP_NAME_HINT}`),
  model: z.string().min(1),
  /** Models the group's gateway token may ask for (names under spec.models); default: its own model. */
  models: z.array(z.string()).optional(),
  budget: BudgetSchema.optional(),
  system: z.string().optional(),
  /** Nested sandboxes (docs/mcp.md): the group's session gets clawpod's MCP tools and a `sandbox:GROUP` token, valid
   *  while the session runs, for at most `max` sandboxes, each no larger than these nor than the session's own container. */
  sandboxes: z.strictObject({
    max: z.number().int().min(1).max(20),
    cpu: quantity(parseCpu).optional(),
    memory: quantity(parseMemory).optional(),
    pids: z.number().int().min(16).max(1_000_000).optional(),
  }).optional(),
});

export const ControlPlaneSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }),
  kind: z.literal('ControlPlane', { error: 'expected "ControlPlane"' }),
  metadata: z.strictObject({ name: z.string().min(1) }).prefault({ name: 'local' }),
  spec: z.strictObject({
    listen: z.string().regex(/^[0-9a-zA-Z.:[\]-]+:\d+$/, 'expected HOST:PORT, e.g. "127.0.0.1:7878"').default(CONTROL_DEFAULTS.listen),
    maxConcurrent: z.number().int().min(1).max(1000).default(CONTROL_DEFAULTS.maxConcurrent),
    /** An Agent spec file for session containers (relative to this file); default: the reference runner. */
    agent: z.string().optional(),
    session: z.strictObject({
      idleTimeout: duration.default(CONTROL_DEFAULTS.idleTimeout),
      deadline: duration.default(CONTROL_DEFAULTS.deadline),
      grace: duration.default(CONTROL_DEFAULTS.grace),
      maxTurns: z.number().int().min(1).max(200).default(CONTROL_DEFAULTS.maxTurns),
      /** A session idle this long is frozen (memory kept, no CPU) until its next message; it still ends at idleTimeout. */
      pauseAfter: duration.optional(),
    }).prefault({}),
    /** How follow-ups reach a running runner: auto = a watched folder with runc, attach stdin otherwise. */
    followups: z.enum(['auto', 'dir', 'stdin', 'poll']).default('auto'),
    /** The LLM gateway: provider keys stay in the control plane; agents get scoped tokens. */
    gateway: z.strictObject({
      /** Also serve the gateway on TCP (HOST:PORT), for agents that cannot use a unix socket (OpenClaw's
       *  custom provider baseUrl), e.g. Podman's bridge address "10.88.0.1:7879". Session containers use the socket. */
      listen: z.string().regex(/^[0-9a-zA-Z.:[\]-]+:\d+$/, 'expected HOST:PORT, e.g. "10.88.0.1:7879"').optional(),
      /** Budget of a group without its own. */
      budget: BudgetSchema.optional(),
      /** Largest request body the gateway accepts (bytes or "10Mi"; at least 4Mi); larger ones get 413 without being buffered. */
      maxRequestBody: quantity(parseMemory).default(CONTROL_DEFAULTS.gatewayMaxRequestBody),
    }).prefault({}),
    /** The front proxy (off unless listen is set): a request for NAME.DOMAIN, or on a route's own port,
     *  reaches agent NAME's published port, waking it first when the lifecycle paused or stopped it. */
    proxy: z.strictObject({
      listen: z.string().regex(/^[0-9a-zA-Z.:[\]-]+:\d+$/, 'expected HOST:PORT, e.g. "127.0.0.1:7880"').optional(),
      domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a DNS domain such as "localhost" or "agents.example.com"').default(CONTROL_DEFAULTS.proxyDomain),
      routes: z.array(z.strictObject({
        listen: z.string().regex(/^[0-9a-zA-Z.:[\]-]+:\d+$/, 'expected HOST:PORT, e.g. "127.0.0.1:18001"'),
        agent: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/, 'expected an agent (container) name'),
        /** The agent's container port (default: its first published one). */
        port: z.number().int().min(1).max(65535).optional(),
      })).default([]),
      /** Past this a held request gets 503 with Retry-After and a "starting up" answer; the wake goes on. */
      wakeTimeout: duration.default(CONTROL_DEFAULTS.wakeTimeout),
    }).prefault({}),
    /** Idle tiers and ttls of agents (their spec.lifecycle) are enforced by this daemon. */
    lifecycle: z.strictObject({
      /** How often they are checked. */
      interval: duration.default(CONTROL_DEFAULTS.lifecycleInterval),
    }).prefault({}),
    /** Where session containers run: the local Podman/Docker (default), or a Kubernetes cluster as Jobs. */
    runtime: z.strictObject({
      kind: z.enum(['local', 'kubernetes']).default('local'),
      /** kubeconfig context (default: the current one; in a Pod: the in-cluster credentials). */
      context: z.string().min(1).optional(),
      /** Namespace of the session Jobs (default: the context's, in a Pod its own). */
      namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a namespace name (a DNS label)').optional(),
      /** ServiceAccount of session Pods; it must exist (no token is mounted either way). */
      serviceAccount: z.string().min(1).default('default'),
      /** StorageClass of the workspace claims (default: the cluster's default class). */
      storageClass: z.string().min(1).optional(),
      /** How session Pods reach the LLM gateway (spec.gateway.listen), e.g. http://clawpod:7879. */
      gatewayUrl: z.string().regex(/^https?:\/\/[^/]+\/?$/, 'expected http://HOST:PORT').optional(),
    }).prefault({}),
    /** OpenTelemetry traces of messages, sessions and model calls (docs/tracing.md); off unless an endpoint is
     *  set here or in OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (which win). */
    tracing: z.strictObject({
      /** The collector's OTLP/HTTP base URL; traces go to ENDPOINT/v1/traces, e.g. "http://127.0.0.1:4318". */
      endpoint: z.string().superRefine((v, ctx) => {
        const problem = otlpEndpointProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      serviceName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,99}$/, 'expected a service name: letters, digits, "_", ".", "-", "/" (at most 100)').default(CONTROL_DEFAULTS.tracingServiceName),
    }).optional(),
    models: z.record(z.string().regex(/^[a-z0-9][-a-z0-9_.]*$/, 'expected a model name: lowercase letters, digits, "-", "_", "."'), ModelSchema).default({}),
    groups: z.array(GroupSchema).default([]),
    /** Warm pools this daemon keeps filled (docs/pools.md): each from a spec file (relative to this file) or a profile. */
    pools: z.array(z.strictObject({
      spec: z.string().min(1).optional(),
      profile: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a profile name such as "reference" or "openclaw"').optional(),
      /** The profile's payload version (default: the profile's). */
      version: z.string().min(1).optional(),
      size: z.number().int().min(0).max(500),
    }).superRefine((p, ctx) => {
      if ((p.spec === undefined) === (p.profile === undefined)) ctx.addIssue({ code: 'custom', message: 'expected one of spec (an Agent file) and profile (e.g. reference)' });
      if (p.version !== undefined && p.profile === undefined) ctx.addIssue({ code: 'custom', path: ['version'], message: 'expected version only with profile (a spec file says spec.profile.version itself)' });
    })).default([]),
    /** Chat platforms this daemon listens on (docs/channels.md); their credentials stay here. */
    channels: z.array(ChannelSchema).default([]),
    /** Which chat reaches which group; also `clawpod channel bind`. */
    bindings: z.array(BindingSchema).default([]),
    /** Prompts sent to groups on a cron schedule; also `clawpod schedule add`. */
    schedules: z.array(ScheduleSchema).default([]),
    /** Each group's earlier conversation, handed to its next session. */
    memory: MemorySchema,
  }).prefault({}),
}).superRefine((c, ctx) => {
  // a Pod cannot mount the control plane's socket: it reaches the gateway over TCP
  if (c.spec.runtime.kind === 'kubernetes') {
    if (!c.spec.runtime.gatewayUrl) ctx.addIssue({ code: 'custom', path: ['spec', 'runtime', 'gatewayUrl'], message: 'expected the URL session Pods reach the gateway at (runtime kubernetes), e.g. http://clawpod:7879' });
    if (!c.spec.gateway.listen) ctx.addIssue({ code: 'custom', path: ['spec', 'gateway', 'listen'], message: 'expected HOST:PORT for the gateway (runtime kubernetes: session Pods call it over TCP), e.g. "0.0.0.0:7879"' });
    if (c.spec.followups !== 'auto' && c.spec.followups !== 'stdin') ctx.addIssue({ code: 'custom', path: ['spec', 'followups'], message: 'expected auto or stdin: on Kubernetes follow-ups travel over attach stdin' });
    // a Pod's only way to clawpod's MCP endpoint would be the gateway's TCP port, which sandbox tokens are not served on
    c.spec.groups.forEach((g, i) => { if (g.sandboxes) ctx.addIssue({ code: 'custom', path: ['spec', 'groups', i, 'sandboxes'], message: 'expected no sandboxes with runtime kubernetes: nested sandboxes reach clawpod through the gateway\'s unix socket, which Pods cannot mount' }); });
  }
  const channels = new Set<string>();
  c.spec.channels.forEach((ch, i) => {
    if (channels.has(ch.name)) ctx.addIssue({ code: 'custom', path: ['spec', 'channels', i, 'name'], message: `expected a name no other channel has ("${ch.name}" is taken)` });
    channels.add(ch.name);
  });
  const groupNames = c.spec.groups.map((g) => g.name);
  const knownGroup = `expected one of the groups under spec.groups (${groupNames.join(', ') || 'none defined'})`;
  c.spec.bindings.forEach((b, i) => {
    if (!channels.has(b.channel)) ctx.addIssue({ code: 'custom', path: ['spec', 'bindings', i, 'channel'], message: `expected one of the names under spec.channels (${[...channels].join(', ') || 'none defined'})` });
    if (!groupNames.includes(b.group)) ctx.addIssue({ code: 'custom', path: ['spec', 'bindings', i, 'group'], message: knownGroup });
  });
  c.spec.schedules.forEach((s, i) => { if (!groupNames.includes(s.group)) ctx.addIssue({ code: 'custom', path: ['spec', 'schedules', i, 'group'], message: knownGroup }); });
  const known = `expected one of the names under spec.models (${Object.keys(c.spec.models).join(', ') || 'none defined'})`;
  c.spec.groups.forEach((g, i) => {
    if (!c.spec.models[g.model]) ctx.addIssue({ code: 'custom', path: ['spec', 'groups', i, 'model'], message: known });
    g.models?.forEach((m, j) => { if (!c.spec.models[m]) ctx.addIssue({ code: 'custom', path: ['spec', 'groups', i, 'models', j], message: known }); });
  });
});

export type ControlPlane = z.output<typeof ControlPlaneSchema>;
export type ModelSpec = z.output<typeof ModelSchema>;

export interface LoadedControlPlane { readonly config: ControlPlane; readonly dir: string }

export function loadControlPlane(file: string | undefined): LoadedControlPlane {
  if (!file) return { config: ControlPlaneSchema.parse({ apiVersion: API_VERSION, kind: 'ControlPlane' }), dir: process.cwd() };
  let bytes: Buffer;
  try { bytes = readFileSync(file); } catch (e) {
    throw new ClawpodError('FILE_NOT_FOUND', `cannot read control plane file ${file}: ${messageOf(e)}`, { hint: 'check the path given to clawpod serve -f' });
  }
  const docs = parseDocuments(decodeUtf8(bytes, file), file, {
    schema: ControlPlaneSchema,
    kind: 'ControlPlane',
    hint: 'start the file with "apiVersion: clawpod.dev/v1alpha1" and "kind: ControlPlane"; see examples/serve.yaml',
  });
  if (docs.length > 1) throw new ClawpodError('SPEC_INVALID', `${file} holds ${docs.length} ControlPlane documents`, { hint: 'keep one per file' });
  return { config: docs[0]!.value, dir: docs[0]!.dir };
}

export function badGroupName(name: string): ClawpodError | undefined {
  if (GROUP_NAME.test(name)) return undefined;
  return new ClawpodError('USAGE', `"${name}" is not a valid group name`, { hint: `use ${GROUP_NAME_HINT}` });
}
