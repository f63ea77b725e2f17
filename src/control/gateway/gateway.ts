// The LLM gateway: agents call it with a scoped token where a provider key would go; it checks
// the token, the group's model allowlist and budget, then forwards to the real provider with
// the real key and streams the answer back byte for byte while counting tokens. Provider keys
// never leave this process. Speaks the three wire protocols the reference runner and OpenClaw use:
//   POST /v1/chat/completions                          OpenAI-compatible   (Authorization: Bearer TOKEN)
//   POST /v1/messages                                  Anthropic Messages  (x-api-key: TOKEN)
//   POST /v1beta/models/MODEL:streamGenerateContent    Gemini              (x-goog-api-key: TOKEN)
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { DEFAULT_BASE_URLS, parseBaseUrl, type Provider } from '../../agent/protocol.js';
import { SseParser } from '../../shared/sse.js';
import { messageOf } from '../../errors.js';
import { countUsage, periodStart, type Counted } from './usage.js';
import { readCappedBody } from './body.js';
import { estimate, reserve } from './reserve.js';
import { formatBytes } from '../../spec/quantity.js';
import type { Store } from '../store.js';

export interface GatewayModel { readonly name: string; readonly provider: Provider; readonly model: string; readonly baseUrl?: string | undefined }
export interface Budget { readonly periodMs: number; readonly tokens?: number | undefined; readonly requests?: number | undefined }

