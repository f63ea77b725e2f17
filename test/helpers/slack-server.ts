// A scripted Slack for tests, speaking Slack's documented wire formats (api.slack.com):
// - Web API: POST /api/<method>, form-urlencoded or JSON bodies, the token as `Authorization: Bearer`
//   (or a `token` field); answers {ok: true, ...} or {ok: false, error}; HTTP 429 with Retry-After.
//   auth.test, chat.postMessage, chat.update, files.getUploadURLExternal → POST to the upload URL →
//   files.completeUploadExternal, apps.connections.open (app-level token only).
// - Socket Mode: a WebSocket that sends {type: 'hello'}, then envelopes {envelope_id, type:
//   'events_api', payload: event_callback, accepts_response_payload}, and records acks {envelope_id}.
// - Events API: postEvent signs a request like Slack (v0=HMAC-SHA256 of `v0:ts:body`).
// - File downloads (url_private_download) that need the bot token, as Slack's do.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SlackMessage {
  readonly channel: string;
  readonly ts: string;
  text: string;
  readonly thread_ts?: string;
  /** Every text it had, the first one first (chat.update appends). */
  readonly history: string[];
}

export interface SlackUpload { readonly id: string; name: string; bytes: Buffer; channel?: string; thread_ts?: string; shared: boolean }
export interface ApiCall { readonly method: string; readonly at: number; readonly status: number; readonly args: Record<string, unknown> }
export interface Ack { readonly envelope_id: string; readonly at: number }

export interface EventOpts {
  readonly signingSecret: string;
  /** Sign with another secret. */
  readonly forge?: boolean;
  /** A timestamp 10 minutes old (outside Slack's 5-minute window). */
  readonly stale?: boolean;
  /** X-Slack-Retry-Num (Slack's redelivery after no 200 within 3 s). */
  readonly retryNum?: number;
  readonly eventId?: string;
}

