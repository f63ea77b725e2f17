// The sandbox API (docs/sandbox-api.md): create, exec (streamed), files, logs, stop, kill. An admin
// token drives every sandbox; a sandbox:OWNER token its owner's, within its limits (src/sandbox);
// group and tenant tokens none (403 before the request is read).
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ClawpodError } from '../../errors.js';
import { requireFacet } from '../../runtime/facets.js';
import { learnAgentSecrets, redactingWriter } from '../../ops/redacted-output.js';
import { redactor } from '../../secrets/redact.js';
import { checkExec, execIn } from '../../sandbox/exec.js';
import { checkMode, listIn, MAX_FILE_BYTES, readIn, removeIn, sandboxPath, writeIn } from '../../sandbox/files.js';
import type { Caller, Sandboxes } from '../../sandbox/sandboxes.js';
import { describe, type Principal } from '../auth.js';
import { errors, IdParam, json, routes, type ApiEnv, type App } from './common.js';
import { pushSSE } from './push.js';

const tag = ['sandboxes'];
const MAX_SPEC = 256 * 1024;
const MAX_TAIL = 10_000;
/** What a JSON (not streamed) exec answer keeps of each stream. */
const MAX_KEPT = 16 * 2 ** 20;

const Sandbox = z.object({
  id: z.string(), name: z.string(), state: z.string().openapi({ example: 'running' }), image: z.string(),
  owner: z.string().nullable().openapi({ description: 'the sandbox:OWNER scope that made it; null: an admin token' }),
  createdAt: z.string(), claimedFrom: z.string().optional().openapi({ description: 'the warm pool it was claimed from; absent: started cold' }),
  limits: z.object({ cpus: z.number(), memoryBytes: z.number(), pids: z.number() }).optional(),
}).openapi('Sandbox');
const ExecBody = z.object({
  cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]).openapi({ description: 'a string runs under `sh -c`; an array is the argv' }),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  timeoutMs: z.number().int().positive().optional().openapi({ description: 'the command\'s whole session is SIGKILLed after this long (default 600000)' }),
  stdin: z.string().max(MAX_FILE_BYTES).optional(),
}).openapi('SandboxExec');
const ExecResult = z.object({ stdout: z.string(), stderr: z.string(), exitCode: z.number().int(), timedOut: z.boolean(), durationMs: z.number() }).openapi('SandboxExecResult');
const FileInfo = z.object({ name: z.string(), path: z.string(), type: z.enum(['file', 'dir', 'link', 'other']), size: z.number(), mode: z.number(), mtime: z.string() }).openapi('SandboxFile');
const PathQuery = z.object({ path: z.string().min(1).max(4096) });
const Bool = z.enum(['true', 'false', '1', '0']).optional();
const yes = (v: string | undefined) => v === 'true' || v === '1';
const bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } });
const NoContent = { description: 'done' };

/** Route middleware: an admin or a sandbox token goes on, before the request's input is read. */
const sandboxScope: MiddlewareHandler<ApiEnv> = async (c, next) => { callerOf(c.get('principal')); await next(); };

function callerOf(p: Principal): Caller {
  if (p.kind === 'admin') return {};
  if (p.kind === 'sandbox') return { owner: p.owner, limits: p.limits };
  throw new ClawpodError('FORBIDDEN', `sandboxes need an admin or a sandbox:OWNER token; this one is scoped to ${describe(p)}`, { hint: 'make one with `clawpod token create --scope sandbox:OWNER`' });
}

/** A body over `max` bytes is refused as it arrives, not after it was read. */
const limit = (max: number, what: string) => bodyLimit({ maxSize: max, onError: () => { throw new ClawpodError('TOO_LARGE', `${what} is larger than ${max} bytes`, { hint: 'send it in parts (a file: write parts, then join them with exec cat)' }); } });

