// One message's tool loop: call the model (streaming its text out), run the tools it asks
// for, hand the results back, until it answers without tools or maxTurns calls were made.
import { Interrupted } from './errors.js';
import type { Emit } from './frames.js';
import type { ModelClient, Part, ToolSpec, Turn, Usage } from './providers/types.js';
import type { ToolBox } from './tools/toolbox.js';

export interface LoopOptions {
  readonly client: ModelClient;
  readonly tools: ToolBox;
  readonly specs: readonly ToolSpec[];
  readonly emit: Emit;
  readonly system?: string;
  readonly maxTurns: number;
  readonly signal: AbortSignal;
}

/**
 * Runs the loop for `messageId` on `history` (which it extends in place). `usage` accumulates
 * even when a later call throws, so the `end` frame can report what was spent.
 */
export async function runTurns(history: Turn[], messageId: string, usage: Usage, o: LoopOptions): Promise<'end_turn' | 'max_turns'> {
  for (let turn = 1; turn <= o.maxTurns; turn++) {
    if (o.signal.aborted) throw new Interrupted('the runner is stopping');
    const reply = await o.client.complete({
      ...(o.system ? { system: o.system } : {}),
      turns: history, tools: o.specs, signal: o.signal,
      onText: (delta) => o.emit({ type: 'text', messageId, delta }),
    });
    usage.inputTokens += reply.usage.inputTokens;
    usage.outputTokens += reply.usage.outputTokens;
    // an empty assistant turn is refused by Anthropic on the next call; leave it out
    if (reply.parts.length) history.push({ role: 'assistant', parts: reply.parts });
    const calls = reply.parts.filter((p): p is Extract<Part, { type: 'tool_call' }> => p.type === 'tool_call');
    if (calls.length === 0) return 'end_turn';
    const results: Part[] = [];
    // one at a time, in the model's order: tools may depend on each other's effects
    for (const call of calls) {
      o.emit({ type: 'tool_call', messageId, id: call.id, name: call.name, input: call.input });
      const r = await o.tools.run(call, o.signal);
      o.emit({ type: 'tool_result', messageId, id: call.id, output: r.output, isError: r.isError });
      results.push({ type: 'tool_result', id: call.id, name: call.name, output: r.output, isError: r.isError });
    }
    // every call gets its result into history, even on the last turn, so the next message starts from a valid conversation
    history.push({ role: 'user', parts: results });
  }
  return 'max_turns';
}
