// Source `exec`: runs a command that prints secrets, speaking the JSON protocol of OpenClaw's
// "exec" secret provider (docs/secrets.md): a request on stdin, a response on stdout. No shell,
// a minimal environment, a time limit and an output cap. Errors never include stdout. Only a
// command the host's user listed in allowedExecCommands runs (src/security/source-allowlist.ts).
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ClawpodError } from '../../errors.js';
import { checkExecCommand } from '../../security/source-allowlist.js';
import { MAX_SECRET_BYTES } from '../limits.js';
import { Redactor, redactor } from '../redact.js';
import type { SecretSource, SourceContext } from './types.js';

export const EXEC_PROTOCOL_VERSION = 1;
/** The id asked for when secretRef.key is not set (OpenClaw's convention for single-value commands). */
export const EXEC_DEFAULT_ID = 'value';
export const EXEC_TIMEOUT_MS = 10_000;
/** Room for a JSON response around one maximal secret. */
export const EXEC_MAX_OUTPUT_BYTES = MAX_SECRET_BYTES * 2;
/** How much of the command's stderr an error shows (after redaction). */
const STDERR_SHOWN = 300;

export interface ExecRequest { readonly protocolVersion: number; readonly provider: string; readonly ids: readonly string[] }

/**
 * `secretRef.name` → argv: a JSON array of strings (`["./get-secret", "--profile", "prod"]`) when
 * it starts with `[`, otherwise words split on whitespace (no quoting). undefined when malformed.
 */
export function parseCommand(name: string): string[] | undefined {
  const text = name.trim();
  if (!text.startsWith('[')) {
    const words = text.split(/\s+/).filter(Boolean);
    return words.length ? words : undefined;
  }
  let argv: unknown;
  try { argv = JSON.parse(text); } catch { return undefined; }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') return undefined;
  return argv as string[];
}

interface RunResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** Set when clawpod killed the command. */
  readonly killed?: 'timeout' | 'output';
}

/** Runs argv without a shell in its own process group, so a timeout kills whatever it started too. */
function run(argv: readonly string[], input: string, o: { file: string; cwd: string; env: Record<string, string>; timeoutMs: number; maxBytes: number }): Promise<RunResult> {
  return new Promise((done, fail) => {
    // `file` is the checked real path (a link swapped after the check changes nothing); argv[0] stays as given
    const child = spawn(o.file, argv.slice(1), { argv0: argv[0]!, cwd: o.cwd, env: o.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, shell: false });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let settled = false;
    const finish = (r: RunResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (r instanceof Error) fail(r); else done(r);
    };
    const kill = (why: 'timeout' | 'output'): void => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
      finish({ exitCode: null, signal: 'SIGKILL', stdout: Buffer.concat(out), stderr, killed: why });
    };
    const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
    child.on('error', finish);
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > o.maxBytes) kill('output');
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4 * STDERR_SHOWN) stderr += d.toString('utf8');
    });
    child.on('close', (exitCode, signal) => finish({ exitCode, signal, stdout: Buffer.concat(out), stderr }));
    child.stdin.on('error', () => { /* the command exited without reading its request: its exit status tells */ });
    child.stdin.end(input);
  });
}

/** String values of a response, or the lines of unparseable output: what stderr must not reveal either. */
function stdoutCandidates(stdout: string): string[] {
  try {
    const r = JSON.parse(stdout) as { values?: unknown };
    if (r && typeof r.values === 'object' && r.values !== null) return Object.values(r.values).filter((v): v is string => typeof v === 'string');
  } catch { /* not JSON */ }
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Text from the command (stderr, an error message) made fit for an error: redacted, then cut. */
function shown(text: string, stdout: string): string {
  const local = new Redactor();
  for (const c of stdoutCandidates(stdout)) local.add('exec stdout', c);
  const clean = local.redact(redactor.redact(text.trim())).replace(/\s+/g, ' ');
  return clean.length > STDERR_SHOWN ? `${clean.slice(0, STDERR_SHOWN)}…` : clean;
}

/** The command's absolute path and its real path, once it exists, is executable and is allowed. */
function commandPath(argv0: string, ctx: SourceContext): { path: string; file: string } {
  const path = isAbsolute(argv0) ? argv0 : resolve(ctx.specDir, argv0);
  let isFile = false;
  try { isFile = statSync(path).isFile(); } catch {
    throw new ClawpodError('SECRET_MISSING', `${ctx.where}: no command at ${path}`, { hint: 'secretRef.name is the command: an absolute path, or a path relative to the spec file (no PATH lookup)' });
  }
  if (!isFile) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is not a file`, { hint: 'point secretRef.name at an executable file' });
  try { accessSync(path, constants.X_OK); } catch {
    throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is not executable`, { hint: `chmod +x ${path}` });
  }
  return { path, file: checkExecCommand(path, ctx) };
}

