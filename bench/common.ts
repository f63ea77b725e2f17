// What every bench shares: the percentile of a sample, and a model server that answers anything.
import { createServer, type Server } from 'node:http';

/** The p-th percentile (nearest rank) of xs. */
export const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!; };

/** Anthropic Messages, streamed: one short text answer to anything, on `host` (0.0.0.0 for containers on a bridge). */
export function benchModelServer(text: string, host: string): Promise<Server> {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end([
        ev('message_start', { message: { id: 'msg_b', type: 'message', role: 'assistant', model: 'bench', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 0 } } }),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
        ev('content_block_stop', { index: 0 }),
        ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: text.split(' ').length } }),
        ev('message_stop', {}),
      ].join(''));
    });
  });
  return new Promise((r) => s.listen(0, host, () => r(s)));
}