export function sandboxRoutes(sandboxes: Sandboxes | undefined): App {
  const app = routes();
  const sb = (): Sandboxes => {
    if (!sandboxes) throw new ClawpodError('RUNTIME_UNAVAILABLE', 'this control plane has no container runtime for sandboxes', { hint: 'start it with `clawpod serve`' });
    return sandboxes;
  };
  const who = (c: { get(k: 'principal'): Principal }) => callerOf(c.get('principal'));

  app.openapi(createRoute({ middleware: [sandboxScope, limit(MAX_SPEC + 4096, 'the request')] as const, method: 'post', path: '/v1/sandboxes', tags: tag, summary: 'Create and start a sandbox from an Agent spec or a profile, optionally claimed from a warm pool',
    request: { body: { content: { 'application/json': { schema: z.object({
      spec: z.string().min(1).max(MAX_SPEC).optional().openapi({ description: 'one Agent document, YAML or JSON' }),
      profile: z.string().min(1).max(63).optional().openapi({ example: 'reference' }),
      pool: z.string().min(1).max(63).optional().openapi({ description: 'claim a running member of this warm pool; cold when none fits' }),
      name: z.string().min(1).max(63).optional(),
    }).openapi('NewSandbox') } }, required: true } },
    responses: { 201: json(Sandbox, 'created and running'), ...errors(400, 403, 404, 409, 413, 503) } }), async (c) => {
    const v = await sb().create(who(c), c.req.valid('json'));
    return c.json(v, 201);
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'get', path: '/v1/sandboxes', tags: tag, summary: 'The sandboxes this token sees',
    responses: { 200: json(z.object({ items: z.array(Sandbox) }), 'sandboxes'), ...errors(403, 503) } }), async (c) => {
    return c.json({ items: await sb().list(who(c)) }, 200);
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'get', path: '/v1/sandboxes/{id}', tags: tag, summary: 'One sandbox',
    request: { params: IdParam }, responses: { 200: json(Sandbox, 'the sandbox'), ...errors(403, 404, 503) } }), async (c) => {
    return c.json(await sb().describe(who(c), c.req.valid('param').id), 200);
  });

  app.openapi(createRoute({ middleware: [sandboxScope, limit(MAX_FILE_BYTES + 64 * 1024, 'the request')] as const, method: 'post', path: '/v1/sandboxes/{id}/exec', tags: tag, summary: 'Run a command; with Accept: text/event-stream its output streams as it comes',
    request: { params: IdParam, body: { content: { 'application/json': { schema: ExecBody } }, required: true } },
    responses: { 200: { description: 'JSON: the whole result. Server-Sent Events: `stdout` / `stderr` {data}, then `exit` {exitCode, timedOut, durationMs}', content: { 'application/json': { schema: ExecResult }, 'text/event-stream': { schema: z.string() } } }, ...errors(400, 403, 404, 413, 503) } }), async (c) => {
    const body = c.req.valid('json');
    checkExec(body);
    const d = await sb().running(who(c), c.req.valid('param').id, 'exec');
    const { rt } = sb();
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) {
      return pushSSE(c, async (push) => {
        const r = await execIn(rt, d.id, body, (stream, data) => push.send(stream, { data }), push.signal);
        push.send('exit', r);
        push.end();
      }) as never;
    }
    const kept = { stdout: '', stderr: '' };
    const r = await execIn(rt, d.id, body, (stream, text) => { if (kept[stream].length < MAX_KEPT) kept[stream] += text.slice(0, MAX_KEPT - kept[stream].length); }, c.req.raw.signal);
    return c.json({ stdout: redactor.redact(kept.stdout), stderr: redactor.redact(kept.stderr), ...r }, 200);
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'get', path: '/v1/sandboxes/{id}/files', tags: tag, summary: 'A file\'s bytes (a stopped sandbox\'s too)',
    request: { params: IdParam, query: PathQuery }, responses: { 200: bytes('the file'), ...errors(400, 403, 404, 413, 503) } }), async (c) => {
    const id = c.req.valid('param').id;
    const { d } = await sb().get(who(c), id);
    const path = sandboxPath(c.req.valid('query').path);
    const data = await readIn(requireFacet(sb().rt, 'archives', `reading ${path} of sandbox ${id}`), d.id, id, path);
    return c.body(new Uint8Array(data), 200, { 'content-type': 'application/octet-stream' }) as never;
  });

  app.openapi(createRoute({ middleware: [sandboxScope, limit(MAX_FILE_BYTES, 'the file')] as const, method: 'put', path: '/v1/sandboxes/{id}/files', tags: tag, summary: `Write a file (replaced; its folders made), as the sandbox's user; at most ${MAX_FILE_BYTES} bytes`,
    request: { params: IdParam, query: PathQuery.extend({ mode: z.string().optional().openapi({ example: '0644' }) }), body: { ...bytes('the file\'s bytes'), required: true } },
    responses: { 204: NoContent, ...errors(400, 403, 404, 413, 503) } }), async (c) => {
    const id = c.req.valid('param').id;
    const q = c.req.valid('query');
    const path = sandboxPath(q.path);
    const mode = checkMode(q.mode);
    const d = await sb().running(who(c), id, 'writing a file');
    await writeIn(sb().rt, d.id, id, path, Buffer.from(await c.req.arrayBuffer()), mode);
    return c.body(null, 204) as never;
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'get', path: '/v1/sandboxes/{id}/files/list', tags: tag, summary: 'A folder\'s entries (one level)',
    request: { params: IdParam, query: PathQuery }, responses: { 200: json(z.object({ items: z.array(FileInfo) }), 'the entries'), ...errors(400, 403, 404, 413, 503) } }), async (c) => {
    const id = c.req.valid('param').id;
    const { d } = await sb().get(who(c), id);
    const path = sandboxPath(c.req.valid('query').path);
    return c.json({ items: await listIn(requireFacet(sb().rt, 'archives', `listing ${path} of sandbox ${id}`), d.id, id, path) }, 200);
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'delete', path: '/v1/sandboxes/{id}/files', tags: tag, summary: 'Remove a file, or a folder with recursive=true',
    request: { params: IdParam, query: PathQuery.extend({ recursive: Bool }) }, responses: { 204: NoContent, ...errors(400, 403, 404, 503) } }), async (c) => {
    const id = c.req.valid('param').id;
    const q = c.req.valid('query');
    const path = sandboxPath(q.path);
    const d = await sb().running(who(c), id, 'removing a file');
    await removeIn(sb().rt, d.id, id, path, yes(q.recursive));
    return c.body(null, 204) as never;
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'get', path: '/v1/sandboxes/{id}/logs', tags: tag, summary: 'What the sandbox\'s PID 1 wrote, secrets redacted; follow=true streams',
    request: { params: IdParam, query: z.object({ tail: z.string().regex(/^\d+$/).optional().openapi({ description: `the last N lines only (≤ ${MAX_TAIL})` }), follow: Bool }) },
    responses: { 200: { description: 'text/plain; with follow, Server-Sent Events `log` {stream, data} (whole lines), then `end`', content: { 'text/plain': { schema: z.string() }, 'text/event-stream': { schema: z.string() } } }, ...errors(400, 403, 404, 503) } }), async (c) => {
    const id = c.req.valid('param').id;
    const { d } = await sb().get(who(c), id);
    const q = c.req.valid('query');
    const { rt, config } = sb();
    await learnAgentSecrets(config, d);
    const tail = q.tail === undefined ? MAX_TAIL : Math.min(Number(q.tail), MAX_TAIL);
    if (yes(q.follow)) {
      return pushSSE(c, async (push) => {
        const w = redactingWriter({ stdout: { write: (data) => push.send('log', { stream: 'stdout', data }) }, stderr: { write: (data) => push.send('log', { stream: 'stderr', data }) } });
        for await (const chunk of rt.logs(d.id, { follow: true, tail, signal: push.signal })) w.write(chunk);
        w.flush();
        push.send('end', {});
        push.end();
      }) as never;
    }
    let text = '';
    const w = redactingWriter({ stdout: { write: (t) => (text += t) }, stderr: { write: (t) => (text += t) } });
    for await (const chunk of rt.logs(d.id, { tail })) w.write(chunk);
    w.flush();
    return c.text(text, 200) as never;
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'post', path: '/v1/sandboxes/{id}/stop', tags: tag, summary: 'Stop a sandbox and keep it (its files can still be read)',
    request: { params: IdParam }, responses: { 200: json(Sandbox, 'stopped'), ...errors(403, 404, 503) } }), async (c) => {
    return c.json(await sb().stop(who(c), c.req.valid('param').id), 200);
  });

  app.openapi(createRoute({ middleware: [sandboxScope] as const, method: 'delete', path: '/v1/sandboxes/{id}', tags: tag, summary: 'Kill a sandbox: removed with the volumes it made',
    request: { params: IdParam }, responses: { 204: NoContent, ...errors(403, 404, 409, 503) } }), async (c) => {
    await sb().kill(who(c), c.req.valid('param').id);
    return c.body(null, 204) as never;
  });

  return app;
}
