// Prints one message's answer as it streams: text on stdout, tool activity and errors on stderr.
// Shared by `send` and `chat`.
import type { StreamedEvent } from '../control/client.js';

export interface Outcome { readonly id: string; readonly status: 'done' | 'failed'; readonly reason?: string; readonly text: string }

const clip = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

export async function followAnswer(events: AsyncIterable<StreamedEvent>, out: { text(s: string): void; note(s: string): void; json?: (e: unknown) => void }): Promise<Outcome> {
  let text = '';
  let id = '';
  for await (const e of events) {
    out.json?.({ seq: e.seq, type: e.type, ...e.data });
    const d = e.data;
    switch (e.type) {
      case 'queued': id = String(d.id ?? ''); break;
      case 'text': text += String(d.delta); out.text(String(d.delta)); break;
      case 'tool_call': out.note(`▸ ${String(d.name)} ${clip(JSON.stringify(d.input))}`); break;
      case 'tool_result': out.note(`${d.isError ? '✘' : '◂'} ${clip(String(d.output).trim().split('\n').join(' ⏎ '))}`); break;
      case 'error': out.note(`error [${String(d.code)}]: ${String(d.message)}`); break;
      case 'retry': out.note(`retrying: ${String(d.reason)}`); break;
      case 'session_starting': out.note(`starting a container for group ${String(d.group)}`); break;
      case 'done': return { id, status: 'done', text };
      case 'failed': return { id, status: 'failed', reason: String(d.reason), text };
      default: break;
    }
  }
  return { id, status: 'failed', reason: 'the event stream ended before the message finished', text };
}
