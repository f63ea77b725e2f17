// Sandboxes (docs/sandbox-api.md): hardened agent containers a program drives over the API. Who
// owns which is the control plane's store (table sandboxes), never a container's labels; every act
// goes to the container id recorded there, so a container renamed or planted under a sandbox's
// name is not it. A caller scoped to an owner sees that owner's sandboxes only, and another's
// answers like a missing one. A create is checked whole (spec, limits, count) before anything is
// made, and undone whole when it fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import type { SandboxRow, Store } from '../control/store.js';
import { removeAgent } from '../ops/lifecycle.js';
import { createAgent, undoCreate, type RunResult } from '../ops/run.js';
import type { ContainerDetails, ContainerInfo, ContainerState, Runtime } from '../runtime/runtime.js';
import { unpauseIfPaused } from '../runtime/facets.js';
import { LABELS } from '../spec/defaults.js';
import { withKeeper } from './keeper.js';
import { checkCount, DEFAULT_SANDBOX_LIMITS, withinLimits, type SandboxLimits } from './limits.js';
import { claimFromPool } from './pool.js';
import { freshName, loadRequest, type CreateRequest } from './request.js';

/** Who asks: an admin (owner undefined: every sandbox, no limits) or a sandbox:OWNER token with its limits. */
export interface Caller { readonly owner?: string; readonly limits?: SandboxLimits }

export interface SandboxView {
  id: string; name: string; state: string; image: string; owner: string | null; createdAt: string;
  claimedFrom?: string;
  limits?: { cpus: number; memoryBytes: number; pids: number };
}

/** What the sandboxes tell the rest of the control plane: acts for its event log, use for its idle clock. */
export interface SandboxHooks {
  note?(name: string, type: string, data: object): void;
  touch?(name: string): void;
}

/** A row still being created is this old at most before a listing forgets it (its creator died). */
const CREATING_MS = 10 * 60_000;

const stateOf = (s: ContainerState): string => (s === 'created' || s === 'exited' || s === 'dead' ? 'stopped' : s);

export class Sandboxes {
  constructor(readonly rt: Runtime, readonly config: Config, private readonly store: Store, private readonly hooks: SandboxHooks = {}) {}

  private view(row: SandboxRow, c: ContainerInfo | ContainerDetails): SandboxView {
    const d = 'nanoCpus' in c ? c : undefined;
    return {
      id: row.name, name: row.name, state: stateOf(c.state), image: c.image, owner: row.owner, createdAt: row.created_at,
      ...(row.claimed_from ? { claimedFrom: row.claimed_from } : {}),
      ...(d ? { limits: { cpus: d.nanoCpus / 1e9, memoryBytes: d.memoryBytes, pids: d.pidsLimit } } : {}),
    };
  }

  private hidden(name: string): ClawpodError {
    return new ClawpodError('NOT_FOUND', `no sandbox named ${name}`, { hint: 'GET /v1/sandboxes lists the sandboxes this token sees' });
  }

  /** The caller's sandbox and its container, or the one 404 a missing sandbox gets. */
  async get(caller: Caller, name: string): Promise<{ row: SandboxRow; d: ContainerDetails }> {
    const row = this.store.sandbox(name);
    if (!row || row.container_id === null || (caller.owner !== undefined && row.owner !== caller.owner)) throw this.hidden(name);
    const d = await this.rt.inspectContainer(row.container_id);
    // renamed away (and maybe another container under the name): not this sandbox any more
    if (!d || d.name !== name) { this.store.deleteSandbox(name); throw this.hidden(name); }
    return { row, d };
  }

  async describe(caller: Caller, name: string): Promise<SandboxView> {
    const { row, d } = await this.get(caller, name);
    return this.view(row, d);
  }

  /** Rows whose container is gone (a ttl, `clawpod rm`) are forgotten; the rest with their container. */
  private async live(owner: string | undefined): Promise<{ row: SandboxRow; c: ContainerInfo | undefined }[]> {
    const byId = new Map((await this.rt.listContainers({ all: true, labels: { [LABELS.managed]: 'true' } })).map((c) => [c.id, c]));
    const out: { row: SandboxRow; c: ContainerInfo | undefined }[] = [];
    for (const row of this.store.sandboxes(owner)) {
      const c = row.container_id === null ? undefined : byId.get(row.container_id);
      const gone = row.container_id === null ? Date.now() - Date.parse(row.created_at) > CREATING_MS : !c;
      if (gone) this.store.deleteSandbox(row.name);
      else out.push({ row, c });
    }
    return out;
  }

  async list(caller: Caller): Promise<SandboxView[]> {
    return (await this.live(caller.owner)).flatMap(({ row, c }) => (c ? [this.view(row, c)] : []));
  }

