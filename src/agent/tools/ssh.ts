// The bash tool on a remote host over SSH (StartDoc tools.shell.ssh): same input, same result
// format (output, exit code, time limit, output cap) as the local one, but the command runs on
// the host, in its workdir. One connection, opened at the first call and reused; a dropped one
// is opened again at the next call; close() ends it when the runner ends.
//
// Secrets: the private key is read from its file (a /run/secrets tmpfs file) at each connect and
// handed only to ssh2; it is never put in env, argv, frames or messages. The host key must be
// one known_hosts lists for the host (known-hosts.ts), or nothing is sent past the handshake.
import { readFileSync } from 'node:fs';
import type { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { messageOf } from '../errors.js';
import type { SshTarget } from '../protocol.js';
import { describeBash, type BashResult } from './bash.js';
import { checkHostKey, hostKeyAlgorithms, keysFor, knownHostsName } from './known-hosts.js';
import { capOutput } from './output.js';
import { arg, type Tool } from './toolbox.js';

type SshClient = Client;
// loaded at the first connect: a session without SSH never evaluates ssh2 (~0.4 MB of the bundle)
const loadSsh2 = async (): Promise<typeof import('ssh2')> => (await import('ssh2')).default;

export interface SshRunOptions {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly signal: AbortSignal;
}

const CONNECT_TIMEOUT_MS = 10_000;
// After the exit status the channel's close normally follows once all output is in. A background
// job holding the output open keeps it from coming: stop reading after this long without output.
const DRAIN_MS = 200;

/** POSIX single quotes: safe for any login shell the remote user has (sh, bash, dash, zsh). */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** What the remote login shell is asked to run: cd to the workdir (or fail saying so), then /bin/sh -c COMMAND. */
export function remoteCommand(command: string, workdir: string | undefined): string {
  const sh = `exec /bin/sh -c ${shQuote(command)}`;
  return workdir ? `cd ${shQuote(workdir)} || exit 126; ${sh}` : sh;
}

export class SshShell {
  private client: Promise<SshClient> | undefined;
  private closed = false;

  constructor(private readonly t: SshTarget) {}

  /** `user@host:port`, for messages. */
  get where(): string { return `${this.t.user}@${this.t.host}:${this.t.port ?? 22}`; }

  async run(command: string, o: SshRunOptions): Promise<BashResult> {
    let client: SshClient;
    try { client = await this.connection(); } catch (e) {
      return { output: '', exitCode: null, timedOut: false, interrupted: false, spawnError: messageOf(e) };
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let total = 0;
      let timedOut = false;
      let interrupted = false;
      let exitCode: number | null = null;
      let done = false;
      let channel: ClientChannel | undefined;
      let drain: NodeJS.Timeout | undefined;
      const drainLater = (): void => { clearTimeout(drain); drain = setTimeout(() => finish(), DRAIN_MS); drain.unref(); };
      const finish = (spawnError?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(drain);
        o.signal.removeEventListener('abort', onAbort);
        channel?.removeAllListeners('data');
        channel?.stderr.removeAllListeners('data');
        resolve({ output: capOutput(Buffer.concat(chunks), o.maxOutputBytes, total), exitCode, timedOut, interrupted, ...(spawnError ? { spawnError } : {}) });
      };
      // the remote shell gets SIGKILL (OpenSSH ≥ 7.9 passes signals on), then the channel closes:
      // with no pty, what it started in the background learns of it only by a broken pipe
      const stop = (): void => {
        try { channel?.signal('KILL'); } catch { /* already closed */ }
        try { channel?.close(); } catch { /* already closed */ }
        drainLater();
      };
      const onAbort = (): void => { interrupted = true; stop(); };
      const timer = setTimeout(() => { timedOut = true; stop(); }, o.timeoutMs);
      const onData = (d: Buffer): void => {
        total += d.length;
        if (kept < o.maxOutputBytes) { chunks.push(d); kept += d.length; }
        if (drain) drainLater();
      };
      client.exec(remoteCommand(command, this.t.workdir), (err, ch) => {
        if (err) { finish(`${this.where} refused to run it: ${err.message}`); return; }
        channel = ch;
        if (done) { ch.close(); return; }
        ch.on('data', onData);
        ch.stderr.on('data', onData);
        ch.on('exit', (code: number | null) => {
          exitCode = typeof code === 'number' ? code : null;
          drainLater();
        });
        ch.on('close', () => finish());
      });
      if (o.signal.aborted) onAbort();
      else o.signal.addEventListener('abort', onAbort);
    });
  }

  /** Ends the connection (the runner is closing); later calls fail. */
  close(): void {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    c?.then((cl) => cl.end(), () => undefined).catch(() => undefined);
  }

  private connection(): Promise<SshClient> {
    if (this.closed) return Promise.reject(new Error('the runner is closing'));
    this.client ??= this.connect().catch((e: unknown) => { this.client = undefined; throw e; });
    return this.client;
  }

  private async connect(): Promise<SshClient> {
    const { Client, utils } = await loadSsh2();
    const t = this.t;
    const port = t.port ?? 22;
    const name = knownHostsName(t.host, port);
    const known = keysFor(readSecretFile(t.knownHostsFile, 'known_hosts'), name);
    const privateKey = readSecretFile(t.keyFile, 'private key');
    // checked before connecting: a key ssh2 cannot read gets a message naming the file, never its content
    const parsed = utils.parseKey(privateKey);
    if (parsed instanceof Error) throw new Error(`the private key file ${t.keyFile} is not an unencrypted private key ssh2 can read (${parsed.message.replace(/:.*$/s, '')}); give an OpenSSH, PEM or PPK key without a passphrase`);
    return new Promise((resolve, reject) => {
      const c = new Client();
      let refused: string | undefined;
      const algs = hostKeyAlgorithms(known);
      const config: ConnectConfig = {
        host: t.host, port, username: t.user, privateKey, readyTimeout: CONNECT_TIMEOUT_MS, keepaliveInterval: 15_000,
        ...(algs.length ? { algorithms: { serverHostKey: algs as ServerHostKeyAlgorithm[] } } : {}),
        hostVerifier: (key: Buffer) => {
          const v = checkHostKey(known, key, name, t.knownHostsFile);
          if (!v.ok) refused = v.reason;
          return v.ok;
        },
      };
      c.once('ready', () => {
        c.removeAllListeners('error');
        // a connection that drops is forgotten: the next call connects again
        const forget = (): void => { if (this.client && !this.closed) this.client = undefined; };
        c.on('error', forget);
        c.on('close', forget);
        resolve(c);
      });
      c.once('error', (e: Error) => {
        c.end();
        reject(new Error(refused ?? `ssh to ${this.where} failed: ${e.message}${/host key|no matching/i.test(e.message) ? ` (known_hosts has ${known.map((k) => k.type).join(', ') || 'no key'} for ${name})` : ''}`));
      });
      c.connect(config);
    });
  }
}

