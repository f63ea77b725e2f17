// The egress proxy's config file (JSON), the contract between whoever starts clawpod-egress (the
// local wiring, the Kubernetes renderer) and the proxy (src/egress/main.ts). It never holds a secret:
// each credential and the CA key are named by a file path (a tmpfs secret file the proxy reads at start).
import { z } from 'zod';
import { parseAllowPattern, type EgressSpec } from '../spec/egress.js';

export const EGRESS_CONFIG_VERSION = 1;

/** Defaults of the proxy; the docs (docs/egress.md) and the Kubernetes renderer read them here. */
export const EGRESS_DEFAULTS = Object.freeze({
  listenHost: '0.0.0.0',
  /** The HTTP proxy (CONNECT and absolute-URI requests); the agent's HTTPS_PROXY points here. */
  httpPort: 3128,
  /** DNS over UDP, answering A/AAAA for allowed names only; the agent's resolver points here. */
  dnsPort: 53,
  /** Prometheus metrics (clawpod_egress_*) and /healthz; 0 turns it off. */
  metricsPort: 9153,
  /** Where the proxy's container sees its folder: config.json, ca.crt, ca.key and one file per credential. */
  dir: '/run/clawpod-egress',
  /** The proxy's binary in the agent image (images/agent/Containerfile). */
  binary: '/opt/clawpod/bin/clawpod-egress',
});

const hostPort = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

export const EgressConfigSchema = z.strictObject({
  version: z.literal(EGRESS_CONFIG_VERSION),
  /** The agent (or tenant) this proxy serves: every event carries it. */
  agent: z.string().min(1),
  listen: z.strictObject({
    host: z.string().default(EGRESS_DEFAULTS.listenHost),
    httpPort: z.number().int().min(1).max(65535).default(EGRESS_DEFAULTS.httpPort),
    dnsPort: z.number().int().min(0).max(65535).default(EGRESS_DEFAULTS.dnsPort),
    metricsPort: z.number().int().min(0).max(65535).default(EGRESS_DEFAULTS.metricsPort),
    /** The agents' network (IPv4 CIDR): the proxy then listens only on its own address there, so a container on
     *  a network it goes out by (the default bridge, a tenant's) cannot use its allow list or credentials. */
    subnet: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/).optional(),
  }).prefault({}),
  /** "host:port" / "*.suffix:port" patterns, as spec.egress.allow writes them (src/spec/egress.ts parses them). */
  allow: z.array(z.string().refine((p) => parseAllowPattern(p).ok, 'expected "host:port" or "*.suffix:port"')),
  /** Hosts whose TLS the proxy terminates (with a certificate signed by ca) to set one header. */
  credentials: z.array(hostPort.extend({
    header: z.string().min(1),
    /** "{}" stands for the file's content (trailing newline removed). */
    format: z.string().default('{}'),
    /** A file holding the secret; read once at start. */
    valueFile: z.string().min(1),
    /** The host's certificate and key, issued by the per-agent CA (src/egress/ca.ts issueLeaf) where the CA key is;
     *  without them the proxy issues one itself with ca.keyFile. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })).default([]),
  /** The per-agent CA. Its key only when some credential has no certFile (the local wiring issues every leaf host-side,
   *  so the CA key never enters the proxy). */
  ca: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1).optional() }).optional(),
  /** PEM bundle the proxy verifies credential hosts' real certificates against, in addition to Node's own roots. */
  upstreamCaFile: z.string().min(1).optional(),
  /** Pinned addresses (spec.egress.hosts): used instead of DNS, and checked like resolved addresses. */
  hosts: z.record(z.string(), z.array(z.string())).default({}),
  /** Private ranges allowed as destinations (loopback, link-local and metadata never are). */
  allowPrivate: z.boolean().default(false),
  /** Events as JSON lines: "stdout" (default; the engine's log of the proxy container) or a file path. */
  events: z.string().default('stdout'),
}).superRefine((c, ctx) => {
  c.credentials.forEach((cred, i) => {
    if (!(cred.certFile && cred.keyFile) && !c.ca?.keyFile)
      ctx.addIssue({ code: 'custom', path: ['credentials', i], message: 'expected certFile and keyFile, or ca.keyFile to issue them: credentials need TLS termination with the per-agent CA' });
  });
});

