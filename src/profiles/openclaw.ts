// OpenClaw (npm `openclaw`): its gateway on 18789, state in ~/.openclaw on a volume, openclaw.json
// rendered by clawpod, the gateway token generated per instance, and model calls through
// clawpod's LLM gateway as a custom provider — no provider key inside the container.
import type { Profile, RenderContext } from './types.js';

const PORT = 18789;
const HOME = '/home/agent';

const okTrue = (b: unknown) => typeof b === 'object' && b !== null && (b as { ok?: unknown }).ok === true;

/** The model provider OpenClaw sees: clawpod's gateway, with the instance's scoped token as its key. */
function provider(llm: NonNullable<RenderContext['llm']>): Record<string, unknown> {
  return {
    baseUrl: llm.baseUrl,
    api: llm.api === 'anthropic' ? 'anthropic-messages' : 'openai-completions',
    apiKey: { source: 'file', provider: 'clawpod-llm-token', id: 'value' },
    models: [{
      id: llm.model, name: llm.model, reasoning: false, input: ['text'],
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 200000, maxTokens: 8192,
    }],
  };
}

/**
 * Browser origins of the Control UI: the gateway port as published on this machine. OpenClaw allows
 * only its own port's loopback origins by default (18789), and sees a browser on a published port
 * as remote (the connection comes through the engine's forwarder), so any other host port is
 * refused with "origin not allowed" unless listed.
 */
function browserOrigins(published: RenderContext['published']): string[] {
  const out = new Set<string>();
  for (const p of published ?? []) {
    if (p.containerPort !== PORT) continue;
    const hosts = p.hostIP === '0.0.0.0' || p.hostIP === '127.0.0.1' ? ['127.0.0.1', 'localhost']
      : p.hostIP === '::' || p.hostIP === '::1' ? ['[::1]', 'localhost']
      : [p.hostIP.includes(':') ? `[${p.hostIP}]` : p.hostIP];
    for (const h of hosts) out.add(`http://${h}:${p.hostPort}`);
  }
  return [...out];
}

/**
 * spec.browser: OpenClaw's browser tool drives clawpod's sidecar as a remote CDP profile. attachOnly:
 * a loopback CDP URL without it is taken for a browser OpenClaw launches itself (docs.openclaw.ai,
 * tools/browser/remote), and this image has none to launch. No `color`: OpenClaw's start-up doctor
 * takes it for a legacy key on such a profile and rewrites openclaw.json without it at every start.
 * Its SSRF policy stays OpenClaw's default (private addresses refused): a user names the private
 * hosts it may open in spec.config.values.browser.ssrfPolicy (docs/browser.md).
 */
function sidecarBrowser(cdpUrl: string): Record<string, unknown> {
  return { enabled: true, attachOnly: true, defaultProfile: 'clawpod', profiles: { clawpod: { cdpUrl } } };
}