  /**
   * Creates and starts a sandbox. A scoped caller's spec is held to its limits and its count is
   * taken with the row that reserves the name, in one synchronous step, so two creates at once
   * cannot both pass; nothing is made before.
   */
  async create(caller: Caller, req: CreateRequest, say: (s: string) => void = () => undefined): Promise<SandboxView> {
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-sandbox-spec-'));
    try {
      const { loaded, given } = loadRequest(req, dir);
      const limits = caller.owner === undefined ? undefined : caller.limits ?? DEFAULT_SANDBOX_LIMITS;
      const agent = withKeeper(limits ? withinLimits(loaded.agent, given, limits) : loaded.agent);
      const run = { ...loaded, agent };
      const name = req.name ?? (await this.freeName(agent.metadata.name));
      await this.forgetIfGone(name);
      const mine = caller.owner === undefined ? [] : await this.live(caller.owner);
      this.store.transaction(() => {
        if (caller.owner !== undefined) checkCount(caller.owner, mine.length, limits!);
        if (this.store.sandbox(name)) throw new ClawpodError('NAME_TAKEN', `a sandbox named ${name} already exists`, { hint: 'leave out name (one is made up), or pick another' });
        this.store.addSandbox({ name, owner: caller.owner ?? null });
      });
      try {
        let made: RunResult | undefined = req.pool ? await claimFromPool(this.rt, this.config, req.pool, run, name, say) : undefined;
        const claimedFrom = made ? req.pool! : null;
        if (!made) {
          made = await createAgent(this.rt, this.config, run, { name, say });
          try { await this.rt.startContainer(made.id); } catch (e) { await undoCreate(this.rt, this.config, made); throw e; }
          await made.finish?.commit();
        }
        this.store.setSandbox(name, { container_id: made.id, claimed_from: claimedFrom });
      } catch (e) {
        this.store.deleteSandbox(name);
        throw e;
      }
      this.hooks.note?.(name, 'sandbox_created', { owner: caller.owner ?? null, ...(req.pool ? { pool: req.pool } : {}) });
      return await this.describe(caller, name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The spec's name when no sandbox or container has it, else the name with a fresh suffix. */
  private async freeName(base: string): Promise<string> {
    await this.forgetIfGone(base);
    if (!this.store.sandbox(base) && !(await this.rt.inspectContainer(base))) return base;
    return freshName(base);
  }

  /** A row whose container was removed behind the API's back (`clawpod rm`, a ttl) frees its name. */
  private async forgetIfGone(name: string): Promise<void> {
    const row = this.store.sandbox(name);
    if (row?.container_id && (await this.rt.inspectContainer(row.container_id))?.name !== name) this.store.deleteSandbox(name);
  }

  /** A running sandbox to act in (a paused one is thawed); its use resets its idle clock. */
  async running(caller: Caller, name: string, what: string): Promise<ContainerDetails> {
    const { d } = await this.get(caller, name);
    if (d.state === 'paused') await unpauseIfPaused(this.rt, d);
    else if (d.state !== 'running') throw new ClawpodError('USAGE', `sandbox ${name} is ${stateOf(d.state)}: ${what} needs it running`, { hint: 'its files can still be read; kill it (DELETE /v1/sandboxes/{id}) and create another to run commands' });
    this.hooks.touch?.(name);
    return d;
  }

  async stop(caller: Caller, name: string): Promise<SandboxView> {
    const { d } = await this.get(caller, name);
    // a frozen container cannot take the stop signal until it is thawed
    await unpauseIfPaused(this.rt, d);
    if (d.state === 'running' || d.state === 'paused') await this.rt.stopContainer(d.id);
    this.hooks.note?.(name, 'sandbox_stopped', {});
    return this.describe(caller, name);
  }

  /** Removes the container, its secrets and the volumes it made (what `clawpod rm -f --volumes` does), then the row. */
  async kill(caller: Caller, name: string): Promise<void> {
    await this.get(caller, name);
    try { await removeAgent(this.rt, this.config, name, { force: true, volumes: true }); } catch (e) {
      if (!isClawpodError(e) || e.code !== 'NOT_FOUND') throw e;
    }
    this.store.deleteSandbox(name);
    this.hooks.note?.(name, 'sandbox_killed', {});
  }

  /** Kills every sandbox of one owner (a session's nested sandboxes when it ends); the first failure is thrown after trying all. */
  async killOwned(owner: string): Promise<void> {
    let first: unknown;
    for (const row of this.store.sandboxes(owner)) {
      try { await this.kill({ owner }, row.name); } catch (e) {
        if (isClawpodError(e) && e.code === 'NOT_FOUND') continue;
        first ??= e;
      }
    }
    if (first) throw first;
  }
}