function readSecretFile(path: string, what: string): string {
  try { return readFileSync(path, 'utf8'); } catch (e) {
    throw new Error(`cannot read the ${what} file ${path} (${(e as NodeJS.ErrnoException).code ?? messageOf(e)}): deliver it as a file secret (spec.secrets[].exposeAs: file)`);
  }
}

/** The `bash` tool backed by `shell`: it replaces the local one in the ToolBox (same name, same input). */
export function sshBashTool(shell: SshShell, o: { readonly timeoutMs: number; readonly maxOutputBytes: number; readonly workdir: string | undefined }): Tool {
  return {
    spec: {
      name: 'bash',
      description: `Run a shell command with /bin/sh on the remote host ${shell.where}, in ${o.workdir ?? 'the remote user\'s home'} (not in the local workspace: the file tools work on the local workspace, this one does not see it). Stdin is closed; stdout and stderr come back together, up to ${o.maxOutputBytes} bytes; the command is killed after ${o.timeoutMs} ms.`,
      inputSchema: { type: 'object', properties: { command: { type: 'string', description: 'the shell command' } }, required: ['command'] },
    },
    run: async (input, signal) => {
      const r = await shell.run(arg('bash', input, 'command', 'string')!, { timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, signal });
      if (r.spawnError) return { output: `bash was not run on ${shell.where}: ${r.spawnError}`, isError: true };
      return describeBash(r, o.timeoutMs);
    },
  };
}
