// clawpod-egress: the per-agent egress proxy (docs/egress.md). Bundled into
// dist/egress/clawpod-egress.mjs and carried by the agent image as /opt/clawpod/bin/clawpod-egress.
// Contract: `clawpod-egress --config FILE` where FILE is an EgressConfig (src/egress/config.ts).
// It listens for HTTP proxy requests, DNS queries and metrics; events go to stdout as JSON lines
// prefixed "clawpod-egress ". Secrets (credential values, the CA key) are read from files once.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { networkInterfaces } from 'node:os';
import { rootCertificates } from 'node:tls';
import type { PemPair } from './ca.js';
import { EgressConfigSchema, type EgressConfig } from './config.js';
import { serveDns, dnsAnswerer } from './dns.js';
import { EgressRecorder } from './events.js';
import { AllowList } from './policy.js';
import { createProxy } from './proxy.js';
import { credentialTerminator, type CredentialRoute } from './terminate.js';

function loadConfig(argv: readonly string[]): EgressConfig {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (!file) throw new Error('usage: clawpod-egress --config FILE');
  const r = EgressConfigSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
  return r.data;
}

function listen(server: { listen(port: number, host: string, cb: () => void): unknown; once(e: 'error', cb: (e: Error) => void): unknown }, port: number, host: string): Promise<void> {
  return new Promise((res, rej) => { server.once('error', rej); server.listen(port, host, res); });
}

function v4(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The address this container has in `subnet` (an IPv4 CIDR): the one the proxy listens on. */
function addressIn(subnet: string, addresses: readonly string[]): string | undefined {
  const [base = '', bits = '32'] = subnet.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = v4(base) - (v4(base) % size);
  return addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && v4(a) >= start && v4(a) < start + size);
}

function listenHost(cfg: EgressConfig): string {
  if (!cfg.listen.subnet) return cfg.listen.host;
  const own = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address));
  const host = addressIn(cfg.listen.subnet, own);
  if (!host) throw new Error(`no address of this container is in the agents' network ${cfg.listen.subnet} (it has ${own.join(', ')})`);
  return host;
}

async function main(): Promise<void> {
  const cfg = loadConfig(process.argv);
  const host = listenHost(cfg);
  const rec = new EgressRecorder(cfg.agent, cfg.events);
  const allow = new AllowList(cfg.allow);
  const resolver = { hosts: cfg.hosts, allowPrivate: cfg.allowPrivate };
  const credentials = new Map<string, CredentialRoute>(cfg.credentials.map((c) => {
    const secret = readFileSync(c.valueFile, 'utf8').replace(/\r?\n$/, '');
    return [`${c.host}:${c.port}`, { host: c.host, port: c.port, header: c.header, value: c.format.replace('{}', secret) }];
  }));
  let terminator;
  if (cfg.ca && credentials.size > 0) {
    const ca = { certPem: readFileSync(cfg.ca.certFile, 'utf8'), keyPem: cfg.ca.keyFile ? readFileSync(cfg.ca.keyFile, 'utf8') : '' };
    const leaves = new Map<string, PemPair>();
    for (const c of cfg.credentials) {
      if (leaves.has(c.host)) continue;
      // issued where the CA key is (host-side) when given; else here (loads node-forge, a second of CPU at 0.5 cores)
      leaves.set(c.host, c.certFile && c.keyFile
        ? { certPem: readFileSync(c.certFile, 'utf8'), keyPem: readFileSync(c.keyFile, 'utf8') }
        : (await import('./ca.js')).issueLeaf(ca, c.host));
    }
    // an explicit bundle replaces Node's default store, so the roots and the image's extra CAs go with it
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    const upstreamCa = cfg.upstreamCaFile
      ? [...rootCertificates, readFileSync(cfg.upstreamCaFile, 'utf8'), ...(extra ? [readFileSync(extra, 'utf8')] : [])]
      : undefined;
    terminator = credentialTerminator(ca, leaves, upstreamCa, rec);
  }
  const proxy = createProxy({ allow, resolver, rec, credentials, ...(terminator ? { terminator } : {}) });
  await listen(proxy, cfg.listen.httpPort, host);
  if (cfg.listen.dnsPort > 0) await serveDns(dnsAnswerer(allow, resolver, rec), host, cfg.listen.dnsPort);
  if (cfg.listen.metricsPort > 0) {
    const metrics = createServer((req, res) => {
      if (req.url === '/healthz') { res.end('ok\n'); return; }
      if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
      rec.registry.metrics().then((m) => res.writeHead(200, { 'content-type': rec.registry.contentType }).end(m), () => res.writeHead(500).end());
    });
    await listen(metrics, cfg.listen.metricsPort, host);
  }
  rec.started(`http :${cfg.listen.httpPort}, dns :${cfg.listen.dnsPort}, metrics :${cfg.listen.metricsPort}; ${cfg.allow.length} allowed, ${credentials.size} credential hosts`);
  // the proxy holds no state worth a graceful drain: a stop ends it at once
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`clawpod-egress: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
