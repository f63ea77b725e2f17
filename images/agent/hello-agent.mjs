// The demo agent of clawpod's agent image: a tiny HTTP service that keeps a visit counter
// in its workspace, so a user can see the container answer and its state persist.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

const port = Number(process.env.PORT ?? 8080);
const stateFile = `${process.env.WORKSPACE ?? '/workspace'}/hello-state.json`;
const load = () => { try { return JSON.parse(readFileSync(stateFile, 'utf8')); } catch { return { visits: 0 }; } };
const save = (s) => { writeFileSync(`${stateFile}.tmp`, JSON.stringify(s)); renameSync(`${stateFile}.tmp`, stateFile); };

const state = load();
const startedAt = new Date().toISOString();
const server = createServer((req, res) => {
  if (req.url === '/healthz') { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); return; }
  state.visits += 1;
  save(state);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ agent: hostname(), greeting: process.env.GREETING ?? 'hello from clawpod', visits: state.visits, startedAt, uid: process.getuid() }) + '\n');
});
// WebSocket: the handshake, one text frame with the visit count, then a normal close (1000)
server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  if (!key) { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); return; }
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  state.visits += 1;
  save(state);
  const text = Buffer.from(JSON.stringify({ websocket: true, visits: state.visits }));
  socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
  socket.end(Buffer.from([0x88, 2, 0x03, 0xe8]));
});
server.listen(port, () => console.log(`hello-agent listening on :${port} (visits so far: ${state.visits})`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
