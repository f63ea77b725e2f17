// Egress proxy overhead (issue 17): a 1 MB HTTPS download from an allowed host, timed inside the
// agent (connect → last byte, so `podman exec` start-up is not in it), three ways interleaved round
// by round (order rotated): direct from a bridge agent (no proxy), through the proxy as a tunnel
// (SNI checked, TLS untouched), and through the proxy to a credential host (TLS terminated and
// re-originated, header added). The server is on the host (names pinned to the bridge gateway).
//   node dist/bench/egress.js [--rounds 15]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from '../src/bench-lib/stats.js';
import { bridgeGateway, podmanAsync, upstream } from '../test/helpers/egress.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 15;
const SIZE = 1024 * 1024;
const P = `bench-egress-${process.pid}`;
process.env.CONTAINERS_CONF ??= join(ROOT, '.clawpod/containers.conf');
const env = { ...process.env, EG_BENCH_TOKEN: 'bench-token' };

/** One download inside the agent, via HTTPS_PROXY when set; prints elapsed ms. */
const CLIENT = String.raw`
const net = require('node:net'), tls = require('node:tls');
const [target, sni, ca] = process.argv.slice(1);
const t0 = performance.now();
const go = (sock) => { const t = tls.connect({ socket: sock, servername: sni, ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}) });
  t.on('secureConnect', () => t.write('GET /bytes/${SIZE} HTTP/1.1\r\nHost: ' + sni + '\r\nConnection: close\r\n\r\n'));
  let n = 0; t.on('data', (d) => { n += d.length; }); t.on('end', () => { console.log(JSON.stringify({ ms: performance.now() - t0, bytes: n })); });
  t.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); }); };
const p = process.env.HTTPS_PROXY ? new URL(process.env.HTTPS_PROXY) : undefined;
if (!p) go(net.connect(Number(target.split(':')[1]), target.split(':')[0]));
else { const s = net.connect(Number(p.port), p.hostname); s.write('CONNECT ' + target + ' HTTP/1.1\r\n\r\n');
  s.once('data', () => go(s)); }
`;

function clawpod(args: string[]): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/clawpod.js'), ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clawpod ${args.join(' ')}: ${r.stderr}`);
}

async function main(): Promise<void> {
  const up = await upstream(['plain.egress.test', 'cred.egress.test']);
  const gw = await bridgeGateway();
  const dir = mkdtempSync(join(tmpdir(), 'bench-egress-'));
  writeFileSync(join(dir, 'ca.pem'), up.caPem);
  const head = (name: string, body: string) => `apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']\n  network: bridge\n${body}`;
  writeFileSync(join(dir, 'proxied.yaml'), head(`${P}-p`, `  egress:
    allow: ["plain.egress.test:${up.port}", "cred.egress.test:${up.port}"]
    hosts: {plain.egress.test: "${gw}", cred.egress.test: "${gw}"}
    allowPrivate: true
    caFile: ca.pem
    credentials: [{host: cred.egress.test, port: ${up.port}, header: Authorization, format: "Bearer {}", secretRef: {name: EG_BENCH_TOKEN}}]\n`));
  writeFileSync(join(dir, 'direct.yaml'), head(`${P}-d`, ''));
  try {
    clawpod(['run', '-d', '-f', join(dir, 'proxied.yaml')]);
    clawpod(['run', '-d', '-f', join(dir, 'direct.yaml')]);
    const variants: Record<string, string[]> = {
      direct: [`${P}-d`, `${gw}:${up.port}`, 'plain.egress.test', up.caPem],
      tunnel: [`${P}-p`, `plain.egress.test:${up.port}`, 'plain.egress.test', up.caPem],
      credential: [`${P}-p`, `cred.egress.test:${up.port}`, 'cred.egress.test', ''],
    };
    const names = Object.keys(variants);
    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = -1; round < ROUNDS; round++) {
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + Math.max(round, 0)) % names.length]!;
        const [c, ...args] = variants[n]!;
        const r = await podmanAsync(['exec', c!, 'node', '-e', CLIENT, ...args]);
        const o = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { ms?: number; bytes?: number; error?: string };
        if (o.ms === undefined || (o.bytes ?? 0) < SIZE) throw new Error(`${n}: ${r.stdout} ${r.stderr}`);
        if (round >= 0) samples[n]!.push(o.ms); // round -1 warms every path up, untimed
      }
    }
    const base = summarize(samples.direct!);
    console.log(`1 MB HTTPS download, ${ROUNDS} interleaved rounds, ms (load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
    for (const n of names) {
      const s = summarize(samples[n]!);
      console.log(`${n.padEnd(11)} p50 ${s.p50.toFixed(1)}  p95 ${s.p95.toFixed(1)}  ratio p50 ${(s.p50 / base.p50).toFixed(2)}  p95 ${(s.p95 / base.p95).toFixed(2)}`);
    }
  } finally {
    spawnSync(process.execPath, [join(ROOT, 'bin/clawpod.js'), 'rm', '-f', `${P}-p`], { env });
    spawnSync(process.execPath, [join(ROOT, 'bin/clawpod.js'), 'rm', '-f', `${P}-d`], { env });
    await up.close();
  }
}

await main();
