// The host's side of the proxy's events: read back from the proxy container's log (the proxy has no
// other way out to the host: it listens on the agent's internal network only). `clawpod logs
// --egress` prints them; `clawpod serve` copies refusals into its lifecycle events.
import type { Runtime } from '../runtime/runtime.js';
import { parseEventLine, type EgressEvent } from './events.js';
import { EGRESS_LABEL, egressNames } from './local.js';

/** Lines of a log chunk stream, whole lines only (a chunk may end mid-line). */
async function* lines(chunks: AsyncIterable<{ data: Buffer }>): AsyncGenerator<string> {
  let rest = '';
  for await (const c of chunks) {
    const parts = (rest + c.data.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    yield* parts;
  }
  if (rest) yield rest;
}

/**
 * The events of `instance`'s proxy, oldest first; nothing when it has none. Only a container that
 * carries the instance's egress label counts: a container an agent's user named like a proxy is not read.
 */
export async function* egressEventsOf(rt: Runtime, instance: string, opts: { follow?: boolean; tail?: number; signal?: AbortSignal } = {}): AsyncGenerator<EgressEvent> {
  const d = await rt.inspectContainer(egressNames(instance).container);
  if (!d || d.labels[EGRESS_LABEL] !== instance) return;
  for await (const l of lines(rt.logs(d.id, { follow: opts.follow ?? false, ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }))) {
    const e = parseEventLine(l);
    if (e && e.agent === instance) yield e;
  }
}

/** One line a person reads: time, what, why, how, where. */
export function formatEgressEvent(e: EgressEvent): string {
  const what = e.type.replace(/^egress\./, '');
  return [e.time, what, e.reason, e.via, e.target, e.detail].filter((x) => x !== undefined && x !== '').join('  ');
}

/** How many log lines one pass reads per agent: a flood of more refusals than this between two passes is counted by the proxy, not all listed. */
const TAIL = 1000;

/** Where copying stopped: the last copied event's time, and how many with exactly that time were copied. */
interface Cursor { readonly time: string; readonly n: number }

/**
 * Copies refusals of each agent's proxy into `record` once each. It remembers, per agent, where it
 * stopped (seeded by `lastCopied`, the time of the last one recorded before a restart).
 */
export class EgressCollector {
  private readonly cursor = new Map<string, Cursor>();

  constructor(private readonly rt: Runtime, private readonly d: {
    lastCopied(agent: string): string | undefined;
    record(agent: string, type: string, data: object): void;
  }) {}

  async collect(agents: readonly string[]): Promise<void> {
    for (const agent of agents) {
      const from = this.cursor.get(agent) ?? seed(this.d.lastCopied(agent));
      let at = from;
      let skip = from.n;
      for await (const e of egressEventsOf(this.rt, agent, { tail: TAIL })) {
        if (e.type !== 'egress.refused' || e.time < from.time) continue;
        // events of the very moment copying stopped at: the first n of them were copied then
        if (e.time === from.time && skip > 0) { skip--; continue; }
        this.d.record(agent, 'egress_refused', { time: e.time, reason: e.reason, via: e.via, target: e.target, ...(e.detail ? { detail: e.detail } : {}) });
        at = { time: e.time, n: e.time === at.time ? at.n + 1 : 1 };
      }
      this.cursor.set(agent, at);
    }
  }
}

/** After a restart only the time is known: everything of that moment counts as copied. */
const seed = (time: string | undefined): Cursor => ({ time: time ?? '', n: time ? Number.MAX_SAFE_INTEGER : 0 });