export const openclaw: Profile = {
  name: 'openclaw',
  summary: 'an OpenClaw gateway (npm openclaw), persistent, with its model behind clawpod\'s LLM gateway',
  defaultVersion: '2026.9.6',
  image: {
    dir: 'openclaw',
    nodeMajor: 24,
    tag: (v) => `localhost/clawpod-openclaw:${v}`,
    buildArgs: (v) => ({ OPENCLAW_VERSION: v }),
    contextFiles: () => [
      { to: 'tini', candidates: ['/usr/bin/tini-static', '/usr/local/bin/tini-static'], hint: 'install tini (Debian: apt-get install -y tini), which gives /usr/bin/tini-static', mode: 0o755 },
      { to: 'npm', candidates: [`${process.execPath.replace(/\/bin\/node$/, '')}/lib/node_modules/npm`, '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'], hint: 'install npm next to Node (it installs openclaw in the image when the base has none)' },
    ],
  },
  specDefaults: (v) => ({
    image: openclaw.image.tag(v),
    // tini is the entrypoint; this is its child
    command: ['/usr/local/bin/tini', '--', 'openclaw', 'gateway', 'run'],
    user: '1000:0',
    network: 'bridge',
    ports: [{ name: 'gateway', containerPort: PORT }],
    // state (~/.openclaw: config, sessions, workspace) lives on the instance's volume
    workspace: { mountPath: HOME, size: '5Gi' },
    resources: { cpu: '2', memory: '2Gi', pids: 1024 },
    env: [
      { name: 'OPENCLAW_STATE_DIR', value: `${HOME}/.openclaw` },
      // a failed start otherwise runs a "triage" model turn; clawpod reports failures itself
      { name: 'OPENCLAW_SUPERVISOR_MODE', value: 'external' },
    ],
  }),
  // gVisor 2022-12 (Debian 12's runsc) has no openat2: it returns ENOSYS, and OpenClaw's fs-safe
  // native helper creates its state lock files with openat2(RESOLVE_BENEATH), so the first-boot
  // migration's lock fails and is reported as "the Gateway or another SQLite maintenance command
  // owns this state directory". "off" is OpenClaw's documented setting for fs-safe's guarded
  // JavaScript paths (docs/gateway/security/secure-file-operations.md); its locks still hold (a
  // second gateway on the same state is refused under gVisor). docs/runtimes.md.
  tierEnv: { gvisor: [{ name: 'OPENCLAW_FS_SAFE_NATIVE_MODE', value: 'off' }] },
  portStep: 20,
  probes: {
    port: PORT,
    startup: { path: '/startupz', ok: okTrue },
    health: { path: '/healthz', ok: okTrue },
    // through a published port (not loopback) it answers a short {"ready":true}
    ready: { path: '/readyz', ok: (b) => okTrue(b) || (typeof b === 'object' && b !== null && (b as { ready?: unknown }).ready === true) },
  },
  startupBudget: '5m',
  config: {
    file: '.openclaw/openclaw.json',
    render: (ctx) => ({
      gateway: {
        ...(browserOrigins(ctx.published).length ? { controlUi: { allowedOrigins: browserOrigins(ctx.published) } } : {}),
        mode: 'local',
        port: PORT,
        bind: 'lan',
        auth: { mode: 'token', token: { source: 'file', provider: 'clawpod-gateway-token', id: 'value' } },
        http: { endpoints: { chatCompletions: { enabled: true } } },
      },
      // secret values stay in files clawpod mounts read-only; the config only names them
      secrets: {
        providers: {
          'clawpod-gateway-token': { source: 'file', path: `${ctx.secretsDir}/gateway-token`, mode: 'singleValue' },
          ...(ctx.llm ? { 'clawpod-llm-token': { source: 'file', path: ctx.llm.tokenFile, mode: 'singleValue' } } : {}),
        },
      },
      // no calls home at start (update check, model catalog): its model is the one clawpod wires
      update: { checkOnStart: false },
      models: { catalogRefresh: { enabled: false }, ...(ctx.llm ? { mode: 'merge', providers: { clawpod: provider(ctx.llm) } } : {}) },
      ...(ctx.llm ? {
        agents: { defaults: { model: { primary: `clawpod/${ctx.llm.model}` } } },
      } : {}),
      ...(ctx.browserCdpUrl ? { browser: sidecarBrowser(ctx.browserCdpUrl) } : {}),
    }),
  },
  bundleDir: '.openclaw/workspace',
  // the model provider, its base URL and key, and how the gateway authenticates: clawpod's to set
  forcedConfig: ['models', 'agents.defaults.model', 'gateway.auth', 'gateway.port', 'gateway.bind', 'gateway.mode', 'gateway.http', 'secrets', 'env', 'update'],
  service: true,
  egress: 'https',
  // the gateway watches openclaw.json: a warm-pool claim changes it in place (src/ops/pool.ts)
  hotReload: { applied: /config hot reload applied/, refused: /config reload skipped/ },
  // the Control UI reads its token from the URL fragment (never sent to a server, unlike ?token=)
  generatedSecrets: [{ name: 'gateway-token', vaultName: (i) => `openclaw-${i}-gateway-token`, label: 'gateway token', urlFragment: 'token' }],
};
