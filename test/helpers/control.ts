// Starts `clawpod serve` as a child process on a free port with its own data folder, and a
// scripted model server the containers reach over Podman's bridge.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '../../src/control/client.js';
import { startModelServer, type ModelServer, type Reply, type ScriptRequest } from '../fixtures/model-server.js';
import { BIN, scratchEnv, tmpDir } from './cli.js';

export interface Plane {
  readonly client: ControlClient;
  readonly proc: ChildProcess;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The user's words the model is answering (the last user text, skipping tool results). */
export function lastUserText(req: ScriptRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i]!;
    if (m.role === 'user' && m.text) return m.text;
  }
  return '';
}

/**
 * The model's behaviour, chosen by the user's words: "run: CMD" calls bash and then reports its
 * output; "tool: NAME {JSON}" calls tool NAME with that input and reports its output; "slow:MS ..."
 * answers after MS; "fail" is a provider error; "hang" never answers; anything else is echoed.
 */
export async function scripted(req: ScriptRequest): Promise<Reply> {
  // after a failed turn the runner keeps the unanswered words and joins the next ones to them
  const text = lastUserText(req).split('\n\n').at(-1) ?? '';
  const results = req.last.toolResults;
  if (results.length > 0) return { text: `result: ${results.map((r) => r.output.trim()).join(' | ')}` };
  const run = /^run: (.*)$/s.exec(text);
  if (run) return { toolCalls: [{ name: 'bash', input: { command: run[1] } }] };
  const tool = /^tool: (\S+) (.*)$/s.exec(text);
  if (tool) return { toolCalls: [{ name: tool[1]!, input: JSON.parse(tool[2]!) }] };
  const slow = /^slow:(\d+)/.exec(text);
  if (slow) { await sleep(Number(slow[1])); return { text: `slept ${slow[1]} ms` }; }
  if (text === 'fail') return { error: { status: 500, message: 'upstream exploded' } };
  if (text === 'hang') return { hang: true };
  return { text: `echo: ${text}` };
}

export async function modelServer(): Promise<ModelServer> {
  return startModelServer(scripted);
}

export function planeYaml(model: ModelServer, opts: { groups: string[]; maxConcurrent?: number; extra?: string; modelExtra?: string }): string {
  return [
    'apiVersion: clawpod.dev/v1alpha1', 'kind: ControlPlane', 'spec:',
    `  maxConcurrent: ${opts.maxConcurrent ?? 5}`,
    '  models:',
    `    fix: {provider: openai, model: scripted, baseUrl: "${model.baseUrl('openai')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}${opts.modelExtra ?? ''}}`,
    `    fixa: {provider: anthropic, model: scripted, baseUrl: "${model.baseUrl('anthropic')}", apiKey: {source: env, secretRef: {name: FIXTURE_KEY}}${opts.modelExtra ?? ''}}`,
    '  groups:',
    // "NAME" uses the OpenAI-compatible fixture, "NAME=fixa" the Anthropic one
    ...opts.groups.map((g) => { const [name, m] = g.split('='); return `    - {name: ${name}, model: ${m ?? 'fix'}}`; }),
    ...(opts.extra ? [opts.extra] : []),
  ].join('\n');
}

/** Starts (or restarts, with the same dataDir) a control plane; `extraEnv` adds to a new one's environment (OTEL_*). */
export async function startPlane(yaml: string, reuse?: { dataDir: string; env: Record<string, string> }, extraEnv: Record<string, string> = {}): Promise<Plane> {
  const dataDir = reuse?.dataDir ?? tmpDir();
  const env = reuse?.env ?? scratchEnv({ CLAWPOD_DATA_DIR: dataDir, FIXTURE_KEY: 'fixture-key-123', ...extraEnv });
  const file = join(dataDir, 'serve.yaml');
  writeFileSync(file, yaml);
  const servePath = join(dataDir, 'control', 'serve.json');
  const before = existsSync(servePath) ? readFileSync(servePath, 'utf8') : '';
  const proc = spawn(process.execPath, [BIN, 'serve', '-f', file, '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`clawpod serve exited ${proc.exitCode}:\n${out}`);
    if (existsSync(servePath) && readFileSync(servePath, 'utf8') !== before && out.includes('control plane on')) break;
    await sleep(50);
  }
  const url = (JSON.parse(readFileSync(servePath, 'utf8')) as { url: string }).url;
  const token = readFileSync(join(dataDir, 'control', 'token'), 'utf8').trim();
  return {
    client: new ControlClient(url, token), proc, dataDir, env,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
  };
}

export interface MessageView { id: string; status: string; attempts: number; error: string | null; session_id: string | null }

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
