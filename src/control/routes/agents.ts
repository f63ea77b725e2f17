// Acting on agents from the API (what `clawpod stop|start|rm|upgrade|logs` do on the command line),
// with the daemon's own runtime and config. Stopping, starting and reading logs are the agent's
// owner's (a scoped token sees its agents only, src/control/auth.ts seesAgent); removing and
// upgrading are an admin's. Each act is noted in the lifecycle's event log, so every open
// dashboard hears of it over GET /v1/stream.
import { createRoute, z } from '@hono/zod-openapi';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { ClawpodError, isClawpodError } from '../../errors.js';
import { loadTenant } from '../../fleet/store.js';
import { byName, visibleAgent } from '../../lifecycle/api.js';
import { findAgent } from '../../ops/find.js';
import { startAgent, removeAgent, stopAgent } from '../../ops/lifecycle.js';
import { learnAgentSecrets, redactingWriter } from '../../ops/redacted-output.js';
import { upgradeAgent } from '../../ops/upgrade.js';
import { launch } from '../../ops/start.js';
import { checkAgentName } from '../../spec/names.js';
import { parseAgents } from '../../spec/parse.js';
import type { ContainerDetails, Runtime } from '../../runtime/runtime.js';
import { unpauseIfPaused } from '../../runtime/facets.js';
import { describe, type Principal } from '../auth.js';
import type { Daemon } from '../daemon.js';
import { adminOnly, errors, json, NameParam, notFound, routes, type App } from './common.js';
import { pushSSE } from './push.js';

/** What acting on agents needs; without it (an API built with no engine) these routes answer 503. */
export interface AgentOps { readonly rt: Runtime; readonly config: Config }

/** The most log lines a caller may ask to be replayed. */
const MAX_TAIL = 10_000;
const tag = ['agents'];
const Done = z.object({ name: z.string(), state: z.enum(['running', 'stopped']) }).openapi('AgentAction');
const Upgraded = z.object({ name: z.string(), from: z.string(), to: z.string(), seconds: z.number(), unavailableSeconds: z.number(), url: z.string().nullable() }).openapi('Upgraded');
const Created = z.object({ name: z.string(), ports: z.array(z.string()), volume: z.string().nullable() }).openapi('CreatedAgent');
/** The largest spec text accepted (a spec is a few KiB). */
const MAX_SPEC = 256 * 1024;
const progress = 'Server-Sent Events with Accept: text/event-stream: `progress` {line} as it goes, then `done` (the result) or `failed` {code, message, hint}';

