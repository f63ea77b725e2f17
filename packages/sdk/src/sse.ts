// Server-Sent Events from a fetch body: each event's type and JSON data. The SDK has no dependency
// and imports nothing of clawpod's own sources, so this reader is its own (clawpod's is
// src/shared/sse.ts); clawpod ends lines with \n, and a \r before it is dropped.

export interface Event { readonly event: string; readonly data: unknown }

/** The events of `body`; leaving the loop early cancels the body (the server sees the client go). */
export async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<Event> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buf = '';
  let type = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buf += done ? `${decoder.decode()}\n\n` : decoder.decode(value, { stream: true });
      const lines = buf.split('\n');
      buf = lines.pop()!; // half a line, until its end comes
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line === '') {
          if (data.length) yield { event: type || 'message', data: JSON.parse(data.join('\n')) as unknown };
          type = '';
          data = [];
        } else if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        // comments (": ping") and id: lines carry nothing the SDK uses
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
