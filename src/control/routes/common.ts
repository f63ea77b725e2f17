// What every route module of the control plane's API shares: the app type (with the caller's
// Principal), the error body, and helpers to declare JSON answers in the OpenAPI document that
// src/control/api.ts serves at /v1/openapi.json — generated from the same zod schemas the
// routes validate their input with.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ClawpodError } from '../../errors.js';
import { requireAdmin, type Principal } from '../auth.js';

export type ApiEnv = { Variables: { principal: Principal } };
export type App = OpenAPIHono<ApiEnv>;

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: 'NOT_FOUND' }), message: z.string(), hint: z.string().optional(),
    details: z.array(z.string()).optional().openapi({ description: 'one line per problem when several were found (a spec\'s)' }),
  }),
}).openapi('Error');

export function errorBody(code: string, message: string, hint?: string, details: readonly string[] = []) {
  return { error: { code, message, ...(hint ? { hint } : {}), ...(details.length ? { details } : {}) } };
}

const WHY: Record<number, string> = {
  400: 'bad input (code USAGE): the message names the field and the fix',
  401: 'missing, wrong or revoked bearer token (UNAUTHORIZED)',
  403: 'the token\'s scope does not cover this call (FORBIDDEN)',
  404: 'no such object, or one outside the token\'s scope (NOT_FOUND)',
  409: 'a clash with the current state',
  413: 'too large (TOO_LARGE)',
  429: 'the group\'s LLM budget is spent (BUDGET_EXHAUSTED)',
  503: 'the runtime or the lifecycle is not available',
};

/** Error answers of a route, by status, for the OpenAPI document (401 is on every route). */
export function errors(...statuses: number[]) {
  return Object.fromEntries([401, ...statuses].map((s) => [s, { description: WHY[s] ?? 'an error', content: { 'application/json': { schema: ErrorSchema } } }]));
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export const SSE = { description: 'Server-Sent Events: id is the event\'s seq (resume with ?after=SEQ or Last-Event-ID), event its type, data its JSON', content: { 'text/event-stream': { schema: z.string() } } };

export const NameParam = z.object({ name: z.string().min(1).max(253).openapi({ param: { name: 'name', in: 'path' }, example: 'team-a' }) });
export const IdParam = z.object({ id: z.string().min(1).max(200).openapi({ param: { name: 'id', in: 'path' } }) });
export const Ok = z.object({ ok: z.literal(true) }).openapi('Ok');

/** A route module's app: input that fails its schema becomes a USAGE error naming the field. */
export function routes(): App {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (r) => {
      if (r.success) return;
      const issue = r.error.issues[0];
      const where = issue ? `${r.target === 'json' ? 'body' : r.target}${issue.path.length ? `.${issue.path.join('.')}` : ''}` : r.target;
      throw new ClawpodError('USAGE', `${where}: ${issue?.message ?? 'invalid'}`, { hint: 'the request shapes are in GET /v1/openapi.json' });
    },
  });
}

export function notFound(what: string): ClawpodError {
  return new ClawpodError('NOT_FOUND', `no ${what}`);
}

/** Route middleware: only an admin token goes on, before the request's input is even read. */
export function adminOnly(what: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => { requireAdmin(c.get('principal'), what); await next(); };
}