export interface SlackServer {
  readonly url: string;
  /** The Web API base (WebClient's slackApiUrl). */
  readonly apiRoot: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly calls: readonly ApiCall[];
  readonly acks: readonly Ack[];
  /** The event_callback Slack would send for `event` (what postEvent and socketSend deliver). */
  callback(event: Record<string, unknown>, eventId?: string): Record<string, unknown>;
  /** POSTs an event (wrapped in event_callback), or a whole payload such as url_verification (with `type`
   *  at the top and no `event`), to the hook, signed like Slack. */
  postEvent(hookUrl: string, event: Record<string, unknown>, o: EventOpts): Promise<Response>;
  /** Sends an events_api envelope on the Socket Mode connection; resolves with its ack. */
  socketSend(event: Record<string, unknown>, eventId?: string): Promise<Ack>;
  socketConnections(): number;
  messages(channel: string): readonly SlackMessage[];
  uploads(): readonly SlackUpload[];
  /** A file someone shared: its object as it appears in a message event's `files`. */
  addFile(name: string, bytes: Buffer): Record<string, unknown>;
  /** The next call of `method` fails: HTTP 429 with Retry-After, or {ok: false, error}. */
  failNext(method: string, f: { status: 429; retryAfter: number } | { error: string }): void;
  /** The bot token is revoked: every call with it answers token_revoked. */
  revoke(): void;
  /** The app-level token is revoked: apps.connections.open answers token_revoked. */
  revokeApp(): void;
  /** Slack recycling its connections: {type: 'disconnect', reason: 'refresh_requested'} on each socket. */
  refreshSockets(): void;
  waitFor<T>(probe: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startSlackServer(): Promise<SlackServer> {
  const botToken = `xoxb-1-2-${randomUUID().replace(/-/g, '')}`;
  const appToken = `xapp-1-A1-${randomUUID().replace(/-/g, '')}`;
  const botUserId = 'U0BOT0001';
  const botId = 'B0BOT0001';
  const teamId = 'T0TEAM001';
  const appId = 'A0APP0001';
  const chans = new Map<string, SlackMessage[]>();
  const uploads = new Map<string, SlackUpload>();
  const shared = new Map<string, { name: string; bytes: Buffer }>();
  const failures = new Map<string, ({ status: 429; retryAfter: number } | { error: string })[]>();
  const calls: ApiCall[] = [];
  const acks: Ack[] = [];
  const ackWaiters = new Map<string, (a: Ack) => void>();
  const tickets = new Set<string>();
  let revoked = false;
  let appRevoked = false;
  let tsSeq = 0;
  let url = '';

  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsSeq).padStart(6, '0')}`;

  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data) => {
      let m: { envelope_id?: string };
      try { m = JSON.parse(String(data)) as { envelope_id?: string }; } catch { return; }
      if (!m.envelope_id) return;
      const a = { envelope_id: m.envelope_id, at: Date.now() };
      acks.push(a);
      ackWaiters.get(m.envelope_id)?.(a);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: sockets.size, debug_info: { host: 'applink-scripted', approximate_connection_time: 18060 }, connection_info: { app_id: appId } }));
  });

  const server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => { res.writeHead(500); res.end(String(e)); });
  });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const ticket = u.searchParams.get('ticket') ?? '';
    if (u.pathname !== '/link/' || !tickets.delete(ticket)) { socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n'); return; }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', url);
    const body = await readBody(req);
    if (u.pathname.startsWith('/api/') && req.method === 'POST') return api(u.pathname.slice(5), req, body, res);
    if (u.pathname.startsWith('/upload/v1/') && req.method === 'POST') return upload(u.pathname.slice(11), req, body, res);
    if (u.pathname.startsWith('/files-pri/') && req.method === 'GET') {
      const f = shared.get(u.pathname.split('/')[2] ?? '');
      // like Slack: no (or a bad) token gets the sign-in page, not an error status
      if (bearer(req) !== botToken || revoked) { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>sign in to Slack</html>'); return; }
      if (!f) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(f.bytes.length) });
      res.end(f.bytes);
      return;
    }
    res.writeHead(404);
    res.end();
  }

  function bearer(req: IncomingMessage): string | undefined {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m?.[1];
  }

  function parseArgs(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    const ct = req.headers['content-type'] ?? '';
    if (ct.includes('application/json')) return body.length ? JSON.parse(String(body)) as Record<string, unknown> : {};
    return Object.fromEntries(new URLSearchParams(String(body)));
  }

  async function api(method: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const args = parseArgs(req, body);
    const log = (status: number) => calls.push({ method, at: Date.now(), status, args });
    const fail = failures.get(method)?.shift();
    if (fail && 'status' in fail) { log(429); json(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fail.retryAfter) }); return; }
    // JSON bodies must carry the token in the header (Slack ignores a token field in JSON)
    const token = bearer(req) ?? (typeof args.token === 'string' && !(req.headers['content-type'] ?? '').includes('json') ? args.token : undefined);
    log(200);
    const answer = (r: Record<string, unknown>) => json(res, 200, r);
    if (fail) return answer({ ok: false, error: fail.error });
    if (!token) return answer({ ok: false, error: 'not_authed' });
    if (method === 'apps.connections.open') {
      if (token !== appToken) return answer({ ok: false, error: token === botToken ? 'not_allowed_token_type' : 'invalid_auth' });
      if (appRevoked) return answer({ ok: false, error: 'token_revoked' });
      const ticket = randomUUID();
      tickets.add(ticket);
      return answer({ ok: true, url: `${url.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${appId}` });
    }
    if (token !== botToken) return answer({ ok: false, error: token === appToken ? 'not_allowed_token_type' : 'invalid_auth' });
    if (revoked) return answer({ ok: false, error: 'token_revoked' });
    switch (method) {
      case 'auth.test':
        return answer({ ok: true, url: 'https://scripted.slack.com/', team: 'Scripted', user: 'clawbot', team_id: teamId, user_id: botUserId, bot_id: botId, is_enterprise_install: false });
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!channel) return answer({ ok: false, error: 'channel_not_found' });
        if (!args.text && !args.blocks) return answer({ ok: false, error: 'no_text' });
        const text = String(args.text ?? '');
        if (text.length > 40_000) return answer({ ok: false, error: 'msg_too_long' });
        const ts = nextTs();
        const m: SlackMessage = { channel, ts, text, history: [text], ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}) };
        chans.set(channel, [...(chans.get(channel) ?? []), m]);
        return answer({ ok: true, channel, ts, message: { type: 'message', user: botUserId, bot_id: botId, text, ts, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}) } });
      }
      case 'chat.update': {
        const m = chans.get(String(args.channel ?? ''))?.find((x) => x.ts === String(args.ts));
        if (!m) return answer({ ok: false, error: 'message_not_found' });
        m.text = String(args.text ?? '');
        m.history.push(m.text);
        return answer({ ok: true, channel: m.channel, ts: m.ts, text: m.text, message: { type: 'message', user: botUserId, bot_id: botId, text: m.text } });
      }
      case 'files.getUploadURLExternal': {
        const length = Number(args.length);
        if (!args.filename || !Number.isInteger(length) || length < 1) return answer({ ok: false, error: 'invalid_arguments' });
        const id = `F${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
        uploads.set(id, { id, name: String(args.filename), bytes: Buffer.alloc(0), shared: false });
        return answer({ ok: true, upload_url: `${url}/upload/v1/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const files = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as { id: string; title?: string }[];
        const done: Record<string, unknown>[] = [];
        for (const f of files ?? []) {
          const up = uploads.get(f.id);
          if (!up || up.bytes.length === 0) return answer({ ok: false, error: 'file_not_found' });
          up.shared = true;
          if (args.channel_id) up.channel = String(args.channel_id);
          if (args.thread_ts) up.thread_ts = String(args.thread_ts);
          done.push({ id: up.id, name: up.name, title: f.title ?? up.name, size: up.bytes.length });
        }
        return answer({ ok: true, files: done });
      }
      default:
        return answer({ ok: false, error: 'unknown_method' });
    }
  }

  /** The upload URL takes the bytes raw or as multipart/form-data (the SDK sends a form). */
  async function upload(id: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const up = uploads.get(id);
    if (!up) { res.writeHead(404); res.end(); return; }
    const ct = req.headers['content-type'] ?? '';
    if (ct.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': ct } }).formData();
      const file = [...form.values()].find((v): v is File => typeof v !== 'string');
      up.bytes = file ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
    } else {
      up.bytes = body;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${up.bytes.length}`);
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const callback = (event: Record<string, unknown>, eventId?: string): Record<string, unknown> => {
    const now = Math.floor(Date.now() / 1000);
    return {
      token: 'verification-token-unused', team_id: teamId, api_app_id: appId, type: 'event_callback',
      event: { event_ts: `${now}.000100`, ...event }, event_id: eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`, event_time: now,
      authorizations: [{ enterprise_id: null, team_id: teamId, user_id: botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
  };

  return {
    url, apiRoot: `${url}/api/`, botToken, appToken, botUserId, botId, teamId, calls, acks, callback,
    async postEvent(hookUrl, event, o) {
      const payload = typeof event.type === 'string' && !('event' in event) && event.type === 'url_verification' ? event : callback(event, o.eventId);
      const body = JSON.stringify(payload);
      const ts = String(Math.floor(Date.now() / 1000) - (o.stale ? 600 : 0));
      const sig = `v0=${createHmac('sha256', o.forge ? `${o.signingSecret}-forged` : o.signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
      return fetch(hookUrl, {
        method: 'POST', body,
        headers: {
          'content-type': 'application/json', 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
          'x-slack-request-timestamp': ts, 'x-slack-signature': sig,
          ...(o.retryNum !== undefined ? { 'x-slack-retry-num': String(o.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
        },
      });
    },
    socketSend(event, eventId) {
      const envelope_id = randomUUID();
      const acked = new Promise<Ack>((r) => ackWaiters.set(envelope_id, r));
      const frame = JSON.stringify({ envelope_id, payload: callback(event, eventId), type: 'events_api', accepts_response_payload: false, retry_attempt: 0, retry_reason: '' });
      if (sockets.size === 0) throw new Error('no Socket Mode connection');
      for (const ws of sockets) { ws.send(frame); break; }
      return acked;
    },
    socketConnections: () => sockets.size,
    messages: (channel) => chans.get(channel) ?? [],
    uploads: () => [...uploads.values()],
    addFile(name, bytes) {
      const id = `F${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
      shared.set(id, { name, bytes });
      return {
        id, name, title: name, mimetype: 'application/octet-stream', filetype: 'binary', size: bytes.length, mode: 'hosted',
        url_private: `${url}/files-pri/${id}/${encodeURIComponent(name)}`,
        url_private_download: `${url}/files-pri/${id}/download/${encodeURIComponent(name)}`,
      };
    },
    failNext(method, f) { failures.set(method, [...(failures.get(method) ?? []), f]); },
    revoke() { revoked = true; },
    revokeApp() { appRevoked = true; },
    refreshSockets() {
      for (const ws of sockets) ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-scripted' } }));
    },
    async waitFor(probe, timeoutMs = 5_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = probe();
        if (v !== undefined && v !== false) return v;
        if (Date.now() > end) throw new Error(`waitFor: nothing within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
