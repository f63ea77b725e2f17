// Anthropic Messages API, streamed: POST {baseUrl}/v1/messages with x-api-key.
import { ProviderError } from '../errors.js';
import { RUNNER_DEFAULTS, type ModelConfig } from '../protocol.js';
import { parseEventJson, ReplyBuilder, streamEvents } from './reply.js';
import type { HttpTransport } from './transport.js';
import type { ModelClient, ModelReply, ModelRequest, Turn, Wire } from './types.js';

export function anthropicClient(cfg: ModelConfig & { baseUrl: string }, t: HttpTransport): ModelClient {
  return {
    provider: 'anthropic',
    async complete(req: ModelRequest): Promise<ModelReply> {
      const b = new ReplyBuilder('anthropic', req.onText);
      const body = {
        model: cfg.model,
        max_tokens: cfg.maxTokens ?? RUNNER_DEFAULTS.maxTokens,
        stream: true,
        ...(req.system ? { system: req.system } : {}),
        ...(cfg.temperature !== undefined ? { temperature: cfg.temperature } : {}),
        ...(req.tools.length ? { tools: req.tools.map((x) => ({ name: x.name, description: x.description, input_schema: x.inputSchema })) } : {}),
        messages: req.turns.map(toWire),
      };
      const headers = { ...req.headers, 'anthropic-version': '2023-06-01', ...(cfg.apiKey ? { 'x-api-key': cfg.apiKey } : {}) };
      await streamEvents(t, { provider: 'anthropic', model: cfg.model, baseUrl: cfg.baseUrl, path: '/v1/messages', headers, body, timeoutMs: cfg.timeoutMs ?? RUNNER_DEFAULTS.modelTimeoutMs, signal: req.signal }, (ev) => {
        const d: Wire = parseEventJson('anthropic', ev);
        switch (d.type) {
          case 'message_start':
            b.usage.inputTokens += Number(d.message?.usage?.input_tokens ?? 0);
            b.usage.outputTokens += Number(d.message?.usage?.output_tokens ?? 0);
            break;
          case 'content_block_start':
            if (d.content_block?.type === 'text') b.text(String(d.content_block.text ?? ''));
            else if (d.content_block?.type === 'tool_use') b.toolStart(d.index as number, d.content_block.id, String(d.content_block.name));
            break;
          case 'content_block_delta':
            if (d.delta?.type === 'text_delta') b.text(String(d.delta.text ?? ''));
            else if (d.delta?.type === 'input_json_delta') b.toolArgs(d.index as number, String(d.delta.partial_json ?? ''));
            break;
          case 'message_delta':
            // output_tokens here is the running total for the message, not an increment
            if (d.usage?.output_tokens !== undefined) b.usage.outputTokens = Number(d.usage.output_tokens);
            break;
          case 'message_stop':
            b.complete = true;
            break;
          case 'error':
            throw new ProviderError(undefined, `anthropic (model ${cfg.model}) reported ${d.error?.type ?? 'an error'} mid-stream: ${d.error?.message ?? ev.data.slice(0, 200)}`);
          default: // ping, content_block_stop, and block types we do not ask for (thinking)
        }
      });
      return b.finish();
    },
  };
}

function toWire(turn: Turn): Wire {
  const content: Wire[] = [];
  // tool results must lead a user turn; any follow-up text comes after them
  for (const p of turn.parts) if (p.type === 'tool_result') content.push({ type: 'tool_result', tool_use_id: p.id, content: p.output, ...(p.isError ? { is_error: true } : {}) });
  for (const p of turn.parts) {
    if (p.type === 'text' && p.text) content.push({ type: 'text', text: p.text });
    else if (p.type === 'tool_call') content.push({ type: 'tool_use', id: p.id, name: p.name, input: p.input ?? {} });
  }
  return { role: turn.role, content };
}
