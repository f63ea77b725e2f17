// Checks stdin line 1 before anything runs: every problem is listed at once, with its path,
// the value found and what is expected. The key is never echoed back.
import { FILE_LIMITS, inboundFilesOk } from './file-names.js';
import { PROTOCOL_VERSION, type Inbound, type InboundFile, type StartDoc } from './protocol.js';

const PROVIDERS = ['anthropic', 'openai', 'gemini'];

export class BadInput extends Error {
  constructor(message: string, readonly nonce?: string) {
    super(message);
    this.name = 'BadInput';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80) ?? String(v));

export function parseStartDoc(line: string): StartDoc {
  let doc: unknown;
  try { doc = JSON.parse(line); } catch (e) {
    throw new BadInput(`stdin line 1 is not JSON (${(e as Error).message}); expected the StartDoc of src/agent/protocol.ts`);
  }
  if (!isObj(doc)) throw new BadInput(`stdin line 1 is ${show(doc)}; expected the StartDoc object of src/agent/protocol.ts`);
  const problems: string[] = [];
  const need = (ok: boolean, path: string, value: unknown, expected: string): void => {
    if (!ok) problems.push(`${path}: found ${path.startsWith('model.apiKey') ? 'a non-string' : show(value)}, expected ${expected}`);
  };
  const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
  const optPos = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v > 0);

  need(doc.type === 'start', 'type', doc.type, '"start"');
  need(doc.protocol === PROTOCOL_VERSION, 'protocol', doc.protocol, `${PROTOCOL_VERSION} (this runner speaks protocol ${PROTOCOL_VERSION})`);
  need(str(doc.sessionId), 'sessionId', doc.sessionId, 'a non-empty string');
  need(str(doc.nonce), 'nonce', doc.nonce ? '(hidden)' : doc.nonce, 'a non-empty string');
  const m = doc.message;
  need(isObj(m) && str(m.id) && typeof m.text === 'string', 'message', m, '{ id: string, text: string }');
  if (isObj(m) && m.files !== undefined) need(inboundFilesOk(m.files), 'message.files', `(${Array.isArray(m.files) ? m.files.length : typeof m.files})`, FILES_EXPECTED);
  const history = doc.history;
  if (history !== undefined && !Array.isArray(history)) need(false, 'history', history, 'a list of { role: "user" | "assistant", text: string }');
  if (Array.isArray(history)) {
    history.forEach((h: unknown, i) => need(isObj(h) && (h.role === 'user' || h.role === 'assistant') && typeof h.text === 'string', `history[${i}]`, h, '{ role: "user" | "assistant", text: string }'));
  }
  const model = doc.model;
  if (!isObj(model)) need(false, 'model', model, '{ provider, model, ... }');
  else {
    need(PROVIDERS.includes(model.provider as string), 'model.provider', model.provider, PROVIDERS.join(' | '));
    need(str(model.model), 'model.model', model.model, 'a model name');
    need(optStr(model.baseUrl), 'model.baseUrl', model.baseUrl, 'a URL string');
    need(optStr(model.apiKey), 'model.apiKey', undefined, 'a string');
    need(optPos(model.maxTokens), 'model.maxTokens', model.maxTokens, 'a positive number');
    need(model.temperature === undefined || typeof model.temperature === 'number', 'model.temperature', model.temperature, 'a number');
    need(optPos(model.timeoutMs), 'model.timeoutMs', model.timeoutMs, 'a positive number of milliseconds');
  }
  need(optStr(doc.system), 'system', doc.system, 'a string');
  need(typeof doc.workspace === 'string' && doc.workspace.startsWith('/'), 'workspace', doc.workspace, 'an absolute path');
  need(optPos(doc.maxTurns), 'maxTurns', doc.maxTurns, 'a positive number');
  // only its type is checked: a traceparent that does not parse turns the runner's spans off, never the session
  need(optStr(doc.traceparent), 'traceparent', doc.traceparent, 'a W3C traceparent string');
  const tools = doc.tools;
  if (tools !== undefined) {
    if (!isObj(tools)) need(false, 'tools', tools, '{ bash?, mcpConfig?, mcpServers?, shell? }');
    else {
      need(optStr(tools.mcpConfig), 'tools.mcpConfig', tools.mcpConfig, 'a path');
      // each entry is checked where it is used (src/agent/tools/mcp.ts): a bad one costs its server, not the session
      need(tools.mcpServers === undefined || isObj(tools.mcpServers), 'tools.mcpServers', tools.mcpServers, '{ NAME: { command, … } | { url, … } }');
      checkShell(tools.shell, need);
      const bash = tools.bash;
      if (bash !== undefined && !isObj(bash)) need(false, 'tools.bash', bash, '{ timeoutMs?, maxOutputBytes? }');
      if (isObj(bash)) {
        need(optPos(bash.timeoutMs), 'tools.bash.timeoutMs', bash.timeoutMs, 'a positive number of milliseconds');
        need(optPos(bash.maxOutputBytes), 'tools.bash.maxOutputBytes', bash.maxOutputBytes, 'a positive number of bytes');
      }
    }
  }
  const input = doc.input;
  const inputOk = isObj(input) && (input.mode === 'stdin' || (input.mode === 'dir' && typeof input.path === 'string' && input.path.startsWith('/') && optPos(input.pollMs)));
  need(inputOk, 'input', input, '{ mode: "stdin" } or { mode: "dir", path: ABSOLUTE_PATH, pollMs?: number }');
  if (problems.length) {
    throw new BadInput(`the StartDoc on stdin line 1 is invalid:\n  ${problems.join('\n  ')}`, str(doc.nonce) ? (doc.nonce as string) : undefined);
  }
  return doc as unknown as StartDoc;
}

