// The summary call of a group's memory: one model request from the host through the LLM gateway,
// with a gateway token of the group made for it and revoked after it. So the call is checked
// against the group's allowed models and counted against its budget like its agent's own calls,
// and no provider key is ever read here. The runner's provider clients make the call.
import { join } from 'node:path';
import { ClawpodError } from '../errors.js';
import { HttpTransport, modelClient } from '../agent/providers/index.js';
import { validatedDurationMs } from '../spec/quantity.js';
import type { ModelSpec } from './config.js';
import { gatewayBaseUrl, hashToken, issueToken } from './gateway/gateway.js';
import type { Store } from './store.js';

export interface SummaryAsk { readonly system: string; readonly text: string; readonly maxTokens: number }
/** Summarizes for `group` with the group's own model; rejects when the model gives no text. */
export type Summarizer = (group: string, ask: SummaryAsk) => Promise<string>;

const DEFAULT_TIMEOUT_MS = 60_000;

export function gatewaySummarizer(o: { readonly store: Store; readonly models: Readonly<Record<string, ModelSpec>>; readonly gatewayDir: string }): Summarizer {
  return async (group, ask) => {
    const name = o.store.group(group)?.model;
    const spec = name ? o.models[name] : undefined;
    if (!spec) throw new ClawpodError('NOT_FOUND', `group ${group} has no model defined under spec.models (${name ?? 'none'})`);
    const timeoutMs = spec.timeout !== undefined ? validatedDurationMs(spec.timeout) : DEFAULT_TIMEOUT_MS;
    const token = issueToken(o.store, group, null);
    const transport = new HttpTransport();
    try {
      const client = modelClient({
        provider: spec.provider, model: spec.model, apiKey: token, maxTokens: ask.maxTokens, timeoutMs,
        // the gateway always listens on its socket on the host, whatever the sessions use
        baseUrl: gatewayBaseUrl(spec.provider, join(o.gatewayDir, 'llm.sock')),
        ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
      }, transport);
      const reply = await client.complete({
        system: ask.system, turns: [{ role: 'user', parts: [{ type: 'text', text: ask.text }] }], tools: [],
        signal: AbortSignal.timeout(timeoutMs), onText: () => undefined,
      });
      const text = reply.parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('').trim();
      if (!text) throw new ClawpodError('RUNTIME_ERROR', `model ${name} answered the summary request with no text`);
      return text;
    } finally {
      transport.close();
      o.store.revokeTokens({ hash: hashToken(token) }, 'its memory summary is done');
    }
  };
}
