// `clawpod serve` keeps the ControlPlane's spec.pools filled: at start, then at every check (claims
// by `clawpod run`, the API or a stopped member show up as a short pool). One fill at a time, one
// member at a time, sharing each pool's lock with `clawpod pool fill` and the refills claims start;
// a pool whose fill fails waits longer each time (30 s doubling, at most 10 min) and the failure is
// a log line and a lifecycle event (`pool_fill_failed`), never the daemon's end.
import type { Config } from '../config.js';
import { messageOf } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { fillPool, loadPoolSpec } from '../ops/pool-fill.js';
import { redactor } from '../secrets/redact.js';
import type { ControlPlane } from './config.js';

/** How often the pools are checked when nothing asks sooner. */
const CHECK_MS = 10_000;
const BACKOFF_MS = 30_000;
const BACKOFF_MAX_MS = 10 * 60_000;

type PoolSpec = ControlPlane['spec']['pools'][number];

export interface PoolKeeperOptions {
  readonly config: Config;
  readonly rt: Runtime;
  readonly pools: readonly PoolSpec[];
  /** The ControlPlane file's folder: spec paths are relative to it. */
  readonly dir: string;
  readonly say: (line: string) => void;
  readonly event: (pool: string, type: string, data: object) => void;
}

export class PoolKeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly failures = new Map<number, { count: number; until: number }>();

  constructor(private readonly o: PoolKeeperOptions) {}

  start(): void {
    if (this.o.pools.length === 0) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** One pass over the pools; a pass under way is not doubled. */
  check(): Promise<void> {
    this.running ??= this.pass().finally(() => { this.running = undefined; });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    for (const [i, p] of this.o.pools.entries()) {
      if (this.stopping) return;
      const failed = this.failures.get(i);
      if (failed && Date.now() < failed.until) continue;
      const what = p.spec ?? `profile ${p.profile}`;
      try {
        const { loaded, source } = await loadPoolSpec(this.o.config, { ...(p.spec !== undefined ? { spec: p.spec } : { profile: p.profile! }), ...(p.version ? { version: p.version } : {}) }, this.o.dir);
        const r = await fillPool(this.o.rt, this.o.config, loaded, source, { size: p.size, say: this.o.say, waitMs: 0, stopped: () => this.stopping });
        // undefined: another filler holds the pool now; it is looked at again next time
        if (r && (r.started.length || r.removed.length)) this.o.say(`warm pool ${r.pool}: ${r.ready} of ${p.size} ready (${r.started.length} started, ${r.removed.length} removed)`);
        this.failures.delete(i);
      } catch (e) {
        const count = (failed?.count ?? 0) + 1;
        const waitMs = Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** (count - 1));
        this.failures.set(i, { count, until: Date.now() + waitMs });
        const message = redactor.redact(messageOf(e));
        this.o.say(`warm pool ${what}: fill failed (${count}×): ${message}; next try in ${Math.round(waitMs / 1000)} s`);
        this.o.event(what, 'pool_fill_failed', { message, attempt: count, retryInSeconds: Math.round(waitMs / 1000) });
      }
    }
  }
}
