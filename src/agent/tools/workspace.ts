// Confines file tools to the workspace: a path may not climb out with `..`, be absolute outside
// it, or pass through a symlink that leads out. The container is the security boundary; this
// keeps the model's file tools honest and its mistakes inside the folder it was given.
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A refused path; its message is what the model reads as the tool's error. */
export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

export class Workspace {
  /** The workspace's real path (symlinks resolved). */
  readonly root: string;

  constructor(readonly given: string) {
    this.root = realpathSync(given);
  }

  /**
   * The real path `p` names inside the workspace. `p` is relative to the workspace, or absolute
   * inside it. The path need not exist (for writes); the part that exists is resolved.
   */
  resolve(p: unknown): string {
    if (typeof p !== 'string' || p === '') throw new WorkspaceError(`path must be a non-empty string, relative to the workspace ${this.given}`);
    if (p.includes('\0')) throw new WorkspaceError(`path ${JSON.stringify(p)} contains a NUL byte`);
    const abs = isAbsolute(p) ? resolve(p) : resolve(this.root, p);
    const within = inside(abs, this.root) ? abs : inside(abs, resolve(this.given)) ? join(this.root, relative(resolve(this.given), abs)) : undefined;
    if (within === undefined) {
      throw new WorkspaceError(`path ${JSON.stringify(p)} is outside the workspace ${this.given}; use a path inside it (relative paths start at ${this.given})`);
    }
    const real = this.realOf(within, p);
    if (!inside(real, this.root)) {
      throw new WorkspaceError(`path ${JSON.stringify(p)} leads out of the workspace ${this.given} through a symlink (it resolves to ${real}); only files inside the workspace can be used`);
    }
    return real;
  }

  /** The workspace-relative form of a real path, for messages. */
  show(real: string): string {
    return relative(this.root, real) || '.';
  }

  private realOf(abs: string, asGiven: string): string {
    const missing: string[] = [];
    let cur = abs;
    for (;;) {
      try {
        return join(realpathSync(cur), ...missing);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new WorkspaceError(`path ${JSON.stringify(asGiven)}: ${(e as Error).message}`);
      }
      // realpath fails on a dangling symlink too; its target is unknown ground, so refuse it
      if (isSymlink(cur)) throw new WorkspaceError(`path ${JSON.stringify(asGiven)} passes through ${this.show(cur)}, a symlink to a missing target; remove or fix the link`);
      missing.unshift(basename(cur));
      cur = dirname(cur);
    }
  }
}

function inside(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isSymlink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}
