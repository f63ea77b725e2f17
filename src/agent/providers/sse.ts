// Server-sent events (the WHATWG event-stream format), as all three providers stream. Handles
// \n, \r\n and \r line ends, a line split across chunks, multi-line data and comments.

export interface SseEvent { readonly event: string; readonly data: string }

export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';

  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // a lone \r at the end may be the first half of \r\n
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** At end of stream: a last event without its blank line still counts (some servers omit it). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buf) { const ev = this.line(this.buf.replace(/\r$/, '')); if (ev) out.push(ev); this.buf = ''; }
    const ev = this.line('');
    if (ev) out.push(ev);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) { this.event = ''; return undefined; }
      const ev = { event: this.event || 'message', data: this.data.join('\n') };
      this.data = [];
      this.event = '';
      return ev;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return undefined;
  }
}
