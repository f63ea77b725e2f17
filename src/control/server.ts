// `clawpod serve`: wires store, runtime, daemon and API together and runs until a signal.
// It leaves dataDir/control/{token,serve.json} so send/chat find it without flags.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from '../config.js';
import { ClawpodError, messageOf } from '../errors.js';
import { hasRenaming, type Runtime } from '../runtime/runtime.js';
import { API_VERSION } from '../spec/defaults.js';
import { validatedBytes } from '../spec/quantity.js';
import { loadAgents } from '../spec/load.js';
import { AgentSchema } from '../spec/schema.js';
import type { LoadedAgent } from '../spec/parse.js';
import { buildApi, sandboxesOf } from './api.js';
import { ApiTokens } from './auth.js';
import { withMcp } from './mcp-endpoint.js';
import { NestedSandboxes } from './nested.js';
import type { App } from './routes/common.js';
import { mountDashboard } from './dashboard/serve.js';
import { modelInfos } from './routes/models.js';
import type { LoadedControlPlane } from './config.js';
import { Daemon } from './daemon.js';
import { prepareChannels } from '../channels/serve.js';
import { PoolKeeper } from './pools.js';
import { Scheduler } from './schedules.js';
import { Store } from './store.js';
import { createGateway, type Gateway, type GatewayDeps } from './gateway/gateway.js';
import { redactor } from '../secrets/redact.js';
import { resolveRef } from '../secrets/resolve.js';
import { GroupPolicy } from './policy.js';
import { lifecycleParts } from '../lifecycle/serve.js';
import type { Lifecycle } from '../lifecycle/manager.js';
import { Metrics, type AgentCounts } from './metrics.js';
import { tracingSettings } from '../otel/settings.js';
import type { MessageTracing } from './tracing.js';

/**
 * Agents by state for a scrape, from the lifecycle's listing (which asks the engine): kept 5 s, so
 * Prometheus scraping often does not list containers each time.
 */
function agentCounts(lifecycle: () => Lifecycle | undefined): () => Promise<AgentCounts> {
  let last: { at: number; counts: Promise<AgentCounts> } | undefined;
  return () => {
    const life = lifecycle();
    if (!life) return Promise.resolve({});
    if (last && Date.now() - last.at < 5000) return last.counts;
    const counts = life.status().then((all) => {
      const out: Record<string, number> = {};
      for (const a of all) out[a.state] = (out[a.state] ?? 0) + 1;
      return out as AgentCounts;
    });
    last = { at: Date.now(), counts };
    counts.catch(() => { last = undefined; });
    return counts;
  };
}

export function controlDir(config: Config): string {
  return join(config.dataDir, 'control');
}

/** The token every API call needs; made once (0600) and kept, so clients keep working across restarts. `created`: made just now. */
export function ensureToken(dir: string): { token: string; created: boolean } {
  const file = join(dir, 'token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

/** The reference runner in the clawpod agent image. No network: it reaches its model through the gateway's socket. */
export function defaultSessionAgent(): LoadedAgent {
  const agent = AgentSchema.parse({
    apiVersion: API_VERSION, kind: 'Agent', metadata: { name: 'session' },
    spec: { command: ['clawpod-agent'] },
  });
  return { agent, file: '<built-in session agent>', dir: process.cwd() };
}

function hostPort(listen: string): { hostname: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { hostname: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1)) };
}

