// Splits the Engine API's multiplexed stdout/stderr stream (8-byte frame headers) into chunks.
import type { Readable } from 'node:stream';
import type { OutputChunk } from './runtime.js';

export async function* demux(source: Readable | Buffer): AsyncGenerator<OutputChunk> {
  let buf = Buffer.alloc(0);
  const chunks: AsyncIterable<Buffer> = Buffer.isBuffer(source) ? [source] as unknown as AsyncIterable<Buffer> : source;
  for await (const piece of chunks) {
    buf = buf.length === 0 ? Buffer.from(piece) : Buffer.concat([buf, piece]);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const type = buf[0];
      const data = buf.subarray(8, 8 + size);
      buf = buf.subarray(8 + size);
      if (type === 1 || type === 2) yield { stream: type === 2 ? 'stderr' : 'stdout', data: Buffer.from(data) };
    }
  }
}
