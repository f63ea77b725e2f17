// Token counts out of a provider's streamed (or plain JSON) answer, as the gateway forwards it.
// Pure: fed one SSE `data` payload (or the whole JSON body) at a time.
import type { Provider } from '../../agent/protocol.js';

export interface Counted { input: number; output: number }

export function countUsage(provider: Provider, data: string, into: Counted): void {
  let d: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- provider JSON
  try { d = JSON.parse(data) as typeof d; } catch { return; }
  if (provider === 'anthropic') {
    // message_start carries input (and a first output count); message_delta the running output total
    const start = d.message?.usage ?? (d.type === 'message' ? d.usage : undefined);
    if (start) { into.input = Number(start.input_tokens ?? into.input); into.output = Number(start.output_tokens ?? into.output); }
    if (d.type === 'message_delta' && d.usage?.output_tokens !== undefined) into.output = Number(d.usage.output_tokens);
  } else if (provider === 'openai') {
    if (d.usage) { into.input = Number(d.usage.prompt_tokens ?? 0); into.output = Number(d.usage.completion_tokens ?? 0); }
  } else if (d.usageMetadata) {
    into.input = Number(d.usageMetadata.promptTokenCount ?? 0);
    into.output = Number(d.usageMetadata.candidatesTokenCount ?? 0);
  }
}

/** Start of the budget period holding `now`: periods are multiples of periodMs since the epoch. */
export function periodStart(now: number, periodMs: number): string {
  return new Date(Math.floor(now / periodMs) * periodMs).toISOString();
}
