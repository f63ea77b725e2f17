// Provider clients: small protocol clients on node:http with one shared SSE parser and reply
// builder, instead of the official SDKs. Why (checked 2026-11 against the npm registry):
// - openai@7 and @google/genai@3 declare engines node >=22; the runner and its image run Node 20.
//   The previous majors would run (openai@6 declares no engines, @google/genai@2 >=20;
//   @anthropic-ai/sdk declares none), but @google/genai@2 pulls google-auth-library, protobufjs
//   and ws into a runner that needs one streaming POST per turn.
// - A unix-socket baseUrl (an LLM gateway mounted into a container with network none) needs a
//   custom fetch for every SDK anyway (Node 20's fetch reaches a socket only through the separate
//   undici package's Agent); node:http takes `socketPath` directly.
// - The tool loop needs one normalized conversation; with SDKs we would still translate each
//   provider's types both ways, so the SDKs would save only the SSE parsing, which is ~50 lines.
// - Start time: every session start parses the bundle; three SDKs would be most of it.
// What we give up: SDK retries (the host's queue retries a failed message) and new API features
// arrive only when added here. Each client is ~70 lines against a documented wire format.
import { DEFAULT_BASE_URLS, type ModelConfig, type Provider } from '../protocol.js';
import { anthropicClient } from './anthropic.js';
import { geminiClient } from './gemini.js';
import { openaiClient } from './openai.js';
import type { HttpTransport } from './transport.js';
import type { ModelClient } from './types.js';

const CLIENTS: Record<Provider, (cfg: ModelConfig & { baseUrl: string }, t: HttpTransport) => ModelClient> = {
  anthropic: anthropicClient,
  openai: openaiClient,
  gemini: geminiClient,
};

/** The client for cfg.provider, at cfg.baseUrl or the provider's public endpoint. */
export function modelClient(cfg: ModelConfig, t: HttpTransport): ModelClient {
  const make = CLIENTS[cfg.provider];
  if (!make) throw new TypeError(`model.provider ${JSON.stringify(cfg.provider)} is not one of ${Object.keys(CLIENTS).join(', ')}`);
  return make({ ...cfg, baseUrl: cfg.baseUrl ?? DEFAULT_BASE_URLS[cfg.provider] }, t);
}

export { HttpTransport } from './transport.js';
export type * from './types.js';