export interface GatewayDeps {
  readonly store: Store;
  /** Model names (under spec.models) the group may use. */
  allowedModels(group: string): readonly GatewayModel[];
  budget(group: string): Budget | undefined;
  /** The accounting period of a group: its budget's, or the default (what `group usage` reports). */
  periodMs(group: string): number;
  /** The provider key of a model (resolved from its SecretRef; cached by the caller if slow). */
  providerKey(modelName: string): Promise<string | undefined>;
  /** Removes known secret values from text that came from a provider (errors may echo a key). */
  redact(text: string): string;
  /** Larger request bodies are answered 413 without being held in memory (spec.gateway.maxRequestBody). */
  maxBodyBytes: number;
  now?: () => number;
  /** Every authenticated call, by group: the lifecycle counts it as the group's agents' activity. */
  onCall?: (group: string) => void;
  /** Every answered call of a known token: its group, the spec.models name (null when refused before one was chosen), status and tokens. */
  onFinished?: (c: { group: string; model: string | null; status: number; input: number; output: number }) => void;
  /**
   * Tracing's span of each call of a known token (src/control/tracing.ts): called with the caller's
   * W3C traceparent header (never forwarded upstream), the function it returns once the call is answered.
   */
  traceCall?: (c: { group: string; sessionId: string | null; provider: Provider; traceparent: string | undefined }) => (f: { model: string | null; providerModel: string | null; status: number; input: number; output: number }) => void;
  /** A group's budget is spent: what its plan says to do (default throttle: 429 until the reset). */
  onExhausted?: (group: string, info: { limit: string; resets: string }) => 'throttle' | 'suspend' | 'notify';
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new token for a group's session; only its hash is stored. */
export function issueToken(store: Store, group: string, sessionId: string | null): string {
  const token = `cpgw_${randomBytes(24).toString('base64url')}`;
  store.addToken(hashToken(token), group, sessionId);
  return token;
}

/** Where the runner in a container points its provider client: the gateway's socket. */
export function gatewayBaseUrl(provider: Provider, socketPath: string): string {
  return provider === 'openai' ? `unix://${socketPath}:/v1` : `unix://${socketPath}`;
}

/** The same over TCP (`http://HOST:PORT`), for runners that cannot mount the socket (Kubernetes Pods). */
export function gatewayHttpBaseUrl(provider: Provider, url: string): string {
  const base = url.replace(/\/+$/, '');
  return provider === 'openai' ? `${base}/v1` : base;
}

function route(method: string, url: string): { provider: Provider; model?: string; upstreamPath: string } | undefined {
  if (method !== 'POST') return undefined;
  const path = url.replace(/\?.*/, '');
  if (path === '/v1/chat/completions') return { provider: 'openai', upstreamPath: '/chat/completions' };
  if (path === '/v1/messages') return { provider: 'anthropic', upstreamPath: '/v1/messages' };
  const g = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/.exec(path);
  if (g) return { provider: 'gemini', model: decodeURIComponent(g[1]!), upstreamPath: url };
  return undefined;
}

function tokenOf(provider: Provider, h: http.IncomingHttpHeaders): string | undefined {
  if (provider === 'anthropic') return String(h['x-api-key'] ?? '') || undefined;
  if (provider === 'gemini') return String(h['x-goog-api-key'] ?? '') || undefined;
  const a = String(h.authorization ?? '');
  return a.startsWith('Bearer ') ? a.slice(7) : undefined;
}

/** An error in the shape each provider's clients parse, so the agent shows our message. */
function fail(res: http.ServerResponse, provider: Provider, status: number, type: string, message: string): void {
  const text = `clawpod gateway: ${message}`;
  const body = provider === 'anthropic' ? { type: 'error', error: { type, message: text } }
    : provider === 'gemini' ? { error: { code: status, status: type, message: text } }
      : { error: { type, code: type, message: text } };
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const PASS_HEADERS = ['content-type', 'accept', 'anthropic-version', 'anthropic-beta'];

export interface Gateway {
  readonly handler: http.RequestListener;
  /** Aborts requests in flight to providers and drops kept-alive connections. */
  close(): void;
}

export function createGateway(d: GatewayDeps): Gateway {
  const now = d.now ?? Date.now;
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const inFlight = new Set<http.ClientRequest>();

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const r = route(req.method ?? '', req.url ?? '');
    if (!r) { res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `clawpod gateway: no route ${req.method} ${req.url}; use /v1/chat/completions, /v1/messages or /v1beta/models/MODEL:streamGenerateContent` } })); return; }
    const token = tokenOf(r.provider, req.headers);
    const row = token ? d.store.token(hashToken(token)) : undefined;
    if (!row) return fail(res, r.provider, 401, 'authentication_error', 'unknown token; agents get their token from the control plane when their session starts');
    if (row.revoked_at) return fail(res, r.provider, 401, 'authentication_error', `this token was revoked (${row.revoke_reason ?? 'no reason given'}) at ${row.revoked_at}`);
    const group = row.group_name;
    d.onCall?.(group);
    const seen: { model: string | null; providerModel: string | null; counted?: Counted } = { model: null, providerModel: null };
    const traced = d.traceCall?.({ group, sessionId: row.session_id, provider: r.provider, traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined });
    if (d.onFinished || traced) {
      res.once('close', () => {
        const f = { group, model: seen.model, status: res.statusCode, input: seen.counted?.input ?? 0, output: seen.counted?.output ?? 0 };
        d.onFinished?.(f);
        traced?.({ ...f, providerModel: seen.providerModel });
      });
    }

    const read = await readCappedBody(req, d.maxBodyBytes);
    if (!read.ok) {
      // closes the connection: a client still sending after the drain time is cut off
      res.setHeader('connection', 'close');
      if (!read.drained) res.on('finish', () => req.socket.destroy());
      return fail(res, r.provider, 413, 'request_too_large', `the request body is larger than the gateway's limit of ${formatBytes(d.maxBodyBytes)} (${d.maxBodyBytes} bytes); send less, or raise spec.gateway.maxRequestBody in the ControlPlane file`);
    }
    let body: Record<string, unknown>;
    try { body = JSON.parse(read.bytes.toString('utf8')) as Record<string, unknown>; } catch {
      return fail(res, r.provider, 400, 'invalid_request_error', 'the request body is not JSON');
    }
    const wanted = r.model ?? String(body.model ?? '');
    const allowed = d.allowedModels(group);
    const m = allowed.find((x) => x.provider === r.provider && x.model === wanted);
    if (!m) {
      return fail(res, r.provider, 403, 'permission_error', `group ${group} may not use ${r.provider} model ${JSON.stringify(wanted)}; allowed: ${allowed.map((x) => `${x.provider}/${x.model}`).join(', ') || 'none'} (spec.groups[].models of the ControlPlane file)`);
    }
    seen.model = m.name;
    seen.providerModel = m.model;
    let key: string | undefined;
    try { key = await d.providerKey(m.name); } catch (e) {
      return fail(res, r.provider, 502, 'api_error', `the provider key of model ${m.name} could not be read: ${d.redact(messageOf(e))}`);
    }

    const budget = d.budget(group);
    // accounting runs for every group, in the same periods `clawpod group usage` reads; the check
    // and the reservation are one transaction with no await before forwarding
    const period = periodStart(now(), d.periodMs(group));
    const est = estimate(body, read.bytes.length);
    let held = reserve(d.store, group, period, budget, est);
    if (!held.ok) {
      const resets = new Date(Date.parse(period) + budget!.periodMs).toISOString();
      // notify: the operator hears of it and the call goes on, counted but not held to the budget
      const action = d.onExhausted?.(group, { limit: held.over, resets }) ?? 'throttle';
      if (action === 'notify') held = reserve(d.store, group, period, undefined, est);
      else {
        res.setHeader('retry-after', String(Math.ceil((Date.parse(resets) - now()) / 1000)));
        return fail(res, r.provider, 429, 'rate_limit_error', `group ${group} has used ${held.over} (calls in flight included) for the period that started ${period}; the budget resets at ${resets}${action === 'suspend' ? '; its agent is suspended until then' : ''} (raise the budget to allow more)`);
      }
    }
    if (!held.ok) throw new Error('unreachable: a reservation without a budget always holds');
    const reservation = held.r;
    if (r.provider === 'openai' && body.stream === true) body.stream_options = { ...(body.stream_options as object ?? {}), include_usage: true };
    const payload = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'content-length': String(payload.length) };
    for (const h of PASS_HEADERS) { const v = req.headers[h]; if (typeof v === 'string') headers[h] = v; }
    if (key) {
      if (r.provider === 'anthropic') headers['x-api-key'] = key;
      else if (r.provider === 'gemini') headers['x-goog-api-key'] = key;
      else headers.authorization = `Bearer ${key}`;
    }

    const base = parseBaseUrl(m.baseUrl ?? DEFAULT_BASE_URLS[r.provider]);
    const upstream = base.kind === 'unix'
      ? http.request({ socketPath: base.socketPath, path: base.pathPrefix + r.upstreamPath, method: 'POST', headers: { host: 'localhost', ...headers }, agent: agents.http })
      : (base.url.protocol === 'https:' ? https : http).request(new URL(base.url.href.replace(/\/+$/, '') + r.upstreamPath), { method: 'POST', headers, agent: base.url.protocol === 'https:' ? agents.https : agents.http });

    const counted: Counted = { input: 0, output: 0 };
    seen.counted = counted;
    const record = () => reservation.settle(counted);
    inFlight.add(upstream);
    await new Promise<void>((resolve) => {
      // the agent went away (its own timeout, a stop): stop asking the provider
      // an aborted call keeps what it reserved unless the provider reported more: it may be billed
      res.on('close', () => {
        if (res.writableFinished) return;
        upstream.destroy();
        reservation.settle({ input: Math.max(counted.input, est.input), output: Math.max(counted.output, est.output) });
        resolve();
      });
      let answered = false;
      upstream.on('error', (e) => {
        // no answer from the provider: nothing to charge; a broken answer is charged what it counted
        if (answered) record(); else reservation.release();
        if (!res.headersSent) fail(res, r.provider, 502, 'api_error', `the provider at ${m.baseUrl ?? DEFAULT_BASE_URLS[r.provider]} did not answer: ${d.redact(messageOf(e))}`);
        else res.destroy();
        resolve();
      });
      upstream.on('response', (up) => {
        answered = true;
        const status = up.statusCode ?? 502;
        const type = String(up.headers['content-type'] ?? 'application/json');
        if (status >= 400) {
          // provider errors can echo the key they refused: pass the text through the redactor
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => { res.writeHead(status, { 'content-type': type }).end(d.redact(Buffer.concat(parts).toString('utf8'))); record(); resolve(); });
          return;
        }
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
        const sse = type.includes('text/event-stream') ? new SseParser() : undefined;
        const whole: Buffer[] = [];
        up.on('data', (c: Buffer) => {
          res.write(c);
          if (sse) for (const ev of sse.push(c)) countUsage(r.provider, ev.data, counted);
          else whole.push(c);
        });
        up.on('end', () => {
          if (sse) for (const ev of sse.end()) countUsage(r.provider, ev.data, counted);
          else countUsage(r.provider, Buffer.concat(whole).toString('utf8'), counted);
          res.end();
          record();
          resolve();
        });
        up.on('error', () => { res.destroy(); record(); resolve(); });
      });
      upstream.end(payload);
    }).finally(() => inFlight.delete(upstream));
  };

  return {
    handler: (req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `clawpod gateway: ${d.redact(messageOf(e))}` } }));
        else res.destroy();
      });
    },
    close() {
      for (const r of inFlight) r.destroy();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
