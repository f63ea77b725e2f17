// The conversation as the runner keeps it, independent of any provider. Each provider client
// translates it to its wire format on every call, so switching provider needs no rebuild.
import type { Provider } from '../protocol.js';

/** Opaque provider data that must be sent back verbatim (e.g. Gemini's thoughtSignature). */
export type Meta = Readonly<Record<string, unknown>>;

export type Part =
  | { readonly type: 'text'; readonly text: string; readonly meta?: Meta }
  | {
      readonly type: 'tool_call'; readonly id: string; readonly name: string; readonly input: unknown; readonly meta?: Meta;
      /** Set when the model's arguments were not JSON; the tool is not run and the model is told why. */
      readonly badArguments?: string;
    }
  | { readonly type: 'tool_result'; readonly id: string; readonly name: string; readonly output: string; readonly isError: boolean };

export type ToolCallPart = Extract<Part, { type: 'tool_call' }>;

export interface Turn { readonly role: 'user' | 'assistant'; readonly parts: readonly Part[] }

export interface ToolSpec { readonly name: string; readonly description: string; readonly inputSchema: Readonly<Record<string, unknown>> }

export interface Usage { inputTokens: number; outputTokens: number }

export interface ModelRequest {
  readonly system?: string;
  readonly turns: readonly Turn[];
  readonly tools: readonly ToolSpec[];
  readonly signal: AbortSignal;
  /** Called with each piece of text as it streams in. */
  readonly onText: (delta: string) => void;
  /** Sent along with the call (a W3C traceparent); never credentials, which come from the ModelConfig. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ModelReply { readonly parts: readonly Part[]; readonly usage: Usage }

export interface ModelClient {
  readonly provider: Provider;
  complete(req: ModelRequest): Promise<ModelReply>;
}

// any: provider wire JSON. Every field a client reads is converted (String/Number) or checked
// where it is used, so a malformed stream becomes a ProviderError, not a crash.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Wire = Record<string, any>;
