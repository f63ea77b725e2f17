// The Slack channel: receives people's messages by the Events API (signed HTTP requests to the
// channel's hook; mode 'events', the default) or Socket Mode (mode 'socket'), answers with the Web API.
//
// Bolt is used for its pieces, not its App: its verifySlackRequest for signatures, and the WebClient
// it is built on (@slack/web-api) for calls, retries and uploads. An App would route each event
// through its middleware and listeners and acknowledge on its own schedule; here the one promise
// that matters is explicit:
// Slack's request is answered (or the Socket Mode envelope acknowledged) only after sink.receive
// resolved, so a message is never acknowledged before the router stored it.
import { WebClient, WebClientEvent } from '@slack/web-api';
import { ClawpodError } from '../errors.js';
import { isAuthError, lineLogger, platformError } from './slack-api.js';
import { readCapped } from './http.js';
import { isRevocation, isSlashCommand, signatureProblem, slashToInbound, toInbound, type SlackEventCallback } from './slack-events.js';
import type { SlackSocket } from './slack-socket.js';
import type { AdapterInit, ChannelAdapter, ChannelSink, SentRef } from './types.js';

/** Larger bodies are refused before their signature is checked (Slack's events are a few KB). */
const MAX_BODY = 1 << 20;
/** Network failures and 429s are retried this often (each 429 after its Retry-After); then the call fails. */
const RETRY = { retries: 5, factor: 2, minTimeout: 200, maxTimeout: 10_000, randomize: true };
const FILE_TIMEOUT_MS = 60_000;

export function createSlack(init: AdapterInit): ChannelAdapter {
  return new SlackAdapter(init);
}

class SlackAdapter implements ChannelAdapter {
  readonly kind = 'slack' as const;
  readonly caps = { maxText: 40_000, canEdit: true } as const;
  readonly name: string;
  private readonly client: WebClient;
  private readonly mode: 'events' | 'socket';
  private sink: ChannelSink | undefined;
  private socket: SlackSocket | undefined;
  private botUserId: string | undefined;
  private down = false;
  private lastRejectLog = 0;

  constructor(private readonly init: AdapterInit) {
    this.name = init.name;
    this.mode = init.mode === 'socket' ? 'socket' : 'events';
    this.client = new WebClient(init.token, {
      ...(init.apiRoot ? { slackApiUrl: init.apiRoot } : {}),
      // its rate-limit warning repeats the rate_limited event's line below
      logger: lineLogger((l) => { if (!l.includes('A rate limit was exceeded')) this.say(l); }),
      retryConfig: RETRY,
      // a 429 pauses every call for its Retry-After, then the call is sent again: nothing is lost
      rejectRateLimitedCalls: false,
      timeout: 30_000,
    });
    this.client.on(WebClientEvent.RATE_LIMITED, (sec: number, { url }: { url: string }) => this.say(`Slack rate-limits ${url.split('/').pop() ?? url}; sending again in ${sec} s`));
  }

  async start(sink: ChannelSink): Promise<void> {
    if (!this.init.token) throw this.authError('has no bot token', 'set spec.channels[].token to the app\'s bot token (xoxb-…)');
    if (this.mode === 'events' && !this.init.signingSecret) throw this.authError('has no signing secret', 'set spec.channels[].signingSecret to the app\'s signing secret (Basic Information → App Credentials)');
    if (this.mode === 'socket' && !this.init.appToken) throw this.authError('has no app-level token', 'set spec.channels[].appToken to an app-level token (xapp-…) with connections:write');
    const me = await this.call('auth.test', () => this.client.auth.test());
    this.botUserId = me.user_id;
    this.sink = sink;
    this.down = false;
    if (this.mode === 'socket') {
      const { SlackSocket } = await import('./slack-socket.js');
      this.socket = new SlackSocket({
        appToken: this.init.appToken!,
        ...(this.init.apiRoot ? { apiUrl: this.init.apiRoot } : {}),
        logger: lineLogger((l) => this.say(`Socket Mode: ${l}`)),
        onEvent: (p) => this.dispatch(p as SlackEventCallback),
        onDown: (e, auth) => this.setDown(auth ? this.appTokenError(e) : this.unavailable('Socket Mode', e)),
        onUp: () => { this.down = false; this.sink?.status('up'); },
      });
      try {
        await this.socket.start();
      } catch (e) {
        this.sink = undefined;
        await this.socket.stop();
        this.socket = undefined;
        throw isAuthError(e) ? this.appTokenError(e) : this.unavailable('Socket Mode', e);
      }
    }
    this.say(`connected as ${me.user ?? me.user_id ?? 'the bot'} (${this.mode === 'socket' ? 'Socket Mode' : 'Events API'})`);
    sink.status('up');
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    this.sink = undefined;
    await s?.stop();
  }

