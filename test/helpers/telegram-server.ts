// A scripted Telegram Bot API server (https://core.telegram.org/bots/api) for the channel tests:
// the real wire format (POST/GET /bot<TOKEN>/<method>, JSON, form-urlencoded or multipart bodies,
// {ok, result} / {ok:false, error_code, description, parameters}), so a bug in how our adapter
// speaks to Telegram fails here as it would there. node:http only.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Params = Record<string, unknown>;

export interface SentMessage {
  readonly message_id: number;
  text?: string;
  /** Every text the message had, the first one first (edits append). */
  readonly history: string[];
  readonly document?: { readonly name: string; readonly bytes: Buffer };
}

export interface UserSendOpts {
  readonly document?: { readonly name: string; readonly bytes: Buffer; readonly mime?: string };
  readonly photo?: { readonly bytes: Buffer };
  readonly chatType?: 'private' | 'group' | 'supergroup';
  readonly username?: string;
}

export interface Call { readonly method: string; readonly params: Params; readonly at: number }

export interface TelegramServer {
  /** The apiRoot to hand the adapter (http://127.0.0.1:PORT). */
  readonly url: string;
  readonly token: string;
  readonly botUsername: string;
  /** Every API call, in order (file downloads are `file:<path>`). */
  readonly calls: Call[];
  /** A user writes in a chat; returns the update_id. */
  userSends(chat: number | string, text: string, opts?: UserSendOpts): number;
  /** A user edits an earlier message of theirs (an edited_message update); returns the update_id. */
  userEdits(chat: number | string, messageId: number, text: string): number;
  /** What the bot sent to a chat, with each message's edit history. */
  messages(chat: number | string): SentMessage[];
  /** Resolves with the predicate's first truthy value, checked on every change and every 20 ms. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** The next call of `method` answers this error (429 carries parameters.retry_after). */
  failNext(method: string, e: { code: number; retryAfter?: number; description?: string }): void;
  /** The token is revoked: every method answers 401 Unauthorized from now on. */
  revoke(): void;
  /** Updates not yet confirmed by a getUpdates offset (or a webhook's 200). */
  pending(): number;
  close(): Promise<void>;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden: bot was blocked by the user', 404: 'Not Found',
  409: 'Conflict', 500: 'Internal Server Error', 502: 'Bad Gateway',
};

class ApiError extends Error {
  constructor(readonly code: number, readonly description: string, readonly retryAfter?: number) { super(description); }
}

interface FileRec { readonly file_id: string; readonly file_unique_id: string; readonly path: string; readonly bytes: Buffer }
interface Waiter { readonly res: ServerResponse; readonly limit: number; readonly timer: NodeJS.Timeout }

