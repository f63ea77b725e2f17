// One group's running container: starts the reference runner, hands it the session start on
// stdin, turns its stdout frames into events, delivers follow-ups, and closes it gracefully
// (close message → grace → stop → kill). The daemon owns the store; this class only reports.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { messageOf } from '../errors.js';
import { decodeLine, LineSplitter, PROTOCOL_VERSION, type HistoryTurn, type Inbound, type InboundFile, type McpServerEntry, type ModelConfig, type RunnerEvent, type StartDoc } from '../agent/protocol.js';
import { FILE_FRAME_CHARS } from '../agent/file-names.js';
import { createAgent, startSidecarOf, undoCreate, type RunResult } from '../ops/run.js';
import { hasPausing, type Attached, type Runtime } from '../runtime/runtime.js';
import { CONTROL_DEFAULTS, LABELS } from '../spec/defaults.js';
import type { LoadedAgent } from '../spec/parse.js';
import { setDirMode, writeNewFile } from '../security/safe-fs.js';
import type { SessionPhase } from './queue.js';
import { runnerShell } from '../profiles/reference.js';

/** spec.tools.shell (SSH) as the StartDoc carries it, when the spec has one. */
const withShell = (spec: LoadedAgent['agent']['spec']): { shell?: NonNullable<StartDoc['tools']>['shell'] } => {
  const shell = runnerShell(spec);
  return shell ? { shell } : {};
};

export type FollowupMode = 'dir' | 'stdin' | 'poll';

export interface SessionOptions {
  readonly id: string;
  readonly group: string;
  readonly controlId: string;
  readonly agent: LoadedAgent;
  readonly model: ModelConfig;
  readonly system: string | undefined;
  readonly followups: FollowupMode;
  readonly maxTurns: number;
  readonly ipcRoot: string;
  readonly idleTimeoutMs: number;
  /** Frozen (cgroup freezer: memory kept, no CPU) after this long idle; thawed by the next message. */
  readonly pauseAfterMs?: number;
  readonly deadlineMs: number;
  readonly graceMs: number;
  /** Host folder with the gateway's socket, bind-mounted; undefined when the runner reaches the gateway over TCP (Kubernetes). */
  readonly gatewayDir: string | undefined;
  /** Nested sandboxes: clawpod's MCP server for the runner, and the token file it reads (docs/mcp.md). */
  readonly sandboxes?: { readonly mcpServers: Readonly<Record<string, McpServerEntry>>; readonly secretFiles: readonly { name: string; value: string }[] };
  /** The group's earlier conversation for the StartDoc (src/control/memory.ts); asked for as the start begins, never rejects. */
  readonly history?: () => Promise<readonly HistoryTurn[]>;
}

export interface SessionHooks {
  onEvent(s: Session, e: RunnerEvent): void;
  /** A line between frames markers that is not a valid frame, or output outside frames. */
  onBadOutput(s: Session, kind: 'malformed' | 'noise' | 'stderr', detail: string): void;
  /** The session wants to end (idle timeout, deadline); the daemon calls close(). */
  onExpired(s: Session, reason: string): void;
  onExit(s: Session, exitCode: number, reason: string): void;
  /** Its process has exited and the container is being removed: its slot is free for another group. */
  onStopped?(s: Session): void;
}

/** Container names are per group, so a group's workspace volume is the same across sessions. */
export function sessionContainerName(group: string): string {
  return `clawpod-grp-${group}`;
}

export class Session {
  phase: SessionPhase = 'starting';
  idleSince: number | undefined;
  /** Why the session is being closed, once it is. */
  closeReason: string | undefined;
  readonly inflight = new Set<string>();
  readonly nonce = randomBytes(16).toString('hex');
  private run: RunResult | undefined;
  private attached: Attached | undefined;
  private timers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Frozen by pauseAfter; what thaws it is in `thawing`, which sends wait for. */
  paused = false;
  private thawing: Promise<void> = Promise.resolve();
  private exited: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly ipcDir: string;
  private fileSeq = 0;

  constructor(private readonly rt: Runtime, private readonly config: Config, readonly opts: SessionOptions, private readonly hooks: SessionHooks) {
    this.ipcDir = join(opts.ipcRoot, opts.id);
  }

