// A sandbox's files: read (bytes or text), write (created or replaced, folders made, as the
// sandbox's user; at most 16 MiB), list one folder, remove. Paths are absolute paths inside the
// sandbox; they never reach the host.
import type { Client } from './client.js';
import type { FileEntry } from './types.js';

const q = (path: string, extra: Record<string, string> = {}) => `?${new URLSearchParams({ path, ...extra }).toString()}`;

export class Files {
  constructor(private readonly client: Client, private readonly base: string) {}

  /** The file's bytes (a symlink is followed inside the sandbox). */
  async read(path: string): Promise<Uint8Array> {
    const res = await this.client.request('GET', `${this.base}/files${q(path)}`, `read ${path}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The file as UTF-8 text. */
  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.read(path));
  }

  /** Writes `data` (text is written as UTF-8); `mode` as octal text, e.g. "0755" (default 0644). */
  async write(path: string, data: string | Uint8Array | ArrayBuffer, opts: { mode?: string } = {}): Promise<void> {
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    await this.client.request('PUT', `${this.base}/files${q(path, opts.mode ? { mode: opts.mode } : {})}`, `write ${path}`, { body: body as BodyInit });
  }

  /** The entries of one folder. */
  async list(path = '/workspace'): Promise<FileEntry[]> {
    return (await this.client.json<{ items: FileEntry[] }>('GET', `${this.base}/files/list${q(path)}`, `list ${path}`)).items;
  }

  /** Removes a file, or a folder and what it holds with { recursive: true }. */
  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.client.request('DELETE', `${this.base}/files${q(path, opts.recursive ? { recursive: 'true' } : {})}`, `remove ${path}`);
  }
}
