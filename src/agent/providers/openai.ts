// OpenAI-compatible Chat Completions, streamed: POST {baseUrl}/chat/completions with a Bearer
// key. baseUrl includes /v1 (the OpenAI SDK's convention), so the same code serves OpenAI,
// OpenRouter, vLLM, Ollama and LiteLLM.
import { ProviderError } from '../errors.js';
import { RUNNER_DEFAULTS, type ModelConfig } from '../protocol.js';
import { parseEventJson, ReplyBuilder, streamEvents } from './reply.js';
import type { HttpTransport } from './transport.js';
import type { ModelClient, ModelReply, ModelRequest, Turn, Wire } from './types.js';

export function openaiClient(cfg: ModelConfig & { baseUrl: string }, t: HttpTransport): ModelClient {
  // OpenAI's own newer models refuse max_tokens; most compatible servers know only max_tokens
  const maxKey = /^https:\/\/api\.openai\.com(\/|$)/.test(cfg.baseUrl) ? 'max_completion_tokens' : 'max_tokens';
  return {
    provider: 'openai',
    async complete(req: ModelRequest): Promise<ModelReply> {
      const b = new ReplyBuilder('openai', req.onText);
      const current = new Map<number, string>();
      const body = {
        model: cfg.model,
        stream: true,
        stream_options: { include_usage: true },
        ...(cfg.maxTokens ? { [maxKey]: cfg.maxTokens } : {}),
        ...(cfg.temperature !== undefined ? { temperature: cfg.temperature } : {}),
        // an empty tools array is refused by some compatible servers
        ...(req.tools.length ? { tools: req.tools.map((x) => ({ type: 'function', function: { name: x.name, description: x.description, parameters: x.inputSchema } })) } : {}),
        messages: [...(req.system ? [{ role: 'system', content: req.system }] : []), ...req.turns.flatMap(toWire)],
      };
      const headers: Record<string, string> = { ...req.headers, ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) };
      await streamEvents(t, { provider: 'openai', model: cfg.model, baseUrl: cfg.baseUrl, path: '/chat/completions', headers, body, timeoutMs: cfg.timeoutMs ?? RUNNER_DEFAULTS.modelTimeoutMs, signal: req.signal }, (ev) => {
        if (ev.data.trim() === '[DONE]') { b.complete = true; return; }
        const d: Wire = parseEventJson('openai', ev);
        if (d.error) throw new ProviderError(undefined, `openai (model ${cfg.model}) reported an error mid-stream: ${d.error.message ?? JSON.stringify(d.error).slice(0, 200)}`);
        if (d.usage) {
          b.usage.inputTokens = Number(d.usage.prompt_tokens ?? 0);
          b.usage.outputTokens = Number(d.usage.completion_tokens ?? 0);
        }
        const choice: Wire | undefined = d.choices?.[0];
        if (!choice) return;
        if (typeof choice.delta?.content === 'string') b.text(choice.delta.content);
        for (const tc of (choice.delta?.tool_calls ?? []) as Wire[]) {
          // a call is (index, id): some servers omit index, or send several whole calls at index 0
          const index = Number(tc.index ?? 0);
          if (tc.function?.name && (!current.has(index) || (tc.id && current.get(index) !== `${index}:${tc.id}`))) {
            current.set(index, `${index}:${tc.id ?? ''}`);
            b.toolStart(current.get(index)!, tc.id, String(tc.function.name));
          }
          const key = current.get(index);
          if (key !== undefined && tc.function?.arguments) b.toolArgs(key, String(tc.function.arguments));
        }
        // servers that never send [DONE] still send a finish_reason
        if (choice.finish_reason) b.complete = true;
      });
      return b.finish();
    },
  };
}

function toWire(turn: Turn): Wire[] {
  const text = turn.parts.flatMap((p) => (p.type === 'text' && p.text ? [p.text] : [])).join('\n\n');
  if (turn.role === 'assistant') {
    const calls = turn.parts.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, type: 'function', function: { name: p.name, arguments: JSON.stringify(p.input ?? {}) } }] : []));
    return [{ role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) }];
  }
  const results = turn.parts.flatMap((p) => (p.type === 'tool_result' ? [{ role: 'tool', tool_call_id: p.id, content: p.output }] : []));
  return [...results, ...(text ? [{ role: 'user', content: text }] : [])];
}