/** The LLM gateway on a unix socket that session containers get mounted (they need no network). */
async function startGateway(config: Config, loaded: LoadedControlPlane, store: Store, policy: GroupPolicy, dir: string, say: (l: string) => void, hooks: Pick<GatewayDeps, 'onCall' | 'onExhausted' | 'onFinished' | 'traceCall'>, onSocket: (gateway: RequestListener) => RequestListener): Promise<{ server: Server; gateway: Gateway; tcp?: Server }> {
  const spec = loaded.config.spec;
  const keys = new Map<string, { at: number; value: Promise<string | undefined> }>();
  // resolved again after a minute, so a rotated key is picked up without a restart
  const providerKey = (name: string): Promise<string | undefined> => {
    const hit = keys.get(name);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const m = spec.models[name];
    const value = m?.apiKey ? resolveRef(m.apiKey.source, m.apiKey.secretRef, `spec.models.${name}.apiKey`, { specDir: loaded.dir, config }) : Promise.resolve(undefined);
    keys.set(name, { at: Date.now(), value });
    value.catch(() => keys.delete(name));
    return value;
  };
  const gateway = createGateway({
    store,
    allowedModels: (group) => policy.allowedModels(group),
    budget: (group) => policy.budget(group),
    periodMs: (group) => policy.periodMsOf(group),
    providerKey,
    redact: (text) => redactor.redact(text),
    maxBodyBytes: validatedBytes(spec.gateway.maxRequestBody),
    ...hooks,
  });
  // read every provider key now: a missing one is reported at start (and its value is known to
  // the redactor before any event could carry it), not at a user's first message
  for (const name of Object.keys(spec.models)) {
    await providerKey(name).catch((e: unknown) => say(`warning: ${redactor.redact(messageOf(e))}; calls to model ${name} will fail until this is fixed`));
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const sock = join(dir, 'llm.sock');
  rmSync(sock, { force: true });
  const server = createServer(onSocket(gateway.handler));
  await new Promise<void>((res, rej) => server.once('error', rej).listen(sock, () => res()));
  // the agent's uid must be able to connect; the token is what protects it
  chmodSync(sock, 0o666);
  let tcp: Server | undefined;
  if (spec.gateway.listen) {
    const { hostname, port } = hostPort(spec.gateway.listen);
    tcp = createServer(gateway.handler);
    await new Promise<void>((res, rej) => tcp!.once('error', (e: NodeJS.ErrnoException) => rej(new ClawpodError('PORT_TAKEN', `spec.gateway.listen ${spec.gateway.listen}: ${e.code ?? messageOf(e)}`, { hint: 'pick a free port; 0.0.0.0:PORT lets containers reach it as host.containers.internal (tokens guard it)' }))).listen(port, hostname, () => res()));
    const a = tcp.address() as AddressInfo;
    say(`LLM gateway also on http://${a.address}:${a.port} (OpenAI: /v1, Anthropic: /, Gemini: /)`);
  }
  return { server, gateway, ...(tcp ? { tcp } : {}) };
}

/** Spans of messages, sessions and model calls when tracing is on (docs/tracing.md); the SDK is loaded only then. */
async function startMessageTracing(config: Config, spec: LoadedControlPlane['config']['spec']['tracing'], say: (l: string) => void): Promise<MessageTracing | undefined> {
  const settings = tracingSettings(config.otel, spec);
  if (!settings) return undefined;
  const [{ startTracing }, { MessageTracing }] = await Promise.all([import('../otel/provider.js'), import('./tracing.js')]);
  say(`traces: OTLP/HTTP to ${settings.url}, service ${settings.serviceName} (from ${settings.from})`);
  return new MessageTracing(startTracing(settings, say));
}

export interface Running {
  readonly daemon: Daemon; readonly url: string; readonly server: ServerType;
  /** Scheduled prompts; set its onRun to hear of each run's message. */
  readonly scheduler: Scheduler;
  /** The admin token when this start made it (the first): shown once, for the dashboard's login. */
  readonly newToken: string | undefined;
  stop(): Promise<void>;
}

export async function startControlPlane(config: Config, rt: Runtime, loaded: LoadedControlPlane, say: (l: string) => void, listenOverride?: string): Promise<Running> {
  const spec = loaded.config.spec;
  let agent = defaultSessionAgent();
  if (spec.agent) {
    const agents = await loadAgents(resolve(loaded.dir, spec.agent), config.dataDir);
    if (agents.length !== 1) throw new ClawpodError('SPEC_INVALID', `spec.agent ${spec.agent} holds ${agents.length} agents`, { hint: 'point spec.agent at a file with one Agent' });
    agent = agents[0]!;
  }
  // before anything is opened: a channel secret that cannot be resolved (a missing bot token) or a
  // tracing setting that cannot work stops the start here, with nothing left listening
  const channelsReady = await prepareChannels({ config, cp: loaded.config, cpDir: loaded.dir, say });
  const tracing = await startMessageTracing(config, spec.tracing, say);
  const dir = controlDir(config);
  const { token, created } = ensureToken(dir);
  const store = new Store(join(dir, 'state.db'));
  const gatewayDir = join(dir, 'gateway');
  const gatewayUrl = spec.runtime.kind === 'kubernetes' ? spec.runtime.gatewayUrl : undefined;
  let daemon: Daemon | undefined;
  const metrics = new Metrics({ sources: {
    agents: agentCounts(() => daemon?.lifecycle),
    queueDepth: () => store.queued().length,
    sessionsActive: () => daemon?.running ?? 0,
  } });
  const apiTokens = new ApiTokens(store, token);
  let app: App | undefined;
  const nested = new NestedSandboxes(loaded.config, store, apiTokens, agent.agent.spec.resources, (owner) => sandboxes.killOwned(owner), say);
  daemon = new Daemon({ config, cp: loaded.config, cpDir: loaded.dir, rt, agent, store, gatewayDir, ...(gatewayUrl ? { gatewayUrl } : {}), say, metrics, ...(tracing ? { tracing } : {}), nested });
  const sandboxes = sandboxesOf(daemon, store, { rt, config });
  const life = lifecycleParts({ config, rt, cp: loaded.config, store, daemon, say });
  daemon.lifecycle = life.lifecycle;
  const gw = await startGateway(config, loaded, store, daemon.groups.policy, gatewayDir, say, {
    onCall: life.gatewayHooks.onCall,
    onExhausted: (group, info) => { metrics.budgetExhausted(group); return life.gatewayHooks.onExhausted(group, info); },
    onFinished: (f) => metrics.gatewayCall({ group: f.group, model: f.model ?? 'none', status: f.status, inputTokens: f.input, outputTokens: f.output }),
    ...(tracing ? { traceCall: (c) => tracing.llmCall(c) } : {}),
  }, (gateway) => withMcp(gateway, apiTokens, () => app));
  if (gw.tcp) { const a = gw.tcp.address() as AddressInfo; daemon.groups.gatewayListen = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`; }
  await daemon.init();
  const chats = channelsReady.attach(daemon, store);
  const scheduler = new Scheduler({ store, daemon, specs: spec.schedules, say, onRun: (messageId, group) => chats.router.announce(messageId, group) });
  scheduler.start();

  const listen = listenOverride ?? spec.listen;
  const { hostname, port } = hostPort(listen);
  for (const line of await life.start()) say(line);
  // runtimes that rename only (local engines): a warm member is a running container claimed by renaming it
  const pools = !hasRenaming(rt) ? undefined : new PoolKeeper({ config, rt, pools: spec.pools, dir: loaded.dir, say, event: (pool, type, data) => life.lifecycle.event(pool, type, data) });
  if (spec.pools.length && !pools) say('spec.pools: warm pools are kept on a local runtime only; ignored with runtime kubernetes');
  const api = buildApi(daemon, store, token, { metrics, agents: { rt, config }, models: modelInfos(spec.models), sandboxes, schedules: scheduler, channels: chats });
  app = api;
  const missing = mountDashboard(api);
  if (missing) say(missing);
  const server = await new Promise<ServerType>((res, rej) => {
    const s = serve({ fetch: api.fetch, hostname, port }, () => res(s));
    s.once('error', (e: NodeJS.ErrnoException) => rej(e.code === 'EADDRINUSE'
      ? new ClawpodError('PORT_TAKEN', `${listen} is already in use`, { hint: 'stop the other `clawpod serve`, or pass --listen 127.0.0.1:OTHER_PORT' })
      : e));
  });
  // Clients (undici's fetch) keep idle connections 4 s; Node's server closes them after 5 s. On a
  // loaded machine a client's timer runs late, reuses a connection the server is just closing, and
  // its POST fails with "other side closed" (seen in the SSH sandbox test). The server now waits longer.
  (server as Server).keepAliveTimeout = 65_000;
  (server as Server).headersTimeout = 66_000;
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  writeFileSync(join(dir, 'serve.json'), `${JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  // once serving: a daemon that could not listen has started no member
  pools?.start();
  // once serving: a platform told to post to our webhook finds it answering
  await chats.router.start();
  return {
    daemon, scheduler, url, server, newToken: created ? token : undefined,
    async stop() {
      await chats.router.stop();
      scheduler.stop();
      await pools?.stop();
      await life.stop();
      await daemon.stop();
      // the sessions' nested sandboxes go before the store they are recorded in closes
      await nested.settled();
      // open event streams would hold close() forever
      const closed = new Promise<void>((res) => server.close(() => res()));
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      gw.gateway.close();
      for (const s of [gw.server, gw.tcp]) {
        if (!s) continue;
        s.closeAllConnections();
        await new Promise<void>((res) => s.close(() => res()));
      }
      store.close();
      // last: the spans of everything above are exported before the process goes
      await tracing?.shutdown();
      rmSync(join(dir, 'serve.json'), { force: true });
    },
  };
}
