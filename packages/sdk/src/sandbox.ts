// A sandbox of clawpod serve: a hardened container to run commands in and move files in and out of.
//   const sb = await Sandbox.create({ profile: 'reference' });
//   const r = await sb.exec('echo hi', { onStdout: (s) => process.stdout.write(s) });
//   await sb.kill();
import { Client, type ClientOptions } from './client.js';
import { SandboxError } from './errors.js';
import { Files } from './files.js';
import { events } from './sse.js';
import type { ExecOptions, ExecResult, SandboxInfo } from './types.js';

export interface CreateOptions extends ClientOptions {
  /** An Agent spec (YAML or JSON text). One of spec and profile. */
  readonly spec?: string;
  /** A payload profile, e.g. "reference". */
  readonly profile?: string;
  /** Claim a running member of this warm pool; the sandbox starts cold when none fits (info.claimedFrom says which). */
  readonly pool?: string;
  /** Its name (default: the spec's metadata.name, or one made up). */
  readonly name?: string;
}

export class Sandbox {
  /** What the server said of it last (create, connect, refresh, stop). */
  info: SandboxInfo;
  readonly files: Files;
  private readonly base: string;

  private constructor(private readonly client: Client, info: SandboxInfo) {
    this.info = info;
    this.base = `/v1/sandboxes/${encodeURIComponent(info.id)}`;
    this.files = new Files(client, this.base);
  }

  get id(): string { return this.info.id; }

  /** Creates and starts a sandbox; resolves once it runs. */
  static async create(o: CreateOptions): Promise<Sandbox> {
    const client = new Client(o);
    const body = { ...(o.spec !== undefined ? { spec: o.spec } : {}), ...(o.profile !== undefined ? { profile: o.profile } : {}), ...(o.pool ? { pool: o.pool } : {}), ...(o.name ? { name: o.name } : {}) };
    return new Sandbox(client, await client.json<SandboxInfo>('POST', '/v1/sandboxes', 'create a sandbox', body));
  }

  /** An existing sandbox by id (its token must see it: another owner's is NOT_FOUND). */
  static async connect(id: string, o: ClientOptions = {}): Promise<Sandbox> {
    const client = new Client(o);
    return new Sandbox(client, await client.json<SandboxInfo>('GET', `/v1/sandboxes/${encodeURIComponent(id)}`, `connect to sandbox ${id}`));
  }

  /** The sandboxes the token sees. */
  static async list(o: ClientOptions = {}): Promise<SandboxInfo[]> {
    return (await new Client(o).json<{ items: SandboxInfo[] }>('GET', '/v1/sandboxes', 'list sandboxes')).items;
  }

  async refresh(): Promise<SandboxInfo> {
    this.info = await this.client.json<SandboxInfo>('GET', this.base, `read sandbox ${this.id}`);
    return this.info;
  }

  /**
   * Runs a command (a string under `sh -c`, or an argv) and resolves when it ends, whatever its
   * exit code; its output streams to onStdout/onStderr as it comes.
   */
  async exec(cmd: string | readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const body = {
      cmd, ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    };
    const what = `exec in sandbox ${this.id}`;
    const res = await this.client.request('POST', `${this.base}/exec`, what, { json: body, accept: 'text/event-stream', ...(opts.signal ? { signal: opts.signal } : {}) });
    const out = { stdout: '', stderr: '' };
    try {
      for await (const ev of events(res.body!)) {
        const d = ev.data as Record<string, unknown>;
        if (ev.event === 'stdout' || ev.event === 'stderr') {
          const text = String(d.data);
          out[ev.event] += text;
          (ev.event === 'stdout' ? opts.onStdout : opts.onStderr)?.(text);
        } else if (ev.event === 'exit') {
          return { ...out, exitCode: Number(d.exitCode), timedOut: d.timedOut === true, durationMs: Number(d.durationMs) };
        } else if (ev.event === 'failed') {
          throw new SandboxError(String(d.code), String(d.message), typeof d.hint === 'string' ? { hint: d.hint } : {});
        }
      }
    } catch (e) {
      if (opts.signal?.aborted && !(e instanceof SandboxError)) throw new SandboxError('ABORTED', `${what}: aborted`, { cause: e });
      throw e;
    }
    throw new SandboxError('RUNTIME_ERROR', `${what}: the answer ended before the command did`, { hint: 'the control plane stopped or the connection dropped; the command was killed' });
  }

  /** What its PID 1 wrote (stdout and stderr, secrets redacted), the last `tail` lines. */
  async logs(opts: { tail?: number } = {}): Promise<string> {
    const res = await this.client.request('GET', `${this.base}/logs${opts.tail !== undefined ? `?tail=${opts.tail}` : ''}`, `read the logs of sandbox ${this.id}`);
    return res.text();
  }

  /** Stops it and keeps it: its files can still be read; kill removes it. */
  async stop(): Promise<SandboxInfo> {
    this.info = await this.client.json<SandboxInfo>('POST', `${this.base}/stop`, `stop sandbox ${this.id}`);
    return this.info;
  }

  /** Kills it and removes it with the volumes it made. */
  async kill(): Promise<void> {
    await this.client.request('DELETE', this.base, `kill sandbox ${this.id}`);
  }
}