  get containerName(): string | undefined { return this.run?.name; }

  /** Creates and starts the container with `first` as the session's opening message. */
  async start(first: { id: string; text: string; traceparent?: string | undefined; files?: readonly InboundFile[] | undefined }): Promise<void> {
    const o = this.opts;
    // made while the container is created (a summary may call the model)
    const history = o.history?.();
    const useDir = o.followups !== 'stdin';
    if (useDir) {
      // the root is ours alone; the session's folder is new (a leftover name is an error, not reused)
      mkdirSync(o.ipcRoot, { recursive: true, mode: 0o700 });
      mkdirSync(this.ipcDir, { mode: 0o700 });
      const [uid, gid] = o.agent.agent.spec.user.split(':').map(Number);
      setDirMode(this.ipcDir, 0o700, this.config.uid === 0 ? { uid: uid!, gid: gid ?? uid! } : undefined);
    }
    const agent = { ...o.agent, agent: { ...o.agent.agent, metadata: { ...o.agent.agent.metadata, name: sessionContainerName(o.group) } } };
    this.run = await createAgent(this.rt, this.config, agent, {
      name: sessionContainerName(o.group),
      say: () => undefined,
      extra: {
        openStdin: true,
        startDoc: true,
        ...(o.sandboxes ? { secretFiles: o.sandboxes.secretFiles } : {}),
        labels: { [LABELS.role]: 'session', [LABELS.control]: o.controlId, [LABELS.session]: o.id, [LABELS.group]: o.group },
        mounts: [
          ...(o.gatewayDir ? [{ kind: 'bind' as const, source: o.gatewayDir, target: CONTROL_DEFAULTS.gatewayMountPath, readOnly: true }] : []),
          ...(useDir ? [{ kind: 'bind' as const, source: this.ipcDir, target: CONTROL_DEFAULTS.ipcMountPath, readOnly: false, agentOwned: true }] : []),
        ],
      },
    });
    try {
      this.attached = await this.rt.attach(this.run.id);
      this.exited = this.pump(this.attached);
      await this.rt.startContainer(this.run.id);
      await startSidecarOf(this.rt, this.run);
    } catch (e) {
      this.attached?.close();
      await undoCreate(this.rt, this.config, this.run);
      this.cleanupIpc();
      throw e;
    }
    const earlier = (await history) ?? [];
    const doc: StartDoc = {
      type: 'start', protocol: PROTOCOL_VERSION, sessionId: o.id, nonce: this.nonce,
      message: { id: first.id, text: first.text, ...(first.files ? { files: first.files } : {}) }, model: o.model, ...(o.system ? { system: o.system } : {}),
      ...(earlier.length ? { history: earlier } : {}),
      ...(first.traceparent ? { traceparent: first.traceparent } : {}),
      workspace: o.agent.agent.spec.workspace.mountPath, maxTurns: o.maxTurns,
      tools: { mcpConfig: '/opt/clawpod/mcp/servers.json', ...(o.sandboxes ? { mcpServers: o.sandboxes.mcpServers } : {}), ...withShell(o.agent.agent.spec) },
      input: o.followups === 'stdin' ? { mode: 'stdin' } : { mode: 'dir', path: CONTROL_DEFAULTS.ipcMountPath, ...(o.followups === 'poll' ? { pollMs: CONTROL_DEFAULTS.pollMs } : {}) },
    };
    this.attached.stdin.write(`${JSON.stringify(doc)}\n`);
    this.inflight.add(first.id);
    this.phase = 'busy';
    this.timers.push(setTimeout(() => this.hooks.onExpired(this, `deadline of ${o.deadlineMs / 60000} min reached`), o.deadlineMs).unref());
  }

