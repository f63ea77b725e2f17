// The tools offered to the model, by name. A tool never throws at the loop: every failure
// becomes an error result the model can read and act on.
import type { ToolCallPart, ToolSpec } from '../providers/types.js';
import { messageOf } from '../errors.js';

export interface ToolOutcome {
  readonly output: string;
  readonly isError: boolean;
  /** bash: how the command ended, for the tool's span (src/agent/spans.ts). */
  readonly exitCode?: number | null;
  readonly timedOut?: boolean;
}

export interface Tool {
  readonly spec: ToolSpec;
  run(input: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<ToolOutcome>;
}

export class ToolBox {
  private readonly tools = new Map<string, Tool>();

  add(tool: Tool): void {
    this.tools.set(tool.spec.name, tool);
  }

  specs(): ToolSpec[] {
    return [...this.tools.values()].map((t) => t.spec);
  }

  async run(call: ToolCallPart, signal: AbortSignal): Promise<ToolOutcome> {
    if (call.badArguments) return { output: `${call.name} was not run: ${call.badArguments}`, isError: true };
    const tool = this.tools.get(call.name);
    if (!tool) return { output: `there is no tool named ${JSON.stringify(call.name)}; available: ${[...this.tools.keys()].join(', ')}`, isError: true };
    const input = call.input ?? {};
    if (typeof input !== 'object' || Array.isArray(input)) return { output: `${call.name} was not run: its input must be a JSON object, got ${JSON.stringify(input).slice(0, 100)}`, isError: true };
    try {
      return await tool.run(input as Record<string, unknown>, signal);
    } catch (e) {
      return { output: `${call.name} failed: ${messageOf(e)}`, isError: true };
    }
  }
}

/** Reads one input field, or throws a message naming the tool, the field and what it must be. */
export function arg<T extends 'string' | 'boolean'>(
  tool: string, input: Readonly<Record<string, unknown>>, name: string, type: T, optional = false,
): (T extends 'string' ? string : boolean) | undefined {
  const v = input[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== type) throw new Error(`${tool}: "${name}" must be a ${type}${optional ? ' when given' : ''}, got ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  return v as T extends 'string' ? string : boolean;
}
