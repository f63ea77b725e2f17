// clawpod-agent: the reference runner inside the agent container. Its contract with the host
// (the wire format is src/agent/protocol.ts; this file is the composition root):
//
// stdin   line 1: the StartDoc (JSON). The provider key and the frame nonce live only there:
//         never in env, argv, files or logs, never passed to tools or child processes.
//         input.mode "stdin": later lines are Inbound messages ({"type":"message",id,text} or
//         {"type":"close"}). input.mode "dir": later lines are ignored (logged to stderr).
//         EOF on stdin closes the session in both modes.
// dir     input.mode "dir": input.path (clawpod mounts /run/clawpod/ipc/input) is watched with
//         inotify, or read every pollMs when set. `*.json` files (never `.tmp-*`) are taken in
//         name order and deleted after reading; a file named `_close` closes. Files present at
//         start are taken too. The folder must be writable by the runner's user.
// stdout  frames only, `<<<CLAWPOD:NONCE>>>{event}<<<END:NONCE>>>\n`: ready, then per message
//         start, text…, tool_call/tool_result…, error?, exactly one end; closed before exit.
//         With a traceparent (StartDoc, follow-up) the message also gets `span` frames, all
//         before its end: turn, model.round, tool.NAME (src/agent/spans.ts).
// stderr  diagnostics (and MCP servers' stderr); never frames, never secrets.
// exit    0 after `closed` (close, EOF, SIGTERM/SIGINT: the message in flight is cancelled and
//         ends with stopReason "error"); 2 when the StartDoc is unusable.
// tools   bash (/bin/sh -c in `workspace`, env PATH/HOME/WORKSPACE only), read_file, write_file,
//         edit_file, list_files (confined to `workspace`), and mcp__SERVER__TOOL from
//         tools.mcpConfig when that file exists and tools.mcpServers (stdio or HTTP servers;
//         an HTTP one's bearer token is read from its tokenFile, never from stdin or env).
//         With tools.shell.ssh, bash runs on that host over SSH (src/agent/tools/ssh.ts).
// serve   `clawpod-agent serve` is a different mode: a long-running HTTP chat service configured
//         by a file instead of stdin (src/agent/serve.ts, the `runner` payload profile).
import { workspaceAttachments } from './attachments.js';
import { DirInbox } from './dir-inbox.js';
import { messageOf } from './errors.js';
import { INBOUND_LINE_CHARS } from './file-names.js';
import { frameWriter, framesWriter, log, redactor, type Emit } from './frames.js';
import { LineSplitter, RUNNER_DEFAULTS, type StartDoc } from './protocol.js';
import { HttpTransport, modelClient } from './providers/index.js';
import { serve } from './serve.js';
import { AgentSession } from './session.js';
import { BadInput, parseInbound, parseStartDoc } from './start-doc.js';
import { builtinTools } from './tools/builtin.js';
import { startMcp } from './tools/mcp.js';
import { SshShell, sshBashTool } from './tools/ssh.js';
import { ToolBox } from './tools/toolbox.js';
import { Workspace } from './tools/workspace.js';
import { browserTools } from './tools/browser.js';

declare const __CLAWPOD_RUNNER_VERSION__: string | undefined;
const VERSION = typeof __CLAWPOD_RUNNER_VERSION__ === 'string' ? __CLAWPOD_RUNNER_VERSION__ : 'dev';
const MCP_START_TIMEOUT_MS = 15_000;

interface Running { readonly doc: StartDoc; readonly session: AgentSession; readonly emit: Emit }

type Write = (s: string, done?: () => void) => void;

