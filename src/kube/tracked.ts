// A parsed manifest that remembers which fields the importer read, so that whatever it did not
// read can be listed as dropped: nothing in an imported manifest is lost without a word.

export type Path = readonly (string | number)[];

export function formatPath(path: Path): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Tracked {
  private readonly read = new Set<string>();
  constructor(readonly root: unknown) {}

  /** The value at `path`, without marking it read. */
  peek(path: Path): unknown {
    let cur: unknown = this.root;
    for (const seg of path) {
      if (typeof seg === 'number' ? !Array.isArray(cur) : !isRecord(cur)) return undefined;
      cur = (cur as Record<string | number, unknown>)[seg];
    }
    return cur;
  }

  /** The value at `path`, marked read with everything below it. */
  take(path: Path): unknown {
    this.read.add(JSON.stringify(path));
    return this.peek(path);
  }

  str(path: Path): string | undefined {
    const v = this.peek(path);
    if (typeof v !== 'string') return undefined;
    this.take(path);
    return v;
  }

  num(path: Path): number | undefined {
    const v = this.peek(path);
    if (typeof v !== 'number') return undefined;
    this.take(path);
    return v;
  }

  /** Array length at `path` (0 when absent); the array itself is not marked. */
  len(path: Path): number {
    const v = this.peek(path);
    return Array.isArray(v) ? v.length : 0;
  }

  /** Keys of the object at `path` (none when absent); the object itself is not marked. */
  keys(path: Path): string[] {
    const v = this.peek(path);
    return isRecord(v) ? Object.keys(v) : [];
  }

  private isRead(path: Path): boolean {
    for (let i = path.length; i >= 0; i--) if (this.read.has(JSON.stringify(path.slice(0, i)))) return true;
    return false;
  }

  /**
   * The fields nobody read, each named once at the highest level that is wholly unread
   * (`spec.template.spec.containers[0].livenessProbe`, not each of its leaves). Empty objects
   * and lists carry nothing and are not listed.
   */
  unread(exclude: readonly Path[] = []): string[] {
    const skip = new Set(exclude.map((p) => JSON.stringify(p)));
    const walk = (path: Path, v: unknown): { paths: string[]; whole: boolean } => {
      if (skip.has(JSON.stringify(path)) || this.read.has(JSON.stringify(path))) return { paths: [], whole: false };
      const children: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : isRecord(v) ? Object.entries(v) : [];
      if (v === null || v === undefined) return { paths: [], whole: true }; // carries nothing
      if (!Array.isArray(v) && !isRecord(v)) return { paths: [formatPath(path)], whole: true };
      if (children.length === 0) return { paths: [], whole: true };
      const subs = children.map(([k, x]) => walk([...path, k], x));
      if (path.length > 0 && subs.every((s) => s.whole)) return { paths: [formatPath(path)], whole: true };
      return { paths: subs.flatMap((s) => s.paths), whole: false };
    };
    if (this.isRead([])) return [];
    return walk([], this.root).paths;
  }
}
