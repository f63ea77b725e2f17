// Google Gemini, streamed: POST {baseUrl}/v1beta/models/{model}:streamGenerateContent?alt=sse
// with x-goog-api-key. Tool schemas go as parametersJsonSchema (full JSON Schema, which MCP
// servers produce) rather than the OpenAPI subset of `parameters`.
import { ProviderError } from '../errors.js';
import { RUNNER_DEFAULTS, type ModelConfig } from '../protocol.js';
import { parseEventJson, ReplyBuilder, streamEvents } from './reply.js';
import type { HttpTransport } from './transport.js';
import type { Meta, ModelClient, ModelReply, ModelRequest, Turn, Wire } from './types.js';

export function geminiClient(cfg: ModelConfig & { baseUrl: string }, t: HttpTransport): ModelClient {
  const model = cfg.model.replace(/^models\//, '');
  return {
    provider: 'gemini',
    async complete(req: ModelRequest): Promise<ModelReply> {
      const b = new ReplyBuilder('gemini', req.onText);
      const generationConfig = {
        ...(cfg.maxTokens ? { maxOutputTokens: cfg.maxTokens } : {}),
        ...(cfg.temperature !== undefined ? { temperature: cfg.temperature } : {}),
      };
      const body = {
        contents: req.turns.map(toWire),
        ...(req.system ? { systemInstruction: { parts: [{ text: req.system }] } } : {}),
        ...(req.tools.length ? { tools: [{ functionDeclarations: req.tools.map((x) => ({ name: x.name, description: x.description, parametersJsonSchema: x.inputSchema })) }] } : {}),
        ...(Object.keys(generationConfig).length ? { generationConfig } : {}),
      };
      const headers: Record<string, string> = { ...req.headers, ...(cfg.apiKey ? { 'x-goog-api-key': cfg.apiKey } : {}) };
      const path = `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`;
      await streamEvents(t, { provider: 'gemini', model, baseUrl: cfg.baseUrl, path, headers, body, timeoutMs: cfg.timeoutMs ?? RUNNER_DEFAULTS.modelTimeoutMs, signal: req.signal }, (ev) => {
        const d: Wire = parseEventJson('gemini', ev);
        if (d.error) throw new ProviderError(Number(d.error.code) || undefined, `gemini (model ${model}) reported an error mid-stream: ${d.error.message ?? JSON.stringify(d.error).slice(0, 200)}`);
        if (d.promptFeedback?.blockReason) throw new ProviderError(undefined, `gemini (model ${model}) blocked the prompt: ${d.promptFeedback.blockReason}`);
        if (d.usageMetadata) {
          // running totals, not increments
          b.usage.inputTokens = Number(d.usageMetadata.promptTokenCount ?? 0);
          b.usage.outputTokens = Number(d.usageMetadata.candidatesTokenCount ?? 0);
        }
        const cand: Wire | undefined = d.candidates?.[0];
        for (const p of (cand?.content?.parts ?? []) as Wire[]) {
          // Gemini 3 refuses a history whose calls lost their thoughtSignature
          const meta: Meta | undefined = p.thoughtSignature ? { thoughtSignature: p.thoughtSignature } : undefined;
          if (p.functionCall) b.toolWhole(p.functionCall.id, String(p.functionCall.name), p.functionCall.args ?? {}, meta);
          else if (typeof p.text === 'string' && !p.thought) b.text(p.text, meta);
        }
        if (cand?.finishReason) b.complete = true;
      });
      return b.finish();
    },
  };
}

function toWire(turn: Turn): Wire {
  const sig = (meta: Meta | undefined): Wire => (meta?.thoughtSignature ? { thoughtSignature: meta.thoughtSignature } : {});
  const parts: Wire[] = [];
  for (const p of turn.parts) {
    if (p.type === 'tool_result') parts.push({ functionResponse: { name: p.name, response: p.isError ? { error: p.output } : { output: p.output } } });
  }
  for (const p of turn.parts) {
    if (p.type === 'text' && (p.text || p.meta)) parts.push({ text: p.text, ...sig(p.meta) });
    else if (p.type === 'tool_call') parts.push({ functionCall: { name: p.name, args: p.input ?? {} }, ...sig(p.meta) });
  }
  return { role: turn.role === 'assistant' ? 'model' : 'user', parts };
}