  /** Hands a follow-up to the running runner: a file renamed into its watched folder, or a stdin line. */
  deliver(m: { id: string; text: string; traceparent?: string | undefined; files?: readonly InboundFile[] | undefined }): void {
    this.inflight.add(m.id);
    this.phase = 'busy';
    this.clearIdle();
    // chained: a freeze under way finishes first, then the thaw undoes it
    if (this.paused) this.thawing = this.thawing.then(() => this.thaw());
    // after a thaw, in order: a follow-up written to a frozen runner would wait for it anyway. A
    // thaw that failed is still followed by the send; a send that fails (the agent put something in
    // the way of the file's name, its folder is gone) fails that message, never the daemon.
    this.thawing = this.thawing
      .catch((e: unknown) => this.hooks.onBadOutput(this, 'stderr', `could not thaw the paused session: ${messageOf(e)}`))
      .then(() => this.send({ type: 'message', id: m.id, text: m.text, ...(m.traceparent ? { traceparent: m.traceparent } : {}), ...(m.files ? { files: m.files } : {}) }))
      .catch((e: unknown) => this.undeliverable(m.id, messageOf(e)));
  }

  /** Ends a follow-up that could not be handed to the runner the way the runner ends one: error, then end. */
  private undeliverable(id: string, why: string): void {
    this.event({ type: 'error', messageId: id, code: 'internal', message: `the follow-up could not be delivered to the session: ${why}` });
    this.event({ type: 'end', messageId: id, stopReason: 'error' });
  }

  private async thaw(): Promise<void> {
    const run = this.run;
    this.paused = false;
    if (run && hasPausing(this.rt)) await this.rt.unpauseContainer(run.id);
  }

  private async freeze(): Promise<void> {
    const run = this.run;
    // only a runtime with pausing is given pauseAfterMs (daemon.ts)
    if (!run || this.phase !== 'idle' || this.paused || !hasPausing(this.rt)) return;
    this.paused = true;
    try { await this.rt.pauseContainer(run.id); } catch (e) {
      this.paused = false;
      this.hooks.onBadOutput(this, 'stderr', `could not pause the idle session: ${messageOf(e)}`);
    }
  }

  private send(msg: Inbound): void {
    if (this.opts.followups === 'stdin') { this.attached?.stdin.write(`${JSON.stringify(msg)}\n`); return; }
    // write + rename: the runner never sees a half-written file. The folder is the agent's to
    // write: the temporary name is unguessable and opened O_EXCL|O_NOFOLLOW, so a symlink or hard
    // link planted there makes the send fail instead of writing through it; rename(2) replaces a
    // planted final name (the link itself, never its target).
    const name = msg.type === 'close' ? '_close' : `${String(++this.fileSeq).padStart(8, '0')}-${msg.id}.json`;
    const tmp = join(this.ipcDir, `.tmp-${randomBytes(12).toString('hex')}-${name}`);
    // 0644 as before: in rootless Podman the agent reads it as "other" (the host user maps to its root)
    writeNewFile(tmp, msg.type === 'close' ? '' : JSON.stringify(msg), { mode: 0o644 });
    try { renameSync(tmp, join(this.ipcDir, name)); } catch (e) {
      try { unlinkSync(tmp); } catch { /* the agent may have removed it */ }
      throw e;
    }
  }

  /** Reads the attach stream until the container exits. */
  private async pump(a: Attached): Promise<void> {
    // a `file` frame carries a whole file (base64): the longest line the runner may write
    const out = new LineSplitter(FILE_FRAME_CHARS + 1024);
    const err = new LineSplitter();
    try {
      for await (const chunk of a.output) {
        // bytes, not chunk.toString(): a UTF-8 character split between chunks must stay whole
        if (chunk.stream === 'stderr') { for (const l of err.push(chunk.data)) if (l) this.hooks.onBadOutput(this, 'stderr', l); continue; }
        for (const line of out.push(chunk.data)) this.line(line);
      }
    } catch (e) {
      // the stream broke: the exit code says what happened locally; on a cluster the reason is
      // here (a Pod that never ran: an image that cannot be pulled), so it goes into the events
      this.hooks.onBadOutput(this, 'stderr', `the container's output ended: ${messageOf(e)}`);
    }
    for (const line of out.flush()) this.line(line);
    for (const l of err.flush()) this.hooks.onBadOutput(this, 'stderr', l);
  }

  private line(line: string): void {
    if (!line) return;
    const d = decodeLine(this.nonce, line);
    if (d.kind === 'event') this.event(d.event);
    else this.hooks.onBadOutput(this, d.kind, d.kind === 'malformed' ? `${d.reason}: ${d.line.slice(0, 200)}` : d.line.slice(0, 2000));
  }

