// The host's side of the proxy's events: read back from the proxy container's log (the proxy has no
// other way out to the host: it listens on the agent's internal network only). `clawpod logs
// --egress` prints them; `clawpod serve` copies refusals into its lifecycle events.
import type { Runtime } from '../runtime/runtime.js';
import { parseEventLine, type EgressEvent } from './events.js';
import { EGRESS_LABEL, egressNames } from './names.js';

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

/** What the agent chose (a DNS name, a CONNECT target, a TLS server name), fit for a terminal and a shared store: no control characters, at most `max`. */
export function tame(s: string | undefined, max = 256): string | undefined {
  if (s === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** One line a person reads: time, what, why, how, where. */
export function formatEgressEvent(e: EgressEvent): string {
  const what = e.type.replace(/^egress\./, '');
  return [e.time, what, e.reason, e.via, tame(e.target, 2048), tame(e.detail, 2048)].filter((x) => x !== undefined && x !== '').join('  ');
}

/** How many log lines one pass reads per agent: a flood of more refusals than this between two passes is counted by the proxy, not all listed. */
const TAIL = 1000;
/** How many refusals one pass copies per agent; the rest are one `egress_refused_dropped` event with their count (an agent must not fill the shared store). */
export const COPY_PER_PASS = 20;

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

  /** `key`: whose proxy the agent uses (a claimed warm member's is its member name); events are recorded under `name`. */
  async collect(agents: readonly { readonly name: string; readonly key: string }[]): Promise<void> {
    for (const { name: agent, key } of agents) {
      const from = this.cursor.get(agent) ?? seed(this.d.lastCopied(agent));
      let at = from;
      let skip = from.n;
      let copied = 0;
      let dropped = 0;
      for await (const e of egressEventsOf(this.rt, key, { tail: TAIL })) {
        if (e.type !== 'egress.refused' || e.time < from.time) continue;
        // events of the very moment copying stopped at: the first n of them were copied then
        if (e.time === from.time && skip > 0) { skip--; continue; }
        if (copied < COPY_PER_PASS) {
          this.d.record(agent, 'egress_refused', { time: e.time, reason: e.reason, via: e.via, target: tame(e.target), ...(e.detail ? { detail: tame(e.detail) } : {}) });
          copied++;
        } else dropped++;
        at = { time: e.time, n: e.time === at.time ? at.n + 1 : 1 };
        // kept at once: a failure later in this pass must not copy these again
        this.cursor.set(agent, at);
      }
      if (dropped > 0) this.d.record(agent, 'egress_refused_dropped', { count: dropped, until: at.time, hint: `clawpod logs ${agent} --egress lists them all` });
    }
  }
}

/** After a restart only the time is known: everything of that moment counts as copied. */
const seed = (time: string | undefined): Cursor => ({ time: time ?? '', n: time ? Number.MAX_SAFE_INTEGER : 0 });
