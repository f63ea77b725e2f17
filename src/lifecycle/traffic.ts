// What the front proxy tells a lifecycle (the daemon's, or the activator's in a cluster) and asks of
// it besides a wake: when an agent last had traffic, how many requests and WebSockets it has open
// (one open means it is not idle), and where it answers while it is known to be awake.

export interface WakeResult {
  readonly name: string;
  readonly from: 'running' | 'paused' | 'stopped';
  readonly ms: number;
  /** Where its main port answers (none when it publishes none). */
  readonly url?: string;
  /** Every port it answers on. */
  readonly ports: readonly { readonly containerPort: number; readonly url: string }[];
}

export abstract class Traffic {
  protected readonly activity = new Map<string, number>();
  protected readonly open = new Map<string, number>();
  /** Dropped the moment the agent is paused, stopped or scaled down. */
  protected readonly endpoints = new Map<string, WakeResult>();

  /** Monotonic ms: a clock jump does not make an agent idle. */
  protected abstract mono(): number;

  /** Activity: the agent's idle time starts again. */
  touch(name: string): void { this.activity.set(name, this.mono()); }
  endpoint(name: string): WakeResult | undefined { return this.endpoints.get(name); }
  forgetEndpoint(name: string): void { this.endpoints.delete(name); }
  begin(name: string): void { this.open.set(name, (this.open.get(name) ?? 0) + 1); this.touch(name); }
  end(name: string): void {
    const n = (this.open.get(name) ?? 1) - 1;
    if (n <= 0) this.open.delete(name); else this.open.set(name, n);
    this.touch(name);
  }
}

/** The last 20 measured wake times: their median is the expected wait a `waking` answer gives. */
export class WakeTimes {
  private readonly xs: number[] = [];
  constructor(private readonly firstGuessMs: number) {}
  add(ms: number): void {
    this.xs.push(ms);
    if (this.xs.length > 20) this.xs.shift();
  }
  /** Before any was measured, the first guess. */
  median(): number {
    const s = [...this.xs].sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)]! : this.firstGuessMs;
  }
}