  private event(e: RunnerEvent): void {
    // a runner speaks for the messages it was given, never for another group's (whose ids it may learn)
    if (e.type !== 'span' && 'messageId' in e && typeof e.messageId === 'string' && !this.inflight.has(e.messageId)) {
      this.hooks.onBadOutput(this, 'malformed', `a ${e.type} frame for message ${e.messageId}, which this session is not working on`);
      return;
    }
    if (e.type === 'end') {
      this.inflight.delete(e.messageId);
      if (this.inflight.size === 0 && this.phase === 'busy') {
        this.phase = 'idle';
        this.idleSince = Date.now();
        if (this.retireReason) { this.hooks.onExpired(this, this.retireReason); this.hooks.onEvent(this, e); return; }
        this.idleTimer = setTimeout(() => this.hooks.onExpired(this, `idle for ${this.opts.idleTimeoutMs / 60000} min`), this.opts.idleTimeoutMs).unref();
        if (this.opts.pauseAfterMs !== undefined && this.opts.pauseAfterMs < this.opts.idleTimeoutMs) {
          this.pauseTimer = setTimeout(() => { this.thawing = this.thawing.then(() => this.freeze()); }, this.opts.pauseAfterMs).unref();
        }
      }
    }
    this.hooks.onEvent(this, e);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.idleTimer = undefined;
    this.pauseTimer = undefined;
    this.idleSince = undefined;
  }

  private retireReason: string | undefined;

  /** Ends the session once it is idle (now, if it is): what it runs with is out of date (its group's model). */
  retire(reason: string): void {
    if (this.phase === 'closing' || this.phase === 'removing') return;
    if (this.phase === 'idle') this.hooks.onExpired(this, reason);
    else this.retireReason = reason;
  }

  /** Graceful close: close message, wait `grace`, then stop (SIGTERM, SIGKILL after grace). Idempotent. */
  close(reason: string): Promise<void> {
    this.closeReason ??= reason;
    this.closing ??= this.doClose(reason);
    return this.closing;
  }

  private async doClose(reason: string): Promise<void> {
    this.phase = 'closing';
    this.clearIdle();
    for (const t of this.timers) clearTimeout(t);
    const run = this.run;
    let exitCode = -1;
    let removed = true;
    if (run) {
      // a frozen runner can neither read its close message nor take a stop signal
      await this.thawing.catch(() => undefined);
      if (this.paused) await this.thaw().catch(() => undefined);
      try { this.send({ type: 'close' }); } catch { /* the runner may be gone already */ }
      const graceSec = Math.max(1, Math.ceil(this.opts.graceMs / 1000));
      const exitedInTime = await Promise.race([
        (this.exited ?? Promise.resolve()).then(() => true),
        new Promise<boolean>((res) => setTimeout(() => res(false), this.opts.graceMs).unref()),
      ]);
      if (!exitedInTime) await this.rt.stopContainer(run.id, graceSec).catch(() => undefined);
      await this.exited;
      exitCode = (await this.rt.inspectContainer(run.id).catch(() => undefined))?.exitCode ?? -1;
      this.phase = 'removing';
      this.hooks.onStopped?.(this);
      this.attached?.close();
      removed = await undoCreate(this.rt, this.config, { ...run, volumeCreated: false }).then(() => true, (e: unknown) => {
        this.hooks.onBadOutput(this, 'stderr', `could not remove container ${run.name}: ${messageOf(e)}`);
        return false;
      });
    }
    // a recursive remove must not race an agent that still runs (it could swap a folder for a
    // symlink mid-walk): with the container left, the next control plane start removes both
    if (removed) this.cleanupIpc();
    this.hooks.onExit(this, exitCode, reason);
  }

  /** The container ended by itself (crash, or the runner exited): clean up as if closed. */
  watchExit(): void {
    void this.exited?.then(() => { if (this.phase !== 'closing' && this.phase !== 'removing') void this.close('the runner exited'); });
  }

  private cleanupIpc(): void {
    // rmSync unlinks symlinks the agent left in the folder; it never follows them
    rmSync(this.ipcDir, { recursive: true, force: true });
  }
}
