// Server-sent events (the WHATWG event-stream format), read by the runner's provider clients,
// the LLM gateway (to count usage) and `clawpod send/chat` (src/control/client.ts). A line or a
// UTF-8 character split across chunks is put back together; \n, \r\n and \r end lines.

export interface SseEvent {
  /** The event's type: its `event:` field, `message` when it has none. */
  readonly event: string;
  /** Its `data:` lines joined with \n. */
  readonly data: string;
  /** The last `id:` seen so far in the stream (the spec keeps it across events), '' if none. */
  readonly id: string;
}

export class SseParser {
  /** The stream's last valid `retry:` (the reconnection delay it asks for, in ms). */
  retry: number | undefined;
  private readonly decoder = new TextDecoder();
  private buf = '';
  // a \r ended the previous chunk: a \n opening the next one belongs to the same line end
  private skipLf = false;
  private data: string[] = [];
  private event = '';
  private id = '';

  /** Takes a chunk (bytes, or text already decoded) and returns the events it completes. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    this.drain(text, out);
    return out;
  }

  /** At end of stream: a last event without its blank line still counts (some providers omit it). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.drain(this.decoder.decode(), out);
    if (this.buf) { this.line(this.buf, out); this.buf = ''; }
    this.line('', out);
    return out;
  }

  private drain(text: string, out: SseEvent[]): void {
    if (this.skipLf && text) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.skipLf = false;
    }
    const buf = this.buf + text;
    let pos = 0;
    const eol = /\r\n|\r|\n/g;
    for (let m = eol.exec(buf); m; m = eol.exec(buf)) {
      this.line(buf.slice(pos, m.index), out);
      pos = m.index + m[0].length;
      if (m[0] === '\r' && pos === buf.length) this.skipLf = true;
    }
    this.buf = buf.slice(pos);
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    // the spec ignores an id holding NUL and a retry that is not all digits
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}
