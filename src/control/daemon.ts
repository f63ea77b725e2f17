// The control plane: accepts messages for groups (stored before they are acknowledged), runs
// each group's agent in its own container through GroupQueue's decisions, records every runner
// event, and after a crash finds what its previous run left and finishes or fails it.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { performance } from 'node:perf_hooks';
import type { ModelConfig, RunnerEvent } from '../agent/protocol.js';
import { hasPausing, type Runtime } from '../runtime/runtime.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import type { LoadedAgent } from '../spec/parse.js';
import { validatedDurationMs } from '../spec/quantity.js';
import { gatewayBaseUrl, gatewayHttpBaseUrl, issueToken } from './gateway/gateway.js';
import { redactor } from '../secrets/redact.js';
import { Groups } from './groups.js';
import { recover } from './recovery.js';
import type { ControlPlane, ModelSpec } from './config.js';
import { checkFiles, MessageFiles, MESSAGE_FILE_LIMITS, type ChatFile } from './message-files.js';
import { decide } from './queue.js';
import { Session, type FollowupMode } from './session.js';
import { Store, type EventRow, type MessageRow } from './store.js';
import type { Lifecycle } from '../lifecycle/manager.js';
import { WakeTimes } from '../lifecycle/traffic.js';
import type { Metrics } from './metrics.js';
import type { MessageTracing } from './tracing.js';
import type { NestedSandboxes } from './nested.js';
import { Memory } from './memory.js';
import { gatewaySummarizer } from './memory-summarize.js';

export interface DaemonOptions {
  readonly config: Config;
  readonly cp: ControlPlane;
  /** Folder of the ControlPlane file: relative secret files resolve against it. */
  readonly cpDir: string;
  readonly rt: Runtime;
  readonly agent: LoadedAgent;
  readonly store: Store;
  /** Host folder holding the LLM gateway's socket (llm.sock), mounted into session containers. */
  readonly gatewayDir: string;
  /** Where runners reach the gateway over TCP instead (spec.runtime.gatewayUrl on Kubernetes): no socket is mounted. */
  readonly gatewayUrl?: string;
  readonly say: (line: string) => void;
  /** Prometheus counters (src/control/metrics.ts), when `clawpod serve` keeps them. */
  readonly metrics?: Pick<Metrics, 'agentStarted' | 'messageEnded' | 'followupDelivered' | 'sessionFailed' | 'agentRestarted'>;
  /** The messages' spans (src/control/tracing.ts), when tracing is on. */
  readonly tracing?: MessageTracing;
  /** Sandbox tokens and clawpod's MCP server for sessions of groups with `sandboxes` (src/control/nested.ts). */
  readonly nested?: NestedSandboxes;
}

const ms = validatedDurationMs;

