// One message's tool loop: call the model (streaming its text out), run the tools it asks
// for, hand the results back, until it answers without tools or maxTurns calls were made.
// Each model round and each tool call is a span of the message's turn (src/agent/spans.ts).
import { Interrupted } from './errors.js';
import type { Emit } from './frames.js';
import type { ModelClient, Part, ToolSpec, Turn, Usage } from './providers/types.js';
import { MessageSpans, type RunnerSpan } from './spans.js';
import type { ToolBox, ToolOutcome } from './tools/toolbox.js';
import { RUNNER_ATTR, toolSpanName } from './trace-context.js';

export interface LoopOptions {
  readonly client: ModelClient;
  readonly tools: ToolBox;
  readonly specs: readonly ToolSpec[];
  readonly emit: Emit;
  readonly system?: string;
  readonly maxTurns: number;
  readonly signal: AbortSignal;
  /** The message's spans and its turn span, the parent of each round's and tool's (default: none). */
  readonly trace?: { readonly spans: MessageSpans; readonly turn: RunnerSpan };
}

const NO_TRACE = { spans: new MessageSpans('', undefined), turn: undefined };

/** A tool span's attributes: how it ended, never its input or output text. */
function toolAttributes(name: string, r: ToolOutcome): Record<string, string | number | boolean> {
  return {
    [RUNNER_ATTR.toolName]: toolSpanName(name).slice('tool.'.length),
    [RUNNER_ATTR.isError]: r.isError,
    [RUNNER_ATTR.outputBytes]: Buffer.byteLength(r.output),
    ...(typeof r.exitCode === 'number' ? { [RUNNER_ATTR.exitCode]: r.exitCode } : {}),
    ...(r.timedOut ? { [RUNNER_ATTR.timedOut]: true } : {}),
  };
}

/**
 * Runs the loop for `messageId` on `history` (which it extends in place). `usage` accumulates
 * even when a later call throws, so the `end` frame can report what was spent.
 */
export async function runTurns(history: Turn[], messageId: string, usage: Usage, o: LoopOptions): Promise<'end_turn' | 'max_turns'> {
  const { spans, turn: parent } = o.trace ?? NO_TRACE;
  for (let turn = 1; turn <= o.maxTurns; turn++) {
    if (o.signal.aborted) throw new Interrupted('the runner is stopping');
    const round = spans.start('model.round', parent);
    let reply;
    try {
      reply = await o.client.complete({
        ...(o.system ? { system: o.system } : {}),
        turns: history, tools: o.specs, signal: o.signal,
        onText: (delta) => o.emit({ type: 'text', messageId, delta }),
        ...(round.traceparent ? { headers: { traceparent: round.traceparent } } : {}),
      });
    } catch (e) {
      round.end({ [RUNNER_ATTR.round]: turn }, true);
      throw e;
    }
    usage.inputTokens += reply.usage.inputTokens;
    usage.outputTokens += reply.usage.outputTokens;
    // an empty assistant turn is refused by Anthropic on the next call; leave it out
    if (reply.parts.length) history.push({ role: 'assistant', parts: reply.parts });
    const calls = reply.parts.filter((p): p is Extract<Part, { type: 'tool_call' }> => p.type === 'tool_call');
    round.end({
      [RUNNER_ATTR.round]: turn, [RUNNER_ATTR.toolCalls]: calls.length,
      [RUNNER_ATTR.inputTokens]: reply.usage.inputTokens, [RUNNER_ATTR.outputTokens]: reply.usage.outputTokens,
    });
    if (calls.length === 0) return 'end_turn';
    const results: Part[] = [];
    // one at a time, in the model's order: tools may depend on each other's effects
    for (const call of calls) {
      o.emit({ type: 'tool_call', messageId, id: call.id, name: call.name, input: call.input });
      const span = spans.start(toolSpanName(call.name), parent);
      const r = await o.tools.run(call, o.signal);
      span.end(toolAttributes(call.name, r), r.isError);
      o.emit({ type: 'tool_result', messageId, id: call.id, output: r.output, isError: r.isError });
      results.push({ type: 'tool_result', id: call.id, name: call.name, output: r.output, isError: r.isError });
    }
    // every call gets its result into history, even on the last turn, so the next message starts from a valid conversation
    history.push({ role: 'user', parts: results });
  }
  return 'max_turns';
}