export type EgressConfig = z.output<typeof EgressConfigSchema>;
export type EgressConfigInput = z.input<typeof EgressConfigSchema>;

/** Files the proxy's folder holds besides config.json, named here so the writer and the config agree. */
export const egressFiles = {
  config: 'config.json',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  credential: (i: number) => `credential-${i}`,
  leafCert: (i: number) => `leaf-${i}.crt`,
  leafKey: (i: number) => `leaf-${i}.key`,
};

export interface EgressConfigOptions {
  readonly agent: string;
  /** Where the proxy sees its folder (default EGRESS_DEFAULTS.dir). A Kubernetes Secret mount may differ from the config's. */
  readonly dir?: string;
  /** Where the credential and CA files are, when not in `dir` (e.g. a Secret volume beside a ConfigMap). */
  readonly secretsDir?: string;
  readonly upstreamCaFile?: string;
  readonly listen?: Partial<EgressConfig['listen']>;
  /** The proxy issues its leaf certificates itself from ca.key (default false: the caller writes leaf-N.crt/.key). */
  readonly caKeyInProxy?: boolean;
}

/**
 * spec.egress → the proxy's config. Pure: the caller writes config.json into `dir`, and into
 * `secretsDir` as egressFiles names them: ca.crt, each resolved credential (credential-0, ... in the
 * order of spec.egress.credentials) and its host's certificate and key (leaf-0.crt, leaf-0.key: issueLeaf
 * of src/egress/ca.ts). The CA key stays with the caller unless `caKeyInProxy` (then ca.key too).
 */
export function egressConfig(egress: EgressSpec, opts: EgressConfigOptions): EgressConfig {
  const secrets = opts.secretsDir ?? opts.dir ?? EGRESS_DEFAULTS.dir;
  return EgressConfigSchema.parse({
    version: EGRESS_CONFIG_VERSION,
    agent: opts.agent,
    listen: { ...opts.listen },
    allow: [...egress.allow],
    credentials: egress.credentials.map((c, i) => ({
      host: c.host, port: c.port, header: c.header, format: c.format, valueFile: `${secrets}/${egressFiles.credential(i)}`,
      ...(opts.caKeyInProxy ? {} : { certFile: `${secrets}/${egressFiles.leafCert(i)}`, keyFile: `${secrets}/${egressFiles.leafKey(i)}` }),
    })),
    ...(egress.credentials.length > 0 ? { ca: { certFile: `${secrets}/${egressFiles.caCert}`, ...(opts.caKeyInProxy ? { keyFile: `${secrets}/${egressFiles.caKey}` } : {}) } } : {}),
    ...(opts.upstreamCaFile ? { upstreamCaFile: opts.upstreamCaFile } : {}),
    hosts: Object.fromEntries(Object.entries(egress.hosts).map(([k, v]) => [k.toLowerCase(), [v]])),
    allowPrivate: egress.allowPrivate,
  });
}

/** The proxy container's command: the agent image's binary reading `dir`/config.json. */
export function egressCommand(dir: string = EGRESS_DEFAULTS.dir): string[] {
  return [EGRESS_DEFAULTS.binary, '--config', `${dir}/${egressFiles.config}`];
}

/** Environment for the agent: both spellings (curl reads the lower-case ones, many SDKs the upper-case). */
export function agentProxyEnv(proxyHost: string, httpPort: number = EGRESS_DEFAULTS.httpPort): Record<string, string> {
  const url = `http://${proxyHost}:${httpPort}`;
  // the container's own loopback (a browser sidecar's CDP, a payload's local servers) is not the
  // internet: the proxy would refuse it anyway (loopback-address), so clients must not send it there
  const local = 'localhost,127.0.0.1,::1';
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: local, no_proxy: local };
}