function boot(line: string, stdout: Write): Running {
  let doc: StartDoc;
  try { doc = parseStartDoc(line); } catch (e) {
    const nonce = e instanceof BadInput ? e.nonce : undefined;
    if (nonce) frameWriter(nonce, stdout)({ type: 'error', code: 'bad_input', message: messageOf(e) });
    log(messageOf(e));
    process.exit(2);
  }
  const emit = frameWriter(doc.nonce, stdout);
  const redact = redactor([doc.model.apiKey, doc.nonce]);
  let workspace: Workspace;
  try { workspace = new Workspace(doc.workspace); } catch (e) {
    emit({ type: 'error', code: 'bad_input', message: `workspace ${doc.workspace} is unusable: ${messageOf(e)}; mount a folder there` });
    process.exit(2);
  }
  const transport = new HttpTransport();
  const tools = new ToolBox();
  const maxOutputBytes = doc.tools?.bash?.maxOutputBytes ?? RUNNER_DEFAULTS.bashMaxOutputBytes;
  // the tools' whole environment: nothing of the runner's own env beyond these
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WORKSPACE: doc.workspace };
  const bashTimeoutMs = doc.tools?.bash?.timeoutMs ?? RUNNER_DEFAULTS.bashTimeoutMs;
  for (const t of builtinTools({ workspace, env, maxOutputBytes, bashTimeoutMs })) tools.add(t);
  // tools.shell.ssh: bash runs on that host instead (same name: it replaces the local one)
  const sshTarget = doc.tools?.shell?.ssh;
  const ssh = sshTarget ? new SshShell(sshTarget) : undefined;
  if (ssh) tools.add(sshBashTool(ssh, { timeoutMs: bashTimeoutMs, maxOutputBytes, workdir: sshTarget?.workdir }));
  const session = new AgentSession({
    client: modelClient(doc.model, transport), tools, emit, emitMany: framesWriter(doc.nonce, stdout), redact, log,
    maxTurns: doc.maxTurns ?? RUNNER_DEFAULTS.maxTurns, attachments: workspaceAttachments(workspace.root, doc.workspace, emit, log),
    ...(doc.system ? { system: doc.system } : {}),
    ...(doc.history ? { history: doc.history } : {}),
  });
  // spec.browser: clawpod's sidecar on this container's loopback (docs/browser.md)
  const cdpUrl = process.env.CLAWPOD_BROWSER_CDP;
  if (cdpUrl) for (const t of browserTools({ cdpUrl, maxOutputBytes })) tools.add(t);
  emit({ type: 'ready', runner: 'clawpod-agent', version: VERSION });
  session.push({ type: 'message', id: doc.message.id, text: doc.message.text, ...(doc.traceparent ? { traceparent: doc.traceparent } : {}), ...(doc.message.files ? { files: doc.message.files } : {}) });

  const inbox = doc.input.mode === 'dir'
    ? new DirInbox(doc.input.path, doc.input.pollMs, {
        deliver: (m) => session.push(m),
        problem: (message) => emit({ type: 'error', code: 'bad_input', message }),
      })
    : undefined;
  inbox?.start();

  void (async () => {
    const mcp = await startMcp(doc.tools?.mcpConfig, {
      cwd: workspace.root, maxOutputBytes, startTimeoutMs: MCP_START_TIMEOUT_MS, ...(doc.tools?.mcpServers ? { servers: doc.tools.mcpServers } : {}),
      onError: (message) => emit({ type: 'error', code: 'tool_error', message: redact(message) }),
    });
    for (const t of mcp.tools) tools.add(t);
    await session.run(tools.specs());
    inbox?.stop();
    await mcp.close();
    ssh?.close();
    transport.close();
    // stdin may still be open (dir mode): exit explicitly once stdout has taken the last frame
    stdout('', () => process.exit(0));
  })().catch((e: unknown) => {
    log(`fatal: ${(e as Error).stack ?? messageOf(e)}`);
    process.exit(1);
  });
  return { doc, session, emit };
}

function main(): void {
  const real = process.stdout.write.bind(process.stdout);
  const stdout: Write = (s, done) => { real(s, done); };
  // stdout is frames only: anything else that writes there (a library's console.log) goes to stderr
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  // a message line carries its files (base64): up to maxFiles at maxFileBytes each
  const lines = new LineSplitter(INBOUND_LINE_CHARS);
  let running: Running | undefined;
  const onLine = (line: string): void => {
    if (!running) { running = boot(line, stdout); return; }
    if (!line.trim()) return;
    if (running.doc.input.mode !== 'stdin') { log('ignored a stdin line: in dir mode follow-ups arrive as files in input.path'); return; }
    try { running.session.push(parseInbound(line, 'stdin line')); } catch (e) {
      running.emit({ type: 'error', code: 'bad_input', message: messageOf(e) });
    }
  };
  // as PID 1 in a container a signal without a handler is ignored, so both are handled
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => { if (running) running.session.stop(`the runner received ${sig}`); else process.exit(0); });
  }
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => { for (const l of lines.push(chunk)) onLine(l); });
  process.stdin.on('end', () => {
    for (const l of lines.flush()) onLine(l);
    if (!running) { log('stdin ended before the StartDoc (line 1) arrived'); process.exit(2); }
    running.session.push({ type: 'close' });
  });
}

if (process.argv[2] === 'serve') serve(VERSION);
else main();
