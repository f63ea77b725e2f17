// The memory and pids limits a container sees, read from inside it, on cgroup v2 (Debian 12's
// default: one unified tree, crun or runc) and v1 (these VMs' hybrid mode: runc only). Pure:
// the caller reads the files (an exec in the container, a test, doctor).

/** The files to read inside a container, v2 first: the first layout whose memory file exists wins. */
export const CGROUP_LIMIT_FILES = {
  v2: { memory: '/sys/fs/cgroup/memory.max', pids: '/sys/fs/cgroup/pids.max' },
  v1: { memory: '/sys/fs/cgroup/memory/memory.limit_in_bytes', pids: '/sys/fs/cgroup/pids/pids.max' },
} as const;

export interface CgroupLimits {
  readonly version: 1 | 2;
  /** Bytes; undefined when unlimited ("max" on v2, the page-rounded 2^63 on v1). */
  readonly memoryBytes: number | undefined;
  readonly pids: number | undefined;
}

/** v1 says "no limit" with a huge page-rounded number instead of "max". */
const V1_UNLIMITED = 2 ** 62;

function limit(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) && n < V1_UNLIMITED ? n : undefined;
}

/** `read(path)` gives a file's text, or undefined when it does not exist. undefined when neither layout is there. */
export function cgroupLimits(read: (path: string) => string | undefined): CgroupLimits | undefined {
  for (const [version, files] of [[2, CGROUP_LIMIT_FILES.v2], [1, CGROUP_LIMIT_FILES.v1]] as const) {
    const memory = read(files.memory);
    if (memory === undefined) continue;
    return { version, memoryBytes: limit(memory), pids: limit(read(files.pids)) };
  }
  return undefined;
}

/** A shell line that prints each limit file as "PATH<TAB>CONTENT" (missing files print nothing). */
export const CGROUP_READ_SCRIPT = Object.values(CGROUP_LIMIT_FILES).flatMap((f) => [f.memory, f.pids])
  .map((p) => `[ -r ${p} ] && printf '%s\\t%s\\n' ${p} "$(cat ${p})"`).join('; ') + '; true';

/** Parses CGROUP_READ_SCRIPT's output into a reader for cgroupLimits. */
export function readerFrom(output: string): (path: string) => string | undefined {
  const files = new Map<string, string>();
  for (const line of output.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) files.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return (p) => files.get(p);
}