/** A follow-up: a stdin line in stdin mode, or a file's contents in dir mode. */
export function parseInbound(text: string, where: string): Inbound {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) {
    throw new BadInput(`${where} is not JSON (${(e as Error).message}); expected {"type":"message","id":"…","text":"…"} or {"type":"close"}`);
  }
  if (isObj(v) && v.type === 'close') return { type: 'close' };
  if (isObj(v) && v.type === 'message' && str(v.id) && typeof v.text === 'string') {
    if (v.files !== undefined && !inboundFilesOk(v.files)) throw new BadInput(`${where}: files of message ${show(v.id)} are not ${FILES_EXPECTED}`);
    return {
      type: 'message', id: v.id as string, text: v.text, ...(typeof v.traceparent === 'string' ? { traceparent: v.traceparent } : {}),
      ...(v.files !== undefined ? { files: v.files as InboundFile[] } : {}),
    };
  }
  throw new BadInput(`${where} is ${show(v)}; expected {"type":"message","id":"…","text":"…"} or {"type":"close"}`);
}

const FILES_EXPECTED = `a list of at most ${FILE_LIMITS.maxFiles} { name: string, data: base64 of at most ${FILE_LIMITS.maxFileBytes} bytes }`;

function str(v: unknown): boolean { return typeof v === 'string' && v.length > 0; }

type Need = (ok: boolean, path: string, value: unknown, expected: string) => void;

/** tools.shell.ssh: where bash runs instead of the container (src/agent/tools/ssh.ts). */
export function checkShell(shell: unknown, need: Need): void {
  if (shell === undefined) return;
  if (!isObj(shell)) { need(false, 'tools.shell', shell, '{ ssh? }'); return; }
  const ssh = shell.ssh;
  if (ssh === undefined) return;
  if (!isObj(ssh)) { need(false, 'tools.shell.ssh', ssh, '{ host, port?, user, keyFile, knownHostsFile, workdir? }'); return; }
  const abs = (v: unknown): boolean => typeof v === 'string' && v.startsWith('/');
  need(str(ssh.host), 'tools.shell.ssh.host', ssh.host, 'a host name or address');
  need(ssh.port === undefined || (Number.isInteger(ssh.port) && (ssh.port as number) >= 1 && (ssh.port as number) <= 65535), 'tools.shell.ssh.port', ssh.port, 'a port 1-65535');
  need(str(ssh.user), 'tools.shell.ssh.user', ssh.user, 'a user name');
  need(abs(ssh.keyFile), 'tools.shell.ssh.keyFile', ssh.keyFile, 'the absolute path of the private key file (a /run/secrets file)');
  need(abs(ssh.knownHostsFile), 'tools.shell.ssh.knownHostsFile', ssh.knownHostsFile, 'the absolute path of a known_hosts file');
  need(ssh.workdir === undefined || abs(ssh.workdir), 'tools.shell.ssh.workdir', ssh.workdir, 'an absolute path on the remote host');
}
