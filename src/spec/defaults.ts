// The one place clawpod's defaults live. The schema, the planner, docs and tests read them here.

export const API_VERSION = 'clawpod.dev/v1alpha1';
export const KIND_AGENT = 'Agent';

export const DEFAULTS = Object.freeze({
  image: 'localhost/clawpod-agent:latest',
  /** uid:gid the agent runs as; 1000 is the `agent` user of clawpod images (and `node` in official Node images). */
  user: '1000:1000',
  workspaceMountPath: '/workspace',
  network: 'none' as const,
  isolation: 'runc' as const,
  cpu: '1',
  memory: '512Mi',
  pids: 256,
  tmpSize: '64Mi',
  idleTimeout: '30m',
  hostIP: '127.0.0.1',
  /** Host ports of instance i are base + portStep·i. */
  portStep: 10,
  secretsMountPath: '/run/secrets',
  stopTimeoutSeconds: 10,
});

/** Defaults of the control plane (`clawpod serve`, kind ControlPlane). */
export const CONTROL_DEFAULTS = Object.freeze({
  listen: '127.0.0.1:7878',
  maxConcurrent: 5,
  idleTimeout: '30m',
  deadline: '30m',
  grace: '10s',
  maxTurns: 20,
  /** Larger messages are refused with 413: a chat message, not a document upload. */
  maxMessageBytes: 64 * 1024,
  /** Where the runner sees the folder follow-ups are written to (runc). */
  ipcMountPath: '/run/clawpod/ipc/input',
  /** Poll interval of followups: poll. */
  pollMs: 20,
  /** An interrupted message is tried this many times in all before it is marked failed. */
  maxAttempts: 2,
  budgetPeriod: '1d',
  /** spec.gateway.maxRequestBody: a larger request body is answered 413 (a model call, not a file upload). */
  gatewayMaxRequestBody: '10Mi',
  /** Where session containers see the gateway's socket folder. */
  gatewayMountPath: '/run/clawpod/gateway',
  /** Front proxy: NAME.proxyDomain reaches agent NAME (*.localhost resolves to loopback in browsers and curl). */
  proxyDomain: 'localhost',
  /** A request held for a waking agent longer than this gets 503 with Retry-After. */
  wakeTimeout: '20s',
  /** How often idle tiers and ttls are checked. */
  lifecycleInterval: '5s',
  /** The warning event comes this long before a ttl destroys an agent. */
  ttlWarning: '10m',
  /** spec.tracing.serviceName: the OpenTelemetry service of the control plane's (and the CLI's) spans. */
  tracingServiceName: 'clawpod',
});

/** Label keys on every object clawpod creates; they are how clawpod finds (and reaps) its own. */
export const LABELS = Object.freeze({
  managed: 'dev.clawpod.managed',
  agent: 'dev.clawpod.agent',
  instance: 'dev.clawpod.instance',
  index: 'dev.clawpod.instance-index',
  spec: 'dev.clawpod.spec',
  expiresAt: 'dev.clawpod.expires-at',
  role: 'dev.clawpod.role',
  /** The workspace/state volume, when it is not clawpod-INSTANCE-workspace (kept from a claimed warm-pool member). */
  volume: 'dev.clawpod.volume',
  /** A warm-pool member's pool and the hash of the spec it was made from (display: its record is what counts). */
  pool: 'dev.clawpod.pool',
  poolSpec: 'dev.clawpod.pool-spec',
  /** Which control plane (a hash of its data folder) owns a session container. */
  control: 'dev.clawpod.control',
  session: 'dev.clawpod.session',
  group: 'dev.clawpod.group',
});

/** Label prefixes users may not set: they belong to clawpod. */
export const RESERVED_LABEL_PREFIXES = ['dev.clawpod.', 'clawpod.dev/'] as const;

/** Chat channels, memory and schedules (docs/channels.md). */
export const CHANNEL_DEFAULTS = Object.freeze({
  /** Per chat: this many messages within `ratePer`; more get a polite answer. */
  rateMessages: 20,
  ratePer: '1m',
  /** An answer is edited into its chat message at most this often (Telegram allows about one edit a second per chat). */
  editIntervalMs: 1000,
  /** "typing…" is sent again this often while the agent works (Telegram shows it for 5 s). */
  typingIntervalMs: 4000,
  /** Files a chat sends: larger ones are refused with a polite answer. */
  maxFileBytes: 10 * 1024 * 1024,
  /** Earlier conversation handed to a new session, in estimated tokens (4 characters each). */
  memoryBudgetTokens: 4000,
});