  async send(chat: string, text: string, o?: { readonly thread?: string }): Promise<SentRef> {
    const res = await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel: chat, text: escapeText(text), ...(o?.thread ? { thread_ts: o.thread } : {}) }));
    // a message to a user id lands in the DM channel: edits must name that channel
    return { chat: res.channel ?? chat, id: res.ts!, ...(o?.thread ? { thread: o.thread } : {}) };
  }

  async edit(ref: SentRef, text: string): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel: ref.chat, ts: ref.id, text: escapeText(text) }));
  }

  /** Slack has no "typing…" for bots in the Web API (the RTM typing event is gone; assistant
   *  threads' setStatus only exists in AI-assistant threads), so nothing is sent. */
  async typing(_chat: string): Promise<void> {}

  async sendFile(chat: string, name: string, bytes: Buffer, o?: { readonly thread?: string }): Promise<void> {
    const file = { filename: name, title: name, file: bytes };
    await this.call('files.uploadV2', () => this.client.filesUploadV2(o?.thread ? { ...file, channel_id: chat, thread_ts: o.thread } : { ...file, channel_id: chat }));
  }

  async handle(req: Request): Promise<Response> {
    if (req.method !== 'POST') return new Response('expected POST\n', { status: 405 });
    const body = await readCapped(req, MAX_BODY);
    if (body === undefined) return new Response('too large\n', { status: 413 });
    const problem = this.init.signingSecret
      ? signatureProblem(this.init.signingSecret, body, req.headers.get('x-slack-signature'), req.headers.get('x-slack-request-timestamp'))
      : 'the channel has no signing secret';
    if (problem) {
      this.init.onRejected?.(problem);
      this.logRejected(problem);
      return new Response('invalid signature\n', { status: 401 });
    }
    // slash commands come form-encoded (interactivity too, which this channel does not handle)
    if (!(req.headers.get('content-type') ?? '').includes('json')) {
      const form = Object.fromEntries(new URLSearchParams(body));
      if (!isSlashCommand(form)) return new Response(null, { status: 200 });
      if (!this.sink) return new Response('not ready\n', { status: 503 });
      await this.sink.receive(slashToInbound(form));
      return new Response(null, { status: 200 });
    }
    let payload: SlackEventCallback;
    try { payload = JSON.parse(body) as SlackEventCallback; } catch { return new Response('expected JSON\n', { status: 400 }); }
    if (payload.type === 'url_verification') return Response.json({ challenge: payload.challenge });
    if (payload.type !== 'event_callback') return new Response(null, { status: 200 });
    // not started (or stopped): Slack sends the event again later
    if (!this.sink) return new Response('not ready\n', { status: 503 });
    try {
      await this.dispatch(payload);
    } catch (e) {
      this.say(`an event was not stored (${(e as Error).message}); Slack sends it again`);
      return new Response('not stored\n', { status: 500 });
    }
    return new Response(null, { status: 200 });
  }

  /** One event_callback, from either mode: resolves once the router holds the message. */
  private async dispatch(p: SlackEventCallback): Promise<void> {
    const sink = this.sink;
    // stopped meanwhile: not acknowledged, so Slack delivers it again
    if (!sink) throw new Error('the channel is stopped');
    if (isSlashCommand(p)) { await sink.receive(slashToInbound(p)); return; }
    if (p?.type !== 'event_callback' || !p.event) return;
    if (isRevocation(p.event, this.botUserId)) {
      this.setDown(this.authError('was uninstalled from the workspace or its bot token revoked (Slack said so)', REINSTALL));
      return;
    }
    const m = toInbound(p.event, this.botUserId, (url) => this.fetchFile(url));
    if (m) await sink.receive(m);
  }

  /** A file's bytes (url_private_download), sent with the bot token, which only goes to Slack's file host
   *  or the configured API host: an event naming another host gets no token. */
  private async fetchFile(url: string): Promise<Buffer> {
    const u = new URL(url);
    const apiOrigin = this.init.apiRoot ? new URL(this.init.apiRoot).origin : undefined;
    if (!(u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'))) && u.origin !== apiOrigin) {
      throw new ClawpodError('CHANNEL_UNAVAILABLE', `Slack channel "${this.name}": a file's URL is not on Slack (${u.origin}); it was not fetched`);
    }
    let res: Response;
    try {
      res = await fetch(u, { headers: { Authorization: `Bearer ${this.init.token ?? ''}` }, signal: AbortSignal.timeout(FILE_TIMEOUT_MS) });
    } catch (e) {
      throw this.unavailable('a file download', e);
    }
    // without files:read Slack answers with its HTML sign-in page rather than an error status
    if (!res.ok || (res.headers.get('content-type') ?? '').startsWith('text/html')) {
      await res.body?.cancel();
      throw new ClawpodError('CHANNEL_UNAVAILABLE', `Slack channel "${this.name}": downloading a file failed (HTTP ${res.status}${res.ok ? ', a sign-in page' : ''})`, { hint: 'give the Slack app the files:read scope (OAuth & Permissions) and reinstall it' });
    }
    return Buffer.from(await res.arrayBuffer());
  }

  /** A Web API call; its failure as a ClawpodError, and a refused token also reported as down. */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = isAuthError(e)
        ? this.authError(`: Slack refused its bot token (${platformError(e)})`, REINSTALL)
        : platformError(e)
          ? new ClawpodError('CHANNEL_UNAVAILABLE', `Slack channel "${this.name}": ${method} answered ${platformError(e)}`, { hint: hintFor(platformError(e)!), cause: e })
          : this.unavailable(method, e);
      if (err.code === 'CHANNEL_AUTH' && this.sink) this.setDown(err);
      throw err;
    }
  }

  private setDown(err: ClawpodError): void {
    if (this.down) return;
    this.down = true;
    // the router says it (channel NAME: down: …) and records the event
    this.sink?.status('down', err);
  }

  private authError(what: string, hint: string): ClawpodError {
    return new ClawpodError('CHANNEL_AUTH', `Slack channel "${this.name}"${what.startsWith(':') ? '' : ' '}${what}`, { hint });
  }

  private appTokenError(e: unknown): ClawpodError {
    return this.authError(`: Slack refused its app-level token (${platformError(e)})`, 'check spec.channels[].appToken: an app-level token (xapp-…) with connections:write, with Socket Mode enabled in the app settings');
  }

  private unavailable(what: string, e: unknown): ClawpodError {
    return new ClawpodError('CHANNEL_UNAVAILABLE', `Slack channel "${this.name}": ${what} failed: ${this.scrub((e as Error)?.message ?? String(e))}`, { hint: `check that ${this.init.apiRoot ?? 'https://slack.com/api/'} can be reached from this host` });
  }

  /** Forged or stale requests are logged, at most one line per 10 s (anyone can post to the hook). */
  private logRejected(problem: string): void {
    const now = Date.now();
    if (now - this.lastRejectLog < 10_000) return;
    this.lastRejectLog = now;
    this.say(`refused a request to its hook: ${problem}`);
  }

  private say(line: string): void {
    this.init.say(`slack ${this.name}: ${this.scrub(line)}`);
  }

  /** The credentials never reach a log line or an error, whatever a library put in its message. */
  private scrub(s: string): string {
    let out = s;
    for (const v of [this.init.token, this.init.appToken, this.init.signingSecret]) if (v && v.length >= 8) out = out.split(v).join('***');
    return out;
  }
}

/** The body as text, or undefined past `max` bytes (read no further: the sender is not verified yet). */

const REINSTALL = 'check the channel\'s bot token (xoxb-…); if the app was uninstalled or the token revoked, reinstall the Slack app to the workspace and store its new bot token';

function hintFor(error: string): string {
  if (error === 'not_in_channel' || error === 'channel_not_found') return 'invite the bot to the channel (/invite @your-bot) or check the binding\'s chat id (C…)';
  if (error === 'missing_scope') return 'add the missing scope in the Slack app\'s OAuth & Permissions (chat:write, files:write, files:read) and reinstall it';
  if (error === 'msg_too_long') return 'the router splits answers at caps.maxText; this is a bug';
  return 'see https://api.slack.com/methods for what this error means';
}

/** Slack reads `&`, `<`, `>` as markup (links, <!channel> pings): an agent's answer is text, so they are escaped as Slack documents. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
