// Request bodies of the hook route, which anyone on the internet can reach before a signature is
// checked: read up to a cap, counted as the bytes arrive (a chunked body has no Content-Length).

/** The body as text, or undefined when it is larger than `max` bytes (reading stops there). */
export async function readCapped(req: Request, max: number): Promise<string | undefined> {
  if (Number(req.headers.get('content-length') ?? 0) > max || !req.body) return req.body ? undefined : '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) { await reader.cancel(); return undefined; }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
