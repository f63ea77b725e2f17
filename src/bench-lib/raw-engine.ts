// The raw engine's side of a wake: the Engine API calls any client makes, straight on the socket
// (the Docker-compatible endpoints Podman and Docker both serve), with none of clawpod's checks.
import { EngineClient } from '../runtime/engine-client.js';
import { demux } from '../runtime/demux.js';
import type { Duplex } from 'node:stream';

const enc = encodeURIComponent;

/** Resolves at the first byte of output on a multiplexed attach or exec stream; the stream is drained to its end in the background. */
function firstOutput(socket: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks = demux(socket)[Symbol.asyncIterator]();
    chunks.next().then((r) => {
      if (r.done) reject(new Error('the stream ended before any output'));
      else resolve();
      void (async () => { try { while (!(await chunks.next()).done); } catch { /* a reset at exit */ } })();
    }, reject);
    socket.on('error', () => undefined);
  });
}

export class RawEngine {
  private readonly api: EngineClient;

  constructor(socketPath: string) {
    this.api = new EngineClient(socketPath);
  }

  /** exec CMD → its first output. */
  async exec(container: string, cmd: readonly string[]): Promise<void> {
    const created = await this.api.call<{ Id: string }>('POST', `/containers/${enc(container)}/exec`, { json: { Cmd: [...cmd], AttachStdout: true, AttachStderr: true } });
    const socket = await this.api.hijack('POST', `/exec/${enc(created!.Id)}/start`, { json: { Detach: false, Tty: false } });
    socket.end();
    await firstOutput(socket);
  }

  /** unpause, then exec CMD → its first output. */
  async unpauseAndExec(container: string, cmd: readonly string[]): Promise<void> {
    await this.api.call('POST', `/containers/${enc(container)}/unpause`);
    await this.exec(container, cmd);
  }

  /** start, then exec CMD → its first output. */
  async startAndExec(container: string, cmd: readonly string[]): Promise<void> {
    await this.api.call('POST', `/containers/${enc(container)}/start`, { accept: [304] });
    await this.exec(container, cmd);
  }
}
