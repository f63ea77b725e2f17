// The shapes of clawpod's sandbox API (docs/sandbox-api.md), as the SDK hands them out.

export interface SandboxInfo {
  /** The sandbox's name: an agent name, also seen by `clawpod ps`. */
  readonly id: string;
  readonly name: string;
  /** running, paused or stopped. */
  readonly state: string;
  readonly image: string;
  /** The sandbox:OWNER scope that made it; null when an admin token did. */
  readonly owner: string | null;
  readonly createdAt: string;
  /** The warm pool it was claimed from; absent when it started cold. */
  readonly claimedFrom?: string;
  readonly limits?: { readonly cpus: number; readonly memoryBytes: number; readonly pids: number };
}

export interface ExecOptions {
  /** Called with each piece of stdout as it comes (UTF-8 text). */
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
  /** The command and every process it started are killed after this long (server default: 10 min). */
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Given to the command on stdin, then closed. */
  readonly stdin?: string;
  /** Aborting ends the command (the server kills it) and rejects with code ABORTED. */
  readonly signal?: AbortSignal;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when timeoutMs ended it (exitCode is then 137, SIGKILL). */
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface FileEntry {
  readonly name: string;
  readonly path: string;
  readonly type: 'file' | 'dir' | 'link' | 'other';
  readonly size: number;
  /** Permission bits, e.g. 0o644. */
  readonly mode: number;
  readonly mtime: string;
}
