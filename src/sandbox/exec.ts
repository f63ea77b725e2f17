// A command in a sandbox, its output as it comes, and a timeout that really ends it. The engines'
// exec API has no kill, and closing the stream leaves the process running, so the command is
// started through a shell that first says its PID: an exec'd process is the leader of a session
// of its own (runc calls setsid), and on timeout (or when the caller goes away) a second exec
// SIGKILLs every process of that session, found by the session field of /proc/PID/stat — readable
// even for a non-dumpable process (node in the agent image is made so). A process that leaves the
// session on purpose (setsid, a daemon) outlives the timeout; the sandbox's pids, cpu and memory
// limits bound it, and kill removes it with the sandbox.
import { StringDecoder } from 'node:string_decoder';
import { ClawpodError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ExecRequest {
  /** A string runs under `sh -c`; an array is the argv itself. */
  readonly cmd: string | readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly stdin?: string;
}

export interface ExecOutcome { readonly exitCode: number; readonly timedOut: boolean; readonly durationMs: number }

export const EXEC_TIMEOUT = Object.freeze({ defaultMs: 10 * 60_000, maxMs: 24 * 3_600_000 });
/** After the kill, how long the output may take to end before the stream is dropped (a process that left the session holds it). */
const DRAIN_MS = 2000;

const NO_LEADER = -1;
// `$$` is the session's leader: exec keeps the PID for the command itself
const WRAPPER = 'echo "$$" >&2; exec "$@"';
const KILL_SESSION = [
  'sid=$1; n=0',
  'while [ $n -lt 10 ]; do',
  '  found=',
  '  for f in /proc/[0-9]*/stat; do',
  '    read -r s < "$f" 2>/dev/null || continue',
  '    s=${s##*) }; set -- $s',
  '    if [ "$4" = "$sid" ]; then p=${f#/proc/}; kill -9 "${p%/stat}" 2>/dev/null && found=1; fi',
  '  done',
  '  [ -z "$found" ] && exit 0',
  '  n=$((n + 1))',
  'done',
].join('\n');

export function checkExec(r: ExecRequest): void {
  const empty = typeof r.cmd === 'string' ? r.cmd.trim() === '' : r.cmd.length === 0 || r.cmd[0] === '';
  if (empty) throw new ClawpodError('USAGE', 'exec: cmd is empty', { hint: 'send a command line ("ls -la") or an argv (["ls", "-la"])' });
  if (r.cwd !== undefined && !r.cwd.startsWith('/')) throw new ClawpodError('USAGE', `exec: cwd ${JSON.stringify(r.cwd)} is not an absolute path`, { hint: 'e.g. "/workspace"' });
  for (const k of Object.keys(r.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ClawpodError('USAGE', `exec: env ${JSON.stringify(k)} is not a variable name`, { hint: 'letters, digits and "_", not starting with a digit' });
  }
  const t = r.timeoutMs;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > EXEC_TIMEOUT.maxMs)) {
    throw new ClawpodError('USAGE', `exec: timeoutMs ${t} is out of range`, { hint: `a whole number of milliseconds from 1 to ${EXEC_TIMEOUT.maxMs} (default ${EXEC_TIMEOUT.defaultMs})` });
  }
}

/** SIGKILLs every process of the session led by `sid` in the container. */
async function killSession(rt: Runtime, id: string, sid: number): Promise<void> {
  await rt.exec(id, { cmd: ['/bin/sh', '-c', KILL_SESSION, 'sh', String(sid)] }).catch(() => undefined);
}

/**
 * Runs the command, handing its output to `onOutput` as UTF-8 text as it comes. Ends it on
 * timeout or when `signal` aborts (the caller left); resolves once it has ended.
 */
export async function execIn(rt: Runtime, id: string, r: ExecRequest, onOutput: (stream: 'stdout' | 'stderr', text: string) => void, signal?: AbortSignal): Promise<ExecOutcome> {
  checkExec(r);
  const argv = typeof r.cmd === 'string' ? ['sh', '-c', r.cmd] : [...r.cmd];
  const started = Date.now();
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  let leader: number | undefined;
  let head = ''; // stderr until the wrapper's PID line has been read
  const reading = new AbortController();
  let timedOut = false;
  let wanted = false;
  let ending: Promise<void> | undefined;
  const kill = () => {
    if (ending || leader === undefined || leader === NO_LEADER) return;
    ending = killSession(rt, id, leader).then(() => { setTimeout(() => reading.abort(), DRAIN_MS).unref(); });
  };
  const end = (why: 'timeout' | 'gone') => {
    if (why === 'timeout') timedOut = true;
    wanted = true;
    kill();
    // no PID (yet): nothing to kill, only the stream to drop
    if (leader === undefined || leader === NO_LEADER) setTimeout(() => reading.abort(), DRAIN_MS).unref();
  };
  const timer = setTimeout(() => end('timeout'), r.timeoutMs ?? EXEC_TIMEOUT.defaultMs);
  const gone = () => end('gone');
  signal?.addEventListener('abort', gone, { once: true });
  try {
    const res = await rt.exec(id, {
      cmd: ['/bin/sh', '-c', WRAPPER, 'sh', ...argv],
      ...(r.env ? { env: r.env } : {}),
      ...(r.cwd ? { workingDir: r.cwd } : {}),
      ...(r.stdin !== undefined ? { stdin: r.stdin } : {}),
      keepOutput: false,
      signal: reading.signal,
      onOutput: (chunk) => {
        if (chunk.stream === 'stderr' && leader === undefined) {
          head += chunk.data.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) return;
          const first = head.slice(0, nl);
          // no PID line: the wrapper did not run (no /bin/sh in the image), so what came is the engine's word
          leader = /^\d+$/.test(first) ? Number(first) : NO_LEADER;
          const rest = Buffer.from(leader === NO_LEADER ? head : head.slice(nl + 1), 'latin1');
          head = '';
          if (wanted) kill();
          if (rest.length) onOutput('stderr', decoders.stderr.write(rest));
          return;
        }
        const text = decoders[chunk.stream].write(chunk.data);
        if (text) onOutput(chunk.stream, text);
      },
    });
    if (head) onOutput('stderr', decoders.stderr.write(Buffer.from(head, 'latin1'))); // it ended before a whole first line
    for (const s of ['stdout', 'stderr'] as const) { const t = decoders[s].end(); if (t) onOutput(s, t); }
    await ending;
    return { exitCode: res.exitCode, timedOut, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', gone);
  }
}
