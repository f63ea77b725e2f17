// A per-chat sliding window: at most `limit` messages within `windowMs`. One chat flooding its bot
// must not fill the queue every other group shares; it gets one polite answer per window.

export class ChatRateLimit {
  private readonly seen = new Map<string, number[]>();
  private readonly told = new Map<string, number>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** 'ok' (counted), 'refuse-and-tell' (the first refusal in this window), or 'refuse' (already told). */
  take(chat: string): 'ok' | 'refuse-and-tell' | 'refuse' {
    const t = this.now();
    const recent = (this.seen.get(chat) ?? []).filter((x) => t - x < this.windowMs);
    if (recent.length < this.limit) {
      recent.push(t);
      this.seen.set(chat, recent);
      return 'ok';
    }
    this.seen.set(chat, recent);
    const last = this.told.get(chat);
    if (last !== undefined && t - last < this.windowMs) return 'refuse';
    this.told.set(chat, t);
    return 'refuse-and-tell';
  }

  /** Seconds until the chat may send again. */
  retryInS(chat: string): number {
    const oldest = (this.seen.get(chat) ?? [])[0];
    return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }
}