export function agentRoutes(daemon: Daemon, ops: AgentOps | undefined): App {
  const app = routes();
  const need = (): AgentOps => {
    if (!ops) throw new ClawpodError('RUNTIME_UNAVAILABLE', 'this control plane has no container runtime to act on agents with', { hint: 'start it with `clawpod serve`' });
    return ops;
  };
  // findAgent's miss lists every agent's name in its hint: a scoped caller gets the bare 404
  const container = async (p: Principal, name: string): Promise<ContainerDetails> => {
    try { return await findAgent(need().rt, name); } catch (e) {
      if (p.kind !== 'admin' && isClawpodError(e) && e.code === 'NOT_FOUND') throw notFound(`agent named ${name}`);
      throw e;
    }
  };
  const note = (name: string, type: string, p: Principal, data: object = {}) => daemon.lifecycle?.event(name, type, { by: describe(p), ...data });

  // what `clawpod run -d -f spec.yaml` does, for an admin: the spec's text is checked like a file's
  // (every problem with its path, value and fix), and nothing is left when the start fails
  app.openapi(createRoute({ middleware: [adminOnly('creating an agent')] as const, method: 'post', path: '/v1/agents', tags: tag, summary: 'Create and start an agent from an Agent spec (YAML), like `clawpod run -d -f` (admin)',
    request: { body: { content: { 'application/json': { schema: z.object({
      spec: z.string().min(1).max(MAX_SPEC).openapi({ description: 'one Agent document, YAML or JSON' }),
      name: z.string().max(253).optional().openapi({ description: 'instead of metadata.name (like --name)' }),
    }).openapi('NewAgent') } }, required: true } },
    responses: { 201: json(Created, 'created and started'), ...errors(400, 403, 404, 409, 503, 504) } }), async (c) => {
    const b = c.req.valid('json');
    if (b.name !== undefined) checkAgentName(b.name, 'body.name');
    const loaded = parseAgents(b.spec, 'the spec of POST /v1/agents');
    if (loaded.length !== 1) throw new ClawpodError('USAGE', `the spec holds ${loaded.length} agents`, { hint: 'send one Agent document' });
    const { rt, config } = need();
    // relative paths in a spec sent over the API resolve in an empty folder, never in the daemon's
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-api-spec-'));
    try {
      const l = { ...loaded[0]!, dir };
      const opts = { ...(b.name ? { name: b.name } : {}), say: () => undefined };
      // claimed from the spec's warm pool when one is ready (src/ops/start.ts), like `clawpod run -d`
      const r = (await launch(rt, config, l, opts)).run;
      note(r.name, 'created_by_api', c.get('principal'));
      return c.json({ name: r.name, ports: r.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}`), volume: r.volume ?? null }, 201);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/agents/{name}/stop', tags: tag, summary: 'Stop an agent\'s container (its volume stays)',
    request: { params: NameParam }, responses: { 200: json(Done, 'stopped'), ...errors(400, 404, 503) } }), async (c) => {
    const p = c.get('principal');
    const name = visibleAgent(p, c.req.valid('param').name);
    const d = await container(p, name);
    // a frozen container cannot take the stop signal until it is thawed
    await unpauseIfPaused(need().rt, d);
    await stopAgent(need().rt, name);
    note(name, 'stopped_by_api', p);
    return c.json({ name, state: 'stopped' as const }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/agents/{name}/start', tags: tag, summary: 'Start a stopped agent (mounts re-checked, secrets delivered again)',
    request: { params: NameParam }, responses: { 200: json(Done, 'started'), ...errors(400, 403, 404, 503) } }), async (c) => {
    const p = c.get('principal');
    const name = visibleAgent(p, c.req.valid('param').name);
    await container(p, name);
    await startAgent(need().rt, need().config, name);
    // a start is activity: the idle clock begins again, or a stop tier would take it straight back
    daemon.lifecycle?.touch(name);
    note(name, 'started_by_api', p);
    return c.json({ name, state: 'running' as const }, 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('removing an agent')] as const, method: 'delete', path: '/v1/agents/{name}', tags: tag, summary: 'Remove an agent, running or not; its volume too with ?volumes=1 (admin)',
    request: { params: NameParam, query: z.object({ volumes: z.enum(['0', '1']).optional() }) },
    responses: { 200: json(z.object({ name: z.string(), volumeRemoved: z.string().nullable(), volumeKept: z.string().nullable() }), 'removed'), ...errors(400, 403, 404, 409, 503) } }), async (c) => {
    const name = visibleAgent(c.get('principal'), c.req.valid('param').name);
    const r = await removeAgent(need().rt, need().config, name, { force: true, volumes: c.req.valid('query').volumes === '1' });
    note(name, 'removed_by_api', c.get('principal'), { volumeRemoved: r.volumeRemoved ?? null });
    return c.json({ name, volumeRemoved: r.volumeRemoved ?? null, volumeKept: r.volumeKept ?? null }, 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('upgrading an agent')] as const, method: 'post', path: '/v1/agents/{name}/upgrade', tags: tag, summary: 'Move a service agent to a new version or image, health-gated, rolled back if unhealthy (admin)',
    request: { params: NameParam, body: { content: { 'application/json': { schema: z.object({ version: z.string().max(100).optional(), image: z.string().max(300).optional() }).openapi('Upgrade') } }, required: true } },
    responses: { 200: { description: `the result; ${progress}`, content: { 'application/json': { schema: Upgraded }, 'text/event-stream': { schema: z.string() } } }, ...errors(400, 403, 404, 409, 503, 504) } }), async (c) => {
    const name = visibleAgent(c.get('principal'), c.req.valid('param').name);
    const { rt, config } = need();
    const tenant = byName(name).tenant;
    // a tenant's agent runs on its own network with its plan's volumes: only the fleet upgrade knows them
    if (tenant && loadTenant(config, tenant)) throw new ClawpodError('USAGE', `${name} is tenant ${tenant}'s agent`, { hint: `upgrade tenants with \`clawpod fleet upgrade --version V\` (gated, canaried, resumable)` });
    await findAgent(rt, name);
    const b = c.req.valid('json');
    const run = (say: (line: string) => void) => upgradeAgent(rt, config, name, { ...(b.version ? { version: b.version } : {}), ...(b.image ? { image: b.image } : {}), say });
    const view = (r: Awaited<ReturnType<typeof run>>) => ({ name: r.name, from: r.from, to: r.to, seconds: r.seconds, unavailableSeconds: r.unavailableSeconds, url: r.url ?? null });
    const by = c.get('principal');
    if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
      const r = await run(() => undefined);
      note(name, 'upgraded_by_api', by, { to: r.to });
      return c.json(view(r), 200);
    }
    // the upgrade goes on if the client leaves: stopping half-way would leave NAME-previous behind
    return pushSSE(c, async (push) => {
      const r = await run((line) => push.send('progress', { line }));
      note(name, 'upgraded_by_api', by, { to: r.to });
      push.send('done', view(r));
      push.end();
    }) as never;
  });

  app.openapi(createRoute({ method: 'get', path: '/v1/agents/{name}/logs', tags: tag, summary: 'The agent\'s container logs, secrets redacted; ?follow=1 keeps streaming',
    request: { params: NameParam, query: z.object({ follow: z.enum(['0', '1']).optional(), tail: z.string().regex(/^\d+$/).optional().openapi({ description: `the last N lines only (≤ ${MAX_TAIL})` }) }) },
    responses: { 200: { description: 'Server-Sent Events: `stdout` / `stderr` {text} (whole lines), then `end` when the container stops or the log is read', content: { 'text/event-stream': { schema: z.string() } } }, ...errors(400, 404, 503) } }), async (c) => {
    const p = c.get('principal');
    const name = visibleAgent(p, c.req.valid('param').name);
    const d = await container(p, name);
    const { rt, config } = need();
    // the values clawpod gave this agent, so a log line that prints one is caught
    await learnAgentSecrets(config, d);
    const q = c.req.valid('query');
    const tail = q.tail === undefined ? MAX_TAIL : Math.min(Number(q.tail), MAX_TAIL);
    return pushSSE(c, async (push) => {
      const w = redactingWriter({ stdout: { write: (text) => push.send('stdout', { text }) }, stderr: { write: (text) => push.send('stderr', { text }) } });
      for await (const chunk of rt.logs(d.id, { follow: q.follow === '1', tail, signal: push.signal })) w.write(chunk);
      w.flush();
      push.send('end', {});
      push.end();
    }) as never;
  });

  return app;
}
