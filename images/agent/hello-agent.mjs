// The demo agent of clawpod's agent image: a tiny HTTP service that keeps a visit counter
// in its workspace, so a user can see the container answer and its state persist.
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
server.listen(port, () => console.log(`hello-agent listening on :${port} (visits so far: ${state.visits})`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
