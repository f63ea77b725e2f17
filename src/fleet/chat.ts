// A chat round trip with a tenant's payload through its OpenAI-compatible endpoint (OpenClaw's
// /v1/chat/completions, the runner's serve mode): the payload calls its model through clawpod's LLM
// gateway, so an answer shows the whole path works — what /healthz alone does not (OpenClaw's own
// docs: healthz means the gateway is alive, not that it works). The answer's shape is what a canary
// replay compares.
import { ClawpodError, messageOf } from '../errors.js';
import { redactor } from '../secrets/redact.js';

export interface AnswerShape {
  /** The answer has text. */
  readonly text: boolean;
  readonly length: number;
  /** Names of the tools the payload called, in order (the runner reports them; OpenClaw does not). */
  readonly toolCalls: readonly string[];
}

export interface ChatAnswer { readonly answer: string; readonly shape: AnswerShape; readonly ms: number }

/** A payload's words in our messages (a terminal, rollout.json): control characters shown, not obeyed. */
// eslint-disable-next-line no-control-regex -- showing control characters is the point
const printable = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f\x9b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** The model name a payload's endpoint expects in the request. */
const MODEL_FIELD: Readonly<Record<string, string>> = { openclaw: 'openclaw' };

export async function chatPayload(baseUrl: string, token: string, prompt: string, opts: { profile: string; who: string; timeoutMs?: number }): Promise<ChatAnswer> {
  const t0 = Date.now();
  let res: Response;
  try {
    res = await fetch(new URL('v1/chat/completions', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL_FIELD[opts.profile] ?? 'default', user: 'clawpod', messages: [{ role: 'user', content: prompt }] }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    });
  } catch (e) {
    throw new ClawpodError('UNHEALTHY', `${opts.who}: no chat answer from ${baseUrl} (${messageOf(e)})`, { hint: `\`clawpod logs ${opts.who}\` shows what the payload says` });
  }
  const body = await res.text();
  if (!res.ok) {
    throw new ClawpodError('UNHEALTHY', `${opts.who}: the chat round trip answered HTTP ${res.status}: ${printable(redactor.redact(body.slice(0, 300)))}`, {
      hint: res.status === 401 ? 'the gateway token in the vault is not the one the payload reads' : 'the payload or its model path (clawpod\'s LLM gateway, the group\'s models and budget) is broken; see `clawpod logs`',
    });
  }
  let parsed: { choices?: { message?: { content?: unknown } }[]; clawpod?: { toolCalls?: { name?: unknown }[] } };
  try { parsed = JSON.parse(body) as typeof parsed; } catch {
    throw new ClawpodError('UNHEALTHY', `${opts.who}: the chat answer is not JSON: ${printable(redactor.redact(body.slice(0, 120)))}`, { hint: 'the port answers, but not as an OpenAI-compatible chat endpoint' });
  }
  const content = parsed.choices?.[0]?.message?.content;
  const answer = typeof content === 'string' ? content : '';
  const toolCalls = (parsed.clawpod?.toolCalls ?? []).map((t) => String(t.name ?? ''));
  if (!answer && toolCalls.length === 0) throw new ClawpodError('UNHEALTHY', `${opts.who}: the chat round trip answered with no text`, { hint: 'see `clawpod logs` of the tenant' });
  return { answer, shape: { text: answer.length > 0, length: answer.length, toolCalls }, ms: Date.now() - t0 };
}

/** Why a replayed answer's shape diverges from the recorded one, or undefined when it does not. */
export function divergence(recorded: AnswerShape, replayed: AnswerShape): string | undefined {
  const a = recorded.toolCalls.join(',');
  const b = replayed.toolCalls.join(',');
  if (a !== b) return `tool calls [${a}] became [${b}]`;
  if (recorded.text !== replayed.text) return recorded.text ? 'the answer lost its text' : 'the answer gained text';
  // lengths of free text vary from run to run: only an order of magnitude counts
  const ratio = (Math.max(recorded.length, replayed.length) + 20) / (Math.min(recorded.length, replayed.length) + 20);
  if (ratio > 4) return `answer length ${recorded.length} became ${replayed.length}`;
  return undefined;
}
