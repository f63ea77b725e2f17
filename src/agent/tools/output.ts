// Caps what a tool hands back to the model (and to the host in tool_result frames).

/** `buf` cut to `maxBytes`, with a marker saying how much was left out. */
export function capOutput(buf: Buffer, maxBytes: number, totalBytes = buf.length): string {
  if (totalBytes <= maxBytes) return buf.toString('utf8');
  // a cut may split a UTF-8 sequence; drop the replacement character it leaves
  const head = buf.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  return `${head}\n[output truncated: showing the first ${maxBytes} of ${totalBytes} bytes]`;
}
