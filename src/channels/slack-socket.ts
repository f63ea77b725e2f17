// Slack Socket Mode (api.slack.com/apis/socket-mode): apps.connections.open with the app-level token,
// then a WebSocket on which Slack sends envelopes that must each be acknowledged by envelope_id.
// We acknowledge an events_api envelope only after its handler resolved (the router stored the
// message): an envelope lost to a crash before that is sent again by Slack.
import { SocketModeClient, type Logger } from '@slack/socket-mode';
import { isAuthError } from './slack-api.js';

export interface SocketOptions {
  readonly appToken: string;
  readonly apiUrl?: string;
  readonly logger: Logger;
  /** One events_api payload (an event_callback); the envelope is acknowledged when it resolves. */
  readonly onEvent: (payload: unknown) => Promise<void>;
  /** The connection broke and could not be made again yet (auth: the app token is refused). */
  readonly onDown: (e: unknown, auth: boolean) => void;
  readonly onUp: () => void;
}

/** Bounded retries of apps.connections.open per attempt (the library's default is 100, i.e. hours). */
const OPEN_RETRY = { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 };
const RECONNECT_MAX_MS = 60_000;
const HELLO_TIMEOUT_MS = 30_000;

export class SlackSocket {
  private readonly client: SocketModeClient;
  private connected = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly o: SocketOptions) {
    // autoReconnect is ours (connectLoop): the library's reconnect leaves a rejected promise unhandled
    // when apps.connections.open fails for good (a revoked app token), which would end the daemon.
    this.client = new SocketModeClient({
      appToken: o.appToken,
      logger: o.logger,
      autoReconnectEnabled: false,
      clientOptions: { ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}), retryConfig: OPEN_RETRY, timeout: 30_000 },
    });
    // every envelope (hello and disconnect are the client's own); interactivity is not handled,
    // only acknowledged so Slack does not send it again
    this.client.on('slack_event', (m: Envelope) => { void this.onEnvelope(m, m.type === 'events_api' || m.type === 'slash_commands'); });
    this.client.on('disconnected', () => {
      if (!this.connected || this.stopped) return;
      this.connected = false;
      void this.connectLoop();
    });
  }

  /** Connects once; rejects (auth or not) when the first connection cannot be made. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  /** One connection: apps.connections.open, the WebSocket, Slack's hello (which must come in time). */
  private async connect(): Promise<void> {
    const started = this.client.start();
    // a start abandoned after the timeout still settles later: nobody waits for it then
    started.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const late = new Promise<never>((_, rej) => {
      timer = setTimeout(() => { timedOut = true; rej(new Error(`no hello from Slack within ${HELLO_TIMEOUT_MS / 1000} s`)); }, HELLO_TIMEOUT_MS);
    });
    try {
      await Promise.race([started, late]);
    } catch (e) {
      if (timedOut) await this.disconnect();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.connected = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.disconnect();
  }

  /** The client's disconnect waits for a close that a dead connection may never report: bounded. */
  private async disconnect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.disconnect().catch(() => undefined),
      new Promise<void>((r) => { timer = setTimeout(r, 5_000); }),
    ]);
    clearTimeout(timer);
  }

  private async onEnvelope(m: Envelope, handle: boolean): Promise<void> {
    try {
      if (handle) await this.o.onEvent(m.body);
      await m.ack();
    } catch (e) {
      // not acknowledged: Slack sends the envelope again
      this.o.logger.warn(`a Socket Mode envelope was not acknowledged (${(e as Error).message})`);
    }
  }

  /** After a disconnect (Slack recycles connections every few hours): reconnect with backoff. */
  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.connect();
        if (attempt > 0) this.o.onUp();
        return;
      } catch (e) {
        if (this.stopped) return;
        const auth = isAuthError(e);
        this.o.onDown(e, auth);
        if (auth) return;
        await new Promise<void>((r) => { this.wake = r; setTimeout(r, Math.min(RECONNECT_MAX_MS, 1_000 * 2 ** attempt)).unref(); });
      }
    }
  }
}

interface Envelope { readonly type: string; readonly body: unknown; ack(): Promise<void> }
