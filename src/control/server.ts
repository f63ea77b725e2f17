// `clawpod serve`: wires store, runtime, daemon and API together and runs until a signal.
// It leaves dataDir/control/{token,serve.json} so send/chat find it without flags.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { API_VERSION } from '../spec/defaults.js';
import { loadAgents } from '../spec/load.js';
import { AgentSchema } from '../spec/schema.js';
import type { LoadedAgent } from '../spec/parse.js';
import { buildApi } from './api.js';
import type { LoadedControlPlane } from './config.js';
import { Daemon } from './daemon.js';
import { Store } from './store.js';

export function controlDir(config: Config): string {
  return join(config.dataDir, 'control');
}

/** The token every API call needs; made once (0600) and kept, so clients keep working across restarts. */
export function ensureToken(dir: string): string {
  const file = join(dir, 'token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The reference runner in the clawpod agent image; network bridge so it reaches its provider. */
export function defaultSessionAgent(): LoadedAgent {
  const agent = AgentSchema.parse({
    apiVersion: API_VERSION, kind: 'Agent', metadata: { name: 'session' },
    spec: { command: ['clawpod-agent'], network: 'bridge' },
  });
  return { agent, file: '<built-in session agent>', dir: process.cwd() };
}

export interface Running { readonly daemon: Daemon; readonly url: string; readonly server: ServerType; stop(): Promise<void> }

export async function startControlPlane(config: Config, rt: Runtime, loaded: LoadedControlPlane, say: (l: string) => void, listenOverride?: string): Promise<Running> {
  const spec = loaded.config.spec;
  let agent = defaultSessionAgent();
  if (spec.agent) {
    const agents = await loadAgents(resolve(loaded.dir, spec.agent), config.dataDir);
    if (agents.length !== 1) throw new ClawpodError('SPEC_INVALID', `spec.agent ${spec.agent} holds ${agents.length} agents`, { hint: 'point spec.agent at a file with one Agent' });
    agent = agents[0]!;
  }
  const dir = controlDir(config);
  const token = ensureToken(dir);
  const store = new Store(join(dir, 'state.db'));
  const daemon = new Daemon({ config, cp: loaded.config, cpDir: loaded.dir, rt, agent, store, say });
  await daemon.init();

  const listen = listenOverride ?? spec.listen;
  const at = listen.lastIndexOf(':');
  const hostname = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  const app = buildApi(daemon, store, token);
  const server = await new Promise<ServerType>((res, rej) => {
    const s = serve({ fetch: app.fetch, hostname, port }, () => res(s));
    s.once('error', (e: NodeJS.ErrnoException) => rej(e.code === 'EADDRINUSE'
      ? new ClawpodError('PORT_TAKEN', `${listen} is already in use`, { hint: 'stop the other `clawpod serve`, or pass --listen 127.0.0.1:OTHER_PORT' })
      : e));
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  writeFileSync(join(dir, 'serve.json'), `${JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  return {
    daemon, url, server,
    async stop() {
      await daemon.stop();
      // open event streams would hold close() forever
      const closed = new Promise<void>((res) => server.close(() => res()));
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      store.close();
      rmSync(join(dir, 'serve.json'), { force: true });
    },
  };
}