export async function startTelegramServer(o: { token?: string; botUsername?: string } = {}): Promise<TelegramServer> {
  const token = o.token ?? '7000000001:AAHtestTokenValueNeverToBeSeenInErrors_xyz';
  const botUsername = o.botUsername ?? 'clawpod_test_bot';
  const botId = Number(token.split(':')[0]);
  const calls: Call[] = [];
  const updates: { update_id: number; [k: string]: unknown }[] = [];
  const sent = new Map<string, SentMessage[]>();
  const chats = new Map<string, string>();
  const files = new Map<string, FileRec>();
  const failures = new Map<string, { code: number; retryAfter?: number; description?: string }[]>();
  const listeners = new Set<() => void>();
  let nextUpdate = 500_000;
  let nextMessage = 1;
  let nextFile = 1;
  let revoked = false;
  let waiter: Waiter | undefined;
  let webhook: { url: string; secret?: string } | undefined;
  let delivering = false;
  const now = () => Math.floor(Date.now() / 1000);
  const changed = () => { for (const l of [...listeners]) l(); };

  const addFile = (bytes: Buffer, dir: string, name: string): FileRec => {
    const n = nextFile++;
    const rec = { file_id: `FILE${n}-${dir}`, file_unique_id: `U${n}`, path: `${dir}/file_${n}${name.slice(name.lastIndexOf('.'))}`, bytes };
    files.set(rec.file_id, rec);
    return rec;
  };
  const chatObj = (chat: string) => {
    const type = chats.get(chat) ?? 'private';
    return type === 'private' ? { id: Number(chat), type, first_name: 'Ada' } : { id: Number(chat), type, title: 'Team' };
  };
  const botUser = { id: botId, is_bot: true, first_name: 'Clawpod Test', username: botUsername };

  function pushUpdate(u: Params): number {
    const update_id = nextUpdate++;
    updates.push({ update_id, ...u });
    flushWaiter();
    void deliverWebhook();
    changed();
    return update_id;
  }

  function flushWaiter(): void {
    if (!waiter || updates.length === 0) return;
    const w = waiter;
    waiter = undefined;
    clearTimeout(w.timer);
    reply(w.res, updates.slice(0, w.limit));
  }

  // Telegram posts each update until the hook answers 2xx, in order, then forgets it.
  async function deliverWebhook(): Promise<void> {
    if (delivering) return;
    delivering = true;
    try {
      while (webhook && updates.length > 0) {
        const u = updates[0]!;
        const status = await post(webhook.url, JSON.stringify(u), webhook.secret).catch(() => 0);
        if (status >= 200 && status < 300) {
          if (updates[0] === u) updates.shift();
          changed();
        } else {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally { delivering = false; }
  }

  const methods: Record<string, (p: Params, raw: Map<string, { filename: string; bytes: Buffer }>) => unknown> = {
    getme: () => ({ ...botUser, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false }),
    getupdates: () => { throw new Error('handled by the long poll'); },
    sendmessage: (p) => {
      const chat = needChat(p);
      const text = str(p.text);
      if (!text.trim()) throw new ApiError(400, 'Bad Request: message text is empty');
      if ([...text].length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
      const m: SentMessage = { message_id: nextMessage++, text, history: [text] };
      sent.get(chat)!.push(m);
      changed();
      return { message_id: m.message_id, from: botUser, chat: chatObj(chat), date: now(), text };
    },
    editmessagetext: (p) => {
      const chat = needChat(p);
      const id = Number(p.message_id);
      const m = sent.get(chat)!.find((x) => x.message_id === id);
      if (!m || m.text === undefined) throw new ApiError(400, 'Bad Request: message to edit not found');
      const text = str(p.text);
      if (!text.trim()) throw new ApiError(400, 'Bad Request: message text is empty');
      if ([...text].length > 4096) throw new ApiError(400, 'Bad Request: MESSAGE_TOO_LONG');
      if (text === m.text) throw new ApiError(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
      m.text = text;
      m.history.push(text);
      changed();
      return { message_id: id, from: botUser, chat: chatObj(chat), date: now(), edit_date: now(), text };
    },
    sendchataction: (p) => {
      needChat(p);
      if (!['typing', 'upload_document', 'upload_photo', 'record_voice', 'choose_sticker'].includes(str(p.action))) throw new ApiError(400, 'Bad Request: wrong parameter action in request');
      return true;
    },
    getfile: (p) => {
      const f = files.get(str(p.file_id));
      if (!f) throw new ApiError(400, 'Bad Request: invalid file_id');
      return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.bytes.length, file_path: f.path };
    },
    senddocument: (p, raw) => {
      const chat = needChat(p);
      const ref = str(p.document);
      const attached = ref.startsWith('attach://') ? raw.get(ref.slice('attach://'.length)) : raw.get('document');
      if (!attached) throw new ApiError(400, 'Bad Request: there is no document in the request');
      const f = addFile(attached.bytes, 'documents', attached.filename);
      const m: SentMessage = { message_id: nextMessage++, history: [], document: { name: attached.filename, bytes: attached.bytes } };
      sent.get(chat)!.push(m);
      changed();
      return { message_id: m.message_id, from: botUser, chat: chatObj(chat), date: now(),
        document: { file_id: f.file_id, file_unique_id: f.file_unique_id, file_name: attached.filename, file_size: attached.bytes.length } };
    },
    setwebhook: (p) => {
      const url = str(p.url);
      if (!url) { webhook = undefined; return true; }
      if (!/^https?:\/\//.test(url)) throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
      if (p.secret_token !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(str(p.secret_token))) throw new ApiError(400, 'Bad Request: secret token contains unallowed characters');
      webhook = { url, secret: p.secret_token === undefined ? undefined : str(p.secret_token) };
      if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') updates.length = 0;
      void deliverWebhook();
      return true;
    },
    deletewebhook: (p) => {
      webhook = undefined;
      if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') updates.length = 0;
      return true;
    },
    getwebhookinfo: () => ({ url: webhook?.url ?? '', has_custom_certificate: false, pending_update_count: updates.length }),
  };

  function needChat(p: Params): string {
    const chat = str(p.chat_id);
    if (!chats.has(chat)) throw new ApiError(400, 'Bad Request: chat not found');
    if (!sent.has(chat)) sent.set(chat, []);
    return chat;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) {
      calls.push({ method: `file:${file[2]}`, params: {}, at: Date.now() });
      const rec = [...files.values()].find((f) => f.path === file[2]);
      if (revoked || file[1] !== token) return void send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      if (!rec) return void send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': rec.bytes.length });
      return void res.end(rec.bytes);
    }
    const m = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return void send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const { params, raw } = await parseBody(req, url);
    const method = m[2]!.toLowerCase();
    calls.push({ method: m[2]!, params, at: Date.now() });
    changed();
    if (revoked || m[1] !== token) return void fail(res, new ApiError(401, 'Unauthorized'));
    const queued = failures.get(method)?.shift();
    if (queued) return void fail(res, new ApiError(queued.code, queued.description ?? (queued.code === 429 ? `Too Many Requests: retry after ${queued.retryAfter ?? 1}` : DESCRIPTIONS[queued.code] ?? 'Error'), queued.retryAfter));
    const fn = methods[method];
    if (!fn) return void fail(res, new ApiError(404, 'Not Found: method not found'));
    try {
      if (method === 'getupdates') return getUpdates(params, req, res);
      reply(res, fn(params, raw));
    } catch (e) {
      fail(res, e instanceof ApiError ? e : new ApiError(500, `Internal Server Error: ${(e as Error).message}`));
    }
  }

  function getUpdates(p: Params, req: IncomingMessage, res: ServerResponse): void {
    if (webhook) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = p.offset === undefined ? undefined : Number(p.offset);
    // an offset confirms every update before it: they are gone for good
    if (offset !== undefined && offset > 0) while (updates.length > 0 && updates[0]!.update_id < offset) updates.shift();
    if (offset !== undefined && offset < 0) updates.splice(0, Math.max(0, updates.length + offset));
    const limit = Math.min(100, Math.max(1, p.limit === undefined ? 100 : Number(p.limit)));
    const timeout = p.timeout === undefined ? 0 : Number(p.timeout);
    changed();
    if (waiter) { // only one getUpdates at a time: the older one is told so
      const old = waiter;
      waiter = undefined;
      clearTimeout(old.timer);
      fail(old.res, new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
    }
    if (updates.length > 0 || timeout <= 0) return reply(res, updates.slice(0, limit));
    const w: Waiter = { res, limit, timer: setTimeout(() => { if (waiter === w) { waiter = undefined; reply(res, []); } }, timeout * 1000) };
    waiter = w;
    // the client gave up (aborted its long poll): nobody to answer
    res.on('close', () => { if (waiter === w) { waiter = undefined; clearTimeout(w.timer); } });
    void req;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => { if (!res.headersSent) fail(res, new ApiError(500, `Internal Server Error: ${(e as Error).message}`)); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url, token, botUsername, calls,
    userSends(chat, text, opts = {}) {
      const id = String(chat);
      chats.set(id, opts.chatType ?? chats.get(id) ?? (Number(chat) < 0 ? 'supergroup' : 'private'));
      const message: Params = {
        message_id: nextMessage++, date: now(), chat: chatObj(id),
        from: { id: 4242, is_bot: false, first_name: 'Ada', ...(opts.username === '' ? {} : { username: opts.username ?? 'ada' }) },
      };
      if (opts.document || opts.photo) { if (text) message.caption = text; } else message.text = text;
      const cmd = /^\/\S+/.exec(text);
      if (cmd) message[message.text !== undefined ? 'entities' : 'caption_entities'] = [{ type: 'bot_command', offset: 0, length: cmd[0].length }];
      if (opts.document) {
        const f = addFile(opts.document.bytes, 'documents', opts.document.name);
        message.document = { file_name: opts.document.name, mime_type: opts.document.mime ?? 'application/octet-stream', file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.bytes.length };
      }
      if (opts.photo) {
        const f = addFile(opts.photo.bytes, 'photos', 'p.jpg');
        const small = addFile(opts.photo.bytes.subarray(0, Math.min(16, opts.photo.bytes.length)), 'photos', 'p.jpg');
        message.photo = [
          { file_id: small.file_id, file_unique_id: small.file_unique_id, file_size: small.bytes.length, width: 90, height: 60 },
          { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.bytes.length, width: 1280, height: 853 },
        ];
      }
      return pushUpdate({ message });
    },
    userEdits(chat, messageId, text) {
      const id = String(chat);
      return pushUpdate({ edited_message: { message_id: messageId, date: now(), edit_date: now(), chat: chatObj(id), from: { id: 4242, is_bot: false, first_name: 'Ada', username: 'ada' }, text } });
    },
    messages: (chat) => sent.get(String(chat)) ?? [],
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          let v;
          try { v = predicate(); } catch (e) { done(); reject(e as Error); return; }
          if (v) { done(); resolve(v); }
        };
        const tick = setInterval(check, 20);
        const timer = setTimeout(() => { done(); reject(new Error(`telegram-server: waited ${timeoutMs} ms, condition not met; calls: ${calls.map((c) => c.method).join(', ')}`)); }, timeoutMs);
        const done = () => { clearInterval(tick); clearTimeout(timer); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    failNext(method, e) {
      const k = method.toLowerCase();
      failures.set(k, [...(failures.get(k) ?? []), e]);
    },
    revoke() { revoked = true; if (waiter) { const w = waiter; waiter = undefined; clearTimeout(w.timer); fail(w.res, new ApiError(401, 'Unauthorized')); } },
    pending: () => updates.length,
    close() {
      if (waiter) { clearTimeout(waiter.timer); waiter = undefined; }
      webhook = undefined;
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v as number);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
function reply(res: ServerResponse, result: unknown): void { send(res, 200, { ok: true, result }); }
function fail(res: ServerResponse, e: ApiError): void {
  send(res, e.code, { ok: false, error_code: e.code, description: e.description, ...(e.retryAfter === undefined ? {} : { parameters: { retry_after: e.retryAfter } }) });
}

/** Query string, then the body: JSON, application/x-www-form-urlencoded or multipart/form-data (files kept apart). */
async function parseBody(req: IncomingMessage, url: URL): Promise<{ params: Params; raw: Map<string, { filename: string; bytes: Buffer }> }> {
  const params: Params = Object.fromEntries(url.searchParams);
  const raw = new Map<string, { filename: string; bytes: Buffer }>();
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (body.length === 0) return { params, raw };
  if (type.startsWith('application/json')) {
    let parsed: unknown;
    try { parsed = JSON.parse(body.toString('utf8')); } catch { throw new ApiError(400, "Bad Request: can't parse JSON object"); }
    Object.assign(params, parsed);
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  } else if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
    if (!boundary) throw new ApiError(400, 'Bad Request: multipart without boundary');
    for (const part of splitMultipart(body, `--${boundary[1] ?? boundary[2]!}`)) {
      const head = part.subarray(0, part.indexOf('\r\n\r\n')).toString('utf8');
      const bytes = part.subarray(part.indexOf('\r\n\r\n') + 4);
      const disp = /content-disposition:\s*form-data\s*;(.*)/i.exec(head)?.[1] ?? '';
      const name = /(?:^|;)\s*name=(?:"([^"]*)"|([^;\s]+))/i.exec(disp);
      const filename = /(?:^|;)\s*filename=(?:"([^"]*)"|([^;\r\n]+))/i.exec(disp);
      const key = name?.[1] ?? name?.[2];
      if (!key) continue;
      if (filename) raw.set(key, { filename: (filename[1] ?? filename[2]!).trim(), bytes: Buffer.from(bytes) });
      else params[key] = bytes.toString('utf8');
    }
  }
  return { params, raw };
}

function splitMultipart(body: Buffer, delimiter: string): Buffer[] {
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(`\r\n${delimiter}`, start);
    if (next < 0) break;
    parts.push(body.subarray(start + 2, next)); // skip the CRLF after the delimiter
    at = next + 2;
  }
  return parts;
}

function post(url: string, body: string, secret?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('webhook timed out')));
    req.end(body);
  });
}
