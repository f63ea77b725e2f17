// Assembles one streamed model reply, whatever the provider: text deltas go out as they come,
// tool calls are collected (whole, or as JSON fragments keyed by the provider's block index).
import { randomUUID } from 'node:crypto';
import { ProviderError } from '../errors.js';
import type { Provider } from '../protocol.js';
import type { Meta, ModelReply, Part, Usage } from './types.js';
import { SseParser, type SseEvent } from '../../shared/sse.js';
import type { HttpTransport, PostOptions } from './transport.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Slot = { id: string; name: string; args: string; meta?: Meta; at: number };

export class ReplyBuilder {
  private readonly parts: Mutable<Part>[] = [];
  private readonly calls = new Map<string | number, Slot>();
  readonly usage: Usage = { inputTokens: 0, outputTokens: 0 };
  /** Set by the provider when it has seen its end-of-reply event; a stream cut short is an error. */
  complete = false;

  constructor(private readonly provider: Provider, private readonly onText: (delta: string) => void) {}

  text(delta: string, meta?: Meta): void {
    if (!delta && !meta) return;
    const last = this.parts[this.parts.length - 1];
    if (last?.type === 'text') {
      last.text += delta;
      if (meta) last.meta = { ...last.meta, ...meta };
    } else this.parts.push({ type: 'text', text: delta, ...(meta ? { meta } : {}) });
    if (delta) this.onText(delta);
  }

  /** A tool call whose arguments arrive later as fragments under `key`. A repeated key is ignored. */
  toolStart(key: string | number, id: string | undefined, name: string, meta?: Meta): void {
    if (this.calls.has(key)) return;
    this.calls.set(key, { id: id || newCallId(), name, args: '', ...(meta ? { meta } : {}), at: this.parts.length });
    this.parts.push({ type: 'tool_call', id: '', name, input: undefined });
  }

  toolArgs(key: string | number, fragment: string): void {
    const slot = this.calls.get(key);
    if (!slot) throw new ProviderError(undefined, `${this.provider} streamed tool arguments for a call it never started (${String(key)})`);
    slot.args += fragment;
  }

  /** A tool call that arrives in one piece (Gemini). */
  toolWhole(id: string | undefined, name: string, input: unknown, meta?: Meta): void {
    this.parts.push({ type: 'tool_call', id: id || newCallId(), name, input: input ?? {}, ...(meta ? { meta } : {}) });
  }

  finish(): ModelReply {
    if (!this.complete) throw new ProviderError(undefined, `${this.provider} ended the stream before its final event (the reply is incomplete)`);
    for (const slot of this.calls.values()) {
      let input: unknown = {};
      let badArguments: string | undefined;
      if (slot.args.trim()) {
        try { input = JSON.parse(slot.args); } catch (e) { badArguments = `the arguments were not valid JSON (${(e as Error).message}): ${slot.args.slice(0, 200)}`; }
      }
      this.parts[slot.at] = { type: 'tool_call', id: slot.id, name: slot.name, input, ...(slot.meta ? { meta: slot.meta } : {}), ...(badArguments ? { badArguments } : {}) };
    }
    return { parts: this.parts.filter((p) => p.type !== 'text' || p.text || p.meta), usage: this.usage };
  }
}

function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

/** POSTs and hands every SSE event of the answer to onEvent. */
export async function streamEvents(t: HttpTransport, o: PostOptions, onEvent: (ev: SseEvent) => void): Promise<void> {
  const sse = new SseParser();
  await t.stream(o, (chunk) => { for (const ev of sse.push(chunk)) onEvent(ev); });
  for (const ev of sse.end()) onEvent(ev);
}

export function parseEventJson(provider: Provider, ev: SseEvent): Record<string, unknown> {
  try {
    const v = JSON.parse(ev.data) as unknown;
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new ProviderError(undefined, `${provider} sent a malformed stream event (expected a JSON object): ${ev.data.slice(0, 200)}`);
}