export interface ExecSourceOptions { readonly timeoutMs?: number; readonly maxOutputBytes?: number }

export function createExecSource(opts: ExecSourceOptions = {}): SecretSource {
  const timeoutMs = opts.timeoutMs ?? EXEC_TIMEOUT_MS;
  const maxBytes = opts.maxOutputBytes ?? EXEC_MAX_OUTPUT_BYTES;
  return {
    name: 'exec',
    async resolve(ref, ctx) {
      const argv = parseCommand(ref.name);
      if (!argv) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: secretRef.name is not a command`, { hint: 'give the command as "/path/to/cmd arg" or as a JSON array: \'["/path/to/cmd", "arg with spaces"]\'' });
      const { path: cmd, file } = commandPath(argv[0]!, ctx);
      const id = ref.key ?? EXEC_DEFAULT_ID;
      const request: ExecRequest = { protocolVersion: EXEC_PROTOCOL_VERSION, provider: 'clawpod', ids: [id] };
      const env = { PATH: ctx.config.path, HOME: ctx.config.home };
      const what = `${ctx.where}: \`${cmd}\``;
      const protocolHint = `print {"protocolVersion":1,"values":{"${id}":"..."}} on stdout (docs/secrets.md)`;

      let r: RunResult;
      try {
        r = await run([cmd, ...argv.slice(1)], `${JSON.stringify(request)}\n`, { file, cwd: ctx.specDir, env, timeoutMs, maxBytes });
      } catch (e) {
        throw new ClawpodError('SECRET_INVALID', `${what} could not be started: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'a script needs a #! line naming an interpreter that exists', cause: e });
      }
      const stdout = r.stdout.toString('utf8');
      const stderrLines = r.stderr.trim() ? [`stderr: ${shown(r.stderr, stdout)}`] : [];
      if (r.killed === 'timeout') throw new ClawpodError('SECRET_MISSING', `${what} did not finish within ${timeoutMs / 1000} s and was killed`, { details: stderrLines, hint: 'make the command answer faster (is it waiting for input on a terminal?)' });
      if (r.killed === 'output') throw new ClawpodError('SECRET_INVALID', `${what} wrote more than ${maxBytes} bytes on stdout and was killed`, { details: stderrLines, hint: protocolHint });
      if (r.exitCode !== 0) {
        throw new ClawpodError('SECRET_MISSING', `${what} ${r.exitCode === null ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`}`, { details: stderrLines, hint: 'run the command by hand to see why it failed' });
      }

      let response: { protocolVersion?: unknown; values?: unknown; errors?: unknown };
      try {
        const parsed = JSON.parse(stdout) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        response = parsed;
      } catch {
        throw new ClawpodError('SECRET_INVALID', `${what} did not print a JSON object on stdout`, { details: stderrLines, hint: protocolHint });
      }
      if (response.protocolVersion !== EXEC_PROTOCOL_VERSION) {
        throw new ClawpodError('SECRET_INVALID', `${what} answered protocolVersion ${JSON.stringify(response.protocolVersion) ?? 'missing'}; clawpod speaks ${EXEC_PROTOCOL_VERSION}`, { hint: protocolHint });
      }
      const errors = (typeof response.errors === 'object' && response.errors !== null ? response.errors : {}) as Record<string, unknown>;
      const values = (typeof response.values === 'object' && response.values !== null ? response.values : {}) as Record<string, unknown>;
      const value = Object.hasOwn(values, id) ? values[id] : undefined;
      if (Object.hasOwn(errors, id) && (value === undefined || value === '')) {
        const e = errors[id] as { message?: unknown } | undefined;
        const message = typeof e?.message === 'string' ? shown(e.message, stdout) : 'no message';
        throw new ClawpodError('SECRET_MISSING', `${what} reported an error for "${id}": ${message}`, { details: stderrLines, hint: 'fix the secret in the store the command reads' });
      }
      if (value === undefined || value === '') {
        const got = Object.keys(values);
        throw new ClawpodError('SECRET_MISSING', `${what} returned no value for "${id}"${got.length ? ` (it returned: ${got.map((k) => JSON.stringify(k)).join(', ')})` : ''}`, { details: stderrLines, hint: ref.key ? 'fix secretRef.key, or the command' : `secretRef.key defaults to "${EXEC_DEFAULT_ID}"; set it to the id the command knows` });
      }
      if (typeof value !== 'string') throw new ClawpodError('SECRET_INVALID', `${what} returned a ${Array.isArray(value) ? 'array' : typeof value} for "${id}", not a string`, { hint: protocolHint });
      return value;
    },
  };
}

export const execSource: SecretSource = createExecSource();