export function newId(prefix: string): string {
  // time-ordered, so ids sort like arrival
  return `${prefix}_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

/** Which way follow-ups travel: a watched bind-mounted folder needs a shared kernel (runc). */
export function followupMode(wanted: ControlPlane['spec']['followups'], rt: Runtime, agent: LoadedAgent): FollowupMode {
  if (wanted !== 'auto') return wanted;
  return rt.kind !== 'kubernetes' && agent.agent.spec.isolation === 'runc' ? 'dir' : 'stdin';
}

export class Daemon {
  /** Emits 'event' with every stored EventRow, for the API's streams. */
  readonly bus = new EventEmitter();
  readonly controlId: string;
  private readonly sessions = new Map<string, Session>();
  private readonly store: Store;
  /** Adding, switching and deleting groups; their gateway tokens and usage. */
  readonly groups: Groups;
  /** Idle tiers, ttls and wakes of agents (src/lifecycle), set by startControlPlane. */
  lifecycle: Lifecycle | undefined;
  /** Each group's conversation across sessions: stored as messages end, handed to the next session. */
  readonly memory: Memory;
  private stopping = false;
  /** Files sent with messages and sent back by agents (src/control/message-files.ts). */
  private readonly files: MessageFiles;

  constructor(private readonly o: DaemonOptions) {
    this.store = o.store;
    this.files = new MessageFiles(o.store.db);
    this.groups = new Groups(o.cp, o.store, (g) => this.sessions.has(g) || this.store.queued().some((m) => m.group_name === g), (g, why) => {
      const s = this.sessions.get(g);
      s?.retire(why);
      return s !== undefined;
    });
    this.bus.setMaxListeners(0);
    this.memory = new Memory({ store: o.store, spec: o.cp.spec.memory, say: o.say, record: (sid, mid, type, data) => this.record(sid, mid, type, data),
      summarize: gatewaySummarizer({ store: o.store, models: o.cp.spec.models, gatewayDir: o.gatewayDir }) });
    this.bus.on('event', (row: EventRow) => this.memory.onEvent(row));
    this.controlId = createHash('sha256').update(o.store.path).digest('hex').slice(0, 12);
  }

  get running(): number { return this.sessions.size; }
  sessionOf(group: string): Session | undefined { return this.sessions.get(group); }

  /** Groups from the file; then whatever the previous run left behind. */
  async init(): Promise<void> {
    this.groups.seedFromFile();
    this.o.nested?.revokeLeftovers();
    this.files.prune();
    await recover({
      rt: this.o.rt, store: this.store, controlId: this.controlId, ipcRoot: this.ipcRoot, say: this.o.say,
      record: (s, m, type, data) => this.record(s, m, type, data), interrupted: (m, why) => this.interrupted(m, why),
    });
    this.schedule();
  }

  private get ipcRoot(): string { return join(this.o.config.dataDir, 'control', 'ipc'); }

  /** Stores the message and its files (that is the acknowledgement), then lets the queue act. */
  submit(group: string, text: string, opts: { files?: readonly ChatFile[] } = {}): MessageRow {
    if (!this.store.group(group)) {
      const known = this.store.groups().map((g) => g.name);
      throw new ClawpodError('NOT_FOUND', `no group named ${group}`, {
        hint: known.length ? `known groups: ${known.join(', ')}; add one with \`clawpod group add ${group} --model NAME\`` : `add it with \`clawpod group add ${group} --model NAME\` or under spec.groups of the ControlPlane file`,
      });
    }
    // checked (and named) before anything is stored: a file over the limit stores nothing
    const files = checkFiles(opts.files ?? []);
    if (text.trim() === '' && files.length === 0) throw new ClawpodError('USAGE', 'the message is empty', { hint: 'send some text' });
    const bytes = Buffer.byteLength(text);
    if (bytes > CONTROL_DEFAULTS.maxMessageBytes) {
      throw new ClawpodError('TOO_LARGE', `the message is ${bytes} bytes, more than the ${CONTROL_DEFAULTS.maxMessageBytes}-byte limit`, { hint: 'put large content in the group\'s workspace and refer to the file' });
    }
    const m = this.store.transaction(() => {
      const row = this.store.insertMessage({ id: newId('m'), group_name: group, text });
      const stored = this.files.addInbound(row.id, files);
      this.record(null, row.id, 'queued', { id: row.id, group, ...(stored.length ? { files: stored.map((f) => ({ name: f.name, size: f.size, fileId: f.id })) } : {}) });
      return row;
    });
    this.o.tracing?.queued(m);
    this.schedule();
    return m;
  }

  /** Groups whose runtime did not answer: their messages wait until this time (ms), then are tried again. */
  private readonly retryAt = new Map<string, number>();
  /** Session starts of groups that were suspended; a thaw is taken to cost 50 ms (the lifecycle measures its own). */
  private readonly startTimes = new WakeTimes(1500);

  /** The runtime is down: the message goes back to the queue and is tried again, the sender told why. */
  private keepForLater(group: string, m: MessageRow, e: ClawpodError): void {
    const tries = (this.retryTries.get(group) ?? 0) + 1;
    this.retryTries.set(group, tries);
    const waitMs = Math.min(30_000, 1000 * 2 ** Math.min(tries - 1, 5));
    this.retryAt.set(group, Date.now() + waitMs);
    this.store.setMessage(m.id, { status: 'queued', session_id: null, attempts: m.attempts });
    this.o.tracing?.requeued(m.id);
    this.record(null, m.id, 'wake_failed', { group, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), retryInMs: waitMs, kept: true });
    setTimeout(() => this.schedule(), waitMs + 10).unref();
  }
  private readonly retryTries = new Map<string, number>();

  /** Runs GroupQueue's decisions. Cheap and synchronous: call it whenever anything changes. */
  schedule(): void {
    if (this.stopping) return;
    const now = Date.now();
    const queued = this.store.queued().filter((m) => (this.retryAt.get(m.group_name) ?? 0) <= now);
    const actions = decide({
      limit: this.o.cp.spec.maxConcurrent,
      queued: queued.map((m) => ({ id: m.id, group: m.group_name })),
      sessions: [...this.sessions.values()].map((s) => ({ group: s.opts.group, phase: s.phase, ...(s.idleSince ? { idleSince: s.idleSince } : {}) })),
    });
    const byId = new Map(queued.map((m) => [m.id, m]));
    for (const a of actions) {
      if (a.kind === 'deliver') this.deliver(this.sessions.get(a.group)!, byId.get(a.messageId)!);
      else if (a.kind === 'preempt') void this.sessions.get(a.group)?.close('preempted: another group is waiting for a container');
      else this.startSession(a.group, queued.find((m) => m.group_name === a.group)!);
    }
  }

  private deliver(s: Session, m: MessageRow): void {
    if (s.paused) this.record(s.opts.id, m.id, 'waking', { group: s.opts.group, from: 'paused', expectedMs: 50 });
    this.store.setMessage(m.id, { status: 'delivered', session_id: s.opts.id, attempts: m.attempts + 1 });
    this.record(s.opts.id, m.id, 'delivered', { followup: true, via: s.opts.followups });
    s.deliver({ id: m.id, text: m.text, traceparent: this.o.tracing?.delivering(m, s.opts.id, s.opts.followups), files: this.files.forRunner(m.id) });
    this.o.metrics?.followupDelivered((Date.now() - Date.parse(m.created_at)) / 1000);
  }

  /** What the runner is told: the gateway's socket and a token for this session, never the provider key. */
  private model(spec: ModelSpec, token: string): ModelConfig {
    return {
      provider: spec.provider, model: spec.model,
      baseUrl: this.o.gatewayUrl ? gatewayHttpBaseUrl(spec.provider, this.o.gatewayUrl) : gatewayBaseUrl(spec.provider, `${CONTROL_DEFAULTS.gatewayMountPath}/llm.sock`), apiKey: token,
      ...(spec.maxTokens ? { maxTokens: spec.maxTokens } : {}), ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
      ...(spec.timeout !== undefined ? { timeoutMs: ms(spec.timeout) } : {}),
    };
  }

  private startSession(group: string, first: MessageRow): void {
    const g = this.store.group(group)!;
    const sess = this.o.cp.spec.session;
    const id = newId('s');
    const spec = this.o.cp.spec.models[g.model];
    if (!spec) {
      this.fail(first, null, `group ${group} uses model ${g.model}, which the ControlPlane file does not define (add it under spec.models)`);
      return;
    }
    const model = this.model(spec, issueToken(this.store, group, id));
    const nested = this.o.nested?.forSession(group, id);
    const s = new Session(this.o.rt, this.o.config, {
      id, group, controlId: this.controlId, agent: this.o.agent, model, system: g.system ?? undefined,
      followups: followupMode(this.o.cp.spec.followups, this.o.rt, this.o.agent), maxTurns: sess.maxTurns,
      ipcRoot: this.ipcRoot, idleTimeoutMs: ms(sess.idleTimeout), deadlineMs: ms(sess.deadline), graceMs: ms(sess.grace),
      // a Pod cannot be frozen: on a runtime without pausing (Kubernetes) an idle session only ends (docs/lifecycle.md)
      ...(sess.pauseAfter !== undefined && hasPausing(this.o.rt) ? { pauseAfterMs: ms(sess.pauseAfter) } : {}),
      gatewayDir: this.o.gatewayUrl ? undefined : this.o.gatewayDir,
      ...(nested ? { sandboxes: nested } : {}),
      history: () => this.memory.forSession(group, id, first.id),
    }, this.hooks);
    this.sessions.set(group, s);
    const t0 = performance.now();
    // the group's agent was suspended (its last session ended idle): the sender hears how long a start takes
    const last = this.store.sessions(group).find((x) => x.id !== id);
    if (last?.end_reason?.startsWith('idle')) this.record(null, first.id, 'waking', { group, from: 'stopped', expectedMs: Math.round(this.startTimes.median()) });
    this.store.transaction(() => {
      this.store.insertSession({ id, group_name: group, followups: s.opts.followups });
      this.store.setMessage(first.id, { status: 'delivered', session_id: id, attempts: first.attempts + 1 });
      this.record(id, first.id, 'session_starting', { group, followups: s.opts.followups });
      this.record(id, first.id, 'delivered', { followup: false });
    });
    const traced = this.o.tracing?.sessionStarting(first, { session: id, runtime: this.o.rt.kind, followups: s.opts.followups });
    // a start that ends after stop() leaves its rows to the next run's recovery (the store may be closed)
    s.start({ id: first.id, text: first.text, traceparent: traced?.traceparent, files: this.files.forRunner(first.id) }).then(() => {
      traced?.end();
      if (this.stopping) return;
      this.startTimes.add(performance.now() - t0);
      this.o.metrics?.agentStarted(this.o.rt.kind, 'session', (performance.now() - t0) / 1000);
      this.retryAt.delete(group);
      this.retryTries.delete(group);
      this.store.setSession(id, { status: 'active', container_name: s.containerName ?? null });
      s.watchExit();
      this.schedule();
    }, (e: unknown) => {
      traced?.end(e);
      if (this.stopping) return;
      this.o.metrics?.sessionFailed(group);
      this.sessions.delete(group);
      this.store.revokeTokens({ session: id }, 'its session could not start');
      this.o.nested?.ended(id);
      this.store.endSession(id, `could not start: ${messageOf(e)}`);
      this.record(id, null, 'session_ended', { reason: `could not start: ${messageOf(e)}` });
      if (isClawpodError(e) && e.code === 'RUNTIME_UNAVAILABLE') this.keepForLater(group, first, e);
      else this.fail(this.store.message(first.id)!, id, `could not start the group's container: ${messageOf(e)}`);
      this.schedule();
    });
  }

  private readonly hooks = {
    onEvent: (s: Session, e: RunnerEvent) => {
      const refused = this.o.tracing?.runnerEvent(s.opts.id, s.inflight, e);
      if (refused) this.record(s.opts.id, [...s.inflight][0] ?? null, 'error', { code: 'malformed_frame', message: `the runner wrote a span frame that was refused: ${refused}` });
      // telemetry, not conversation: never stored or streamed
      if (e.type === 'span') return;
      if (e.type === 'file') { this.agentFile(s, e); return; }
      const mid = 'messageId' in e && e.messageId ? e.messageId : null;
      this.store.transaction(() => {
        this.record(s.opts.id, mid, e.type, e);
        if (e.type === 'start') this.store.setMessage(e.messageId, { status: 'running' });
        if (e.type === 'end') {
          const m = this.store.message(e.messageId);
          if (m && (m.status === 'running' || m.status === 'delivered')) {
            if (e.stopReason === 'error') {
              const last = this.store.eventsForMessage(e.messageId).reverse().find((x) => x.type === 'error');
              const said = last ? (JSON.parse(last.data) as { message: string }).message : 'the runner reported an error';
              // stopped by us (deadline, shutdown): our reason is the one the user needs
              this.fail(m, s.opts.id, s.closeReason ? `the session's ${s.closeReason} (${said})` : said);
            } else {
              this.store.setMessage(m.id, { status: 'done', error: null });
              this.record(s.opts.id, m.id, 'done', { stopReason: e.stopReason });
              this.o.metrics?.messageEnded('answered');
            }
          }
        }
      });
      if (e.type === 'end') this.schedule();
    },
    onBadOutput: (s: Session, kind: 'malformed' | 'noise' | 'stderr', detail: string) => {
      const mid = [...s.inflight][0] ?? null;
      if (kind === 'malformed') this.record(s.opts.id, mid, 'error', { code: 'malformed_frame', message: `the runner wrote a malformed frame (${detail})` });
      else this.record(s.opts.id, mid, kind === 'stderr' ? 'runner_log' : 'runner_noise', { line: detail });
    },
    onExpired: (s: Session, reason: string) => { void s.close(reason); },
    onStopped: () => { this.schedule(); },
    onExit: (s: Session, exitCode: number, reason: string) => {
      // a runner that died on its own (not closed by us) is a crash: crash loops alert on it
      if (reason === 'the runner exited' && exitCode !== 0) this.o.metrics?.agentRestarted(s.containerName ?? s.opts.group);
      this.sessions.delete(s.opts.group);
      this.groups.sessionEnded(s.opts.group);
      this.store.transaction(() => {
        this.store.endSession(s.opts.id, reason);
        this.store.revokeTokens({ session: s.opts.id }, 'its session ended');
        this.o.nested?.ended(s.opts.id);
        this.record(s.opts.id, null, 'session_ended', { reason, exitCode });
        for (const id of s.inflight) {
          const m = this.store.message(id);
          if (!m || m.status === 'done' || m.status === 'failed') continue;
          if (reason.startsWith('deadline')) this.fail(m, s.opts.id, `the session's ${reason}`);
          else if (this.stopping) { this.store.setMessage(m.id, { status: 'queued', session_id: null, attempts: Math.max(0, m.attempts - 1) }); }
          else this.interrupted(m, `${reason} (exit code ${exitCode})`);
        }
      });
      this.schedule();
    },
  };

  /** A file the agent sent back: its bytes into the files table, only their digest into the event. */
  private agentFile(s: Session, e: Extract<RunnerEvent, { type: 'file' }>): void {
    // a runner may only attach files to a message its session is working on
    if (!s.inflight.has(e.messageId)) {
      this.record(s.opts.id, [...s.inflight][0] ?? null, 'error', { code: 'malformed_frame', message: `the runner sent file ${e.name} for message ${e.messageId}, which its session is not working on` });
      return;
    }
    this.store.transaction(() => {
      const row = this.files.addOutbound(e.messageId, { name: e.name, bytes: Buffer.from(e.data, 'base64') });
      if (row) this.record(s.opts.id, e.messageId, 'file', { name: row.name, size: row.size, sha256: row.sha256, fileId: row.id });
      else this.record(s.opts.id, e.messageId, 'error', { code: 'malformed_frame', message: `the runner sent more than ${MESSAGE_FILE_LIMITS.maxFiles} files for the message; ${e.name} was dropped` });
    });
  }

  /** A file of a message (sent with it, or by its agent), for the channels and the API. */
  file(fileId: string): { name: string; bytes: Buffer; messageId: string } | undefined {
    const f = this.files.get(fileId);
    return f ? { name: f.name, bytes: f.bytes, messageId: f.message_id } : undefined;
  }

  /** Retried once (maxAttempts in all), then failed with the reason. */
  private interrupted(m: MessageRow, why: string): void {
    if (m.attempts < CONTROL_DEFAULTS.maxAttempts) {
      this.store.setMessage(m.id, { status: 'queued', session_id: null });
      this.o.tracing?.requeued(m.id);
      this.record(m.session_id, m.id, 'retry', { reason: why, attempt: m.attempts + 1 });
    } else {
      this.fail(m, m.session_id, `${why}; gave up after ${m.attempts} attempts`);
    }
  }

  private fail(m: MessageRow, sessionId: string | null, reason: string): void {
    this.store.setMessage(m.id, { status: 'failed', error: reason });
    this.o.tracing?.failed(m.id);
    this.record(sessionId, m.id, 'failed', { reason });
    this.o.metrics?.messageEnded('failed');
  }

  /** An event of no message or session (a channel went down, an unbound chat wrote): stored and streamed. */
  note(type: string, data: unknown): EventRow { return this.record(null, null, type, data); }

  /** Ends the group's session (a chat's `/new`); its unfinished messages are retried in the next one. */
  endSession(group: string, why: string): boolean {
    const s = this.sessions.get(group);
    if (s) void s.close(why);
    return s !== undefined;
  }

  /** A chat's `/stop`: the group's waiting and running messages end failed with `why`; a session that
   *  was working on one closes (the next message starts a new one). Returns how many were stopped. */
  cancel(group: string, why: string): number {
    const mine = [...this.store.queued(), ...this.store.inFlight()].filter((m) => m.group_name === group);
    this.store.transaction(() => { for (const m of mine) this.fail(m, m.session_id, why); });
    const s = this.sessions.get(group);
    if (s && s.inflight.size > 0) void s.close(why);
    this.schedule();
    return mine.length;
  }

  /** Every event passes the redactor before it is stored or streamed: a tool may print a key it found. */
  private record(sessionId: string | null, messageId: string | null, type: string, data: unknown): EventRow {
    const row = this.store.addEvent({ session_id: sessionId, message_id: messageId, type, data: redactor.redactDeep(data) });
    this.bus.emit('event', row);
    return row;
  }

  /** Closes every session; their unfinished messages go back to the queue for the next run. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.sessions.values()].map((s) => s.close('the control plane is stopping')));
  }
}
