// The egress proxy of one local agent (Podman): an internal network of the agent's own, the proxy
// container on it and on a bridge out, its folder of config and secrets (host tmpfs), and the agent's
// container spec rewired to it. Everything made is undone on failure and by removeEgressOf.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';
import type { EgressSpec } from '../spec/egress.js';
import { hasNetworks, type ContainerSpec, type Runtime } from '../runtime/runtime.js';
import { resolveRef } from '../secrets/resolve.js';
import { secretsFolder } from '../secrets/deliver.js';
import { setDirMode, writeNewFile } from '../security/safe-fs.js';
import { createAgentCa, issueLeaf } from './ca.js';
import { agentProxyEnv, EGRESS_DEFAULTS, egressCommand, egressConfig, egressFiles } from './config.js';
import { EVENT_PREFIX } from './events.js';
import { EGRESS_LABEL, egressNames } from './names.js';

export { EGRESS_LABEL, egressKeyOf, egressNames } from './names.js';

/** Where the agent sees the CA bundle it trusts: the per-agent CA plus the host's bundle. */
export const AGENT_TRUST_DIR = '/etc/clawpod/egress';
const PROXY_USER = '1000:1000';
// a loaded 2-core machine took 17 s to start a proxy that issued its certificates itself
const READY_TIMEOUT_MS = 30_000;

export interface EgressWiring {
  /** The agent's container spec behind the proxy. */
  wrap(spec: ContainerSpec): ContainerSpec;
  readonly proxyIp: string;
}

function writeFolder(config: Config, name: string, files: Record<string, string>, mode: number): string {
  const dir = secretsFolder(config.secretsDir, name, true)!;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  const [uid, gid] = PROXY_USER.split(':').map(Number);
  const owner = config.uid === 0 ? { uid: uid!, gid: gid! } : undefined;
  for (const [f, v] of Object.entries(files)) writeNewFile(join(dir, f), v, { mode, owner });
  setDirMode(dir, 0o500, owner);
  return dir;
}

async function secretFiles(egress: EgressSpec, ctx: { specDir: string; config: Config }): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [i, c] of egress.credentials.entries()) {
    out[egressFiles.credential(i)] = await resolveRef(c.source, c.secretRef, `spec.egress.credentials[${i}] (${c.host} ${c.header})`, ctx);
  }
  return out;
}

/** Waits for the proxy's "started" event in its log (its servers listen once it is written). */
async function waitReady(rt: Runtime, id: string, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    let text = '';
    for await (const c of rt.logs(id, { tail: 50 })) text += c.data.toString('utf8');
    if (text.includes(`${EVENT_PREFIX}{"type":"egress.started"`)) return;
    const d = await rt.inspectContainer(id);
    if (d && d.state !== 'running') {
      throw new ClawpodError('RUNTIME_ERROR', `egress proxy ${name} exited (${d.exitCode ?? '?'}) before it listened: ${text.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}`, { hint: 'rebuild the agent image (`clawpod image build`) so it carries clawpod-egress' });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new ClawpodError('RUNTIME_ERROR', `egress proxy ${name} did not report it listened within ${READY_TIMEOUT_MS / 1000} s`, { hint: `look at its log: podman logs ${name}` });
}

/**
 * Makes the agent's egress: network, folders, proxy container (started and listening). `outNetwork`:
 * the proxy's way out (a tenant's network, else the engine's default bridge).
 */
export async function startEgress(rt: Runtime, config: Config, agent: Agent, instance: string, opts: { specDir: string; outNetwork?: string; say: (s: string) => void }): Promise<EgressWiring> {
  const egress = agent.spec.egress!;
  if (!hasNetworks(rt) || rt.kind !== 'podman') {
    throw new ClawpodError('USAGE', `spec.egress: a local egress proxy needs Podman, and this runtime is ${rt.kind}`, { hint: 'use Podman locally, or export the agent to Kubernetes (docs/egress.md)' });
  }
  const n = egressNames(instance);
  if (await rt.inspectContainer(n.container)) {
    throw new ClawpodError('NAME_TAKEN', `an egress proxy ${n.container} already exists`, { hint: `remove the agent it belongs to (\`clawpod rm -f ${instance}\`), or \`podman rm -f ${n.container}\` if it is a leftover` });
  }
  const labels = { [LABELS.managed]: 'true', [LABELS.role]: 'egress', [EGRESS_LABEL]: instance };
  const undo: (() => Promise<unknown>)[] = [];
  try {
    opts.say(`egress: proxy ${n.container} for ${egress.allow.length} allowed host pattern(s)`);
    const creds = await secretFiles(egress, { specDir: opts.specDir, config });
    const ca = egress.credentials.length > 0 ? createAgentCa(instance) : undefined;
    const caFile = egress.caFile ? (isAbsolute(egress.caFile) ? egress.caFile : resolve(opts.specDir, egress.caFile)) : undefined;
    if (caFile && !existsSync(caFile)) throw new ClawpodError('SPEC_INVALID', `spec.egress.caFile: ${caFile} does not exist`, { hint: 'name a PEM file, relative to the spec file' });
    await rt.removeNetwork(n.network); // a leftover of a crashed run (idempotent; fails if something still uses it)
    await rt.createNetwork(n.network, labels, { internal: true });
    undo.push(() => rt.removeNetwork(n.network));
    // the proxy listens on its address in this network only: other containers on the networks it goes out by cannot use it
    const subnet = (await rt.inspectNetwork(n.network))?.subnets?.find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c));
    if (!subnet) throw new ClawpodError('RUNTIME_ERROR', `the egress network ${n.network} has no IPv4 subnet`, { hint: `podman network inspect ${n.network}` });
    const cfg = egressConfig(egress, { agent: instance, listen: { subnet }, ...(caFile ? { upstreamCaFile: `${EGRESS_DEFAULTS.dir}/upstream-ca.crt` } : {}) });
    undo.push(async () => { for (const f of [n.folder, n.trust]) { const d = secretsFolder(config.secretsDir, f, false); if (d) rmSync(d, { recursive: true, force: true }); } });
    const dir = writeFolder(config, n.folder, {
      [egressFiles.config]: JSON.stringify(cfg, null, 2), ...creds,
      // the leaves are issued here: the CA key never enters the proxy (nor anything else: it is not kept)
      ...(ca ? { [egressFiles.caCert]: ca.certPem } : {}),
      ...Object.fromEntries(ca ? egress.credentials.flatMap((c, i) => { const l = issueLeaf(ca, c.host); return [[egressFiles.leafCert(i), l.certPem], [egressFiles.leafKey(i), l.keyPem]]; }) : []),
      ...(caFile ? { 'upstream-ca.crt': readFileSync(caFile, 'utf8') } : {}),
    }, 0o400);
    const trust = ca ? writeFolder(config, n.trust, { 'ca-bundle.crt': `${ca.certPem}${config.caBundle && existsSync(config.caBundle) ? readFileSync(config.caBundle, 'utf8') : ''}` }, 0o444) : undefined;

    const proxy: ContainerSpec = {
      name: n.container,
      image: DEFAULTS.image,
      command: egressCommand(),
      env: {},
      user: PROXY_USER,
      labels,
      mounts: [
        { kind: 'tmpfs', target: '/tmp', sizeBytes: 16 * 1024 * 1024 },
        { kind: 'bind', source: dir, target: EGRESS_DEFAULTS.dir, readOnly: true, agentOwned: true },
      ],
      ports: [],
      resources: { cpus: 1, memoryBytes: 128 * 1024 * 1024, pids: 128 },
      network: 'bridge',
      networkName: n.network,
      extraNetworks: [opts.outNetwork ?? 'podman'],
      // DNS on 53 as uid 1000 with no capabilities: a namespaced sysctl of the proxy's own network namespace
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '53' },
      isolation: 'runc',
      security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
    };
    const id = await rt.createContainer(proxy);
    undo.push(() => rt.removeContainer(id, { force: true }));
    await rt.startContainer(id);
    await waitReady(rt, id, n.container);
    const ip = (await rt.inspectContainer(id))?.networks?.[n.network]?.ip;
    if (!ip) throw new ClawpodError('RUNTIME_ERROR', `egress proxy ${n.container} has no address on ${n.network}`, { hint: `podman inspect ${n.container}` });
    return {
      proxyIp: ip,
      wrap: (spec) => ({
        ...spec,
        networkName: n.network,
        dns: [ip],
        // the internal bridge has no IPv4 address on the host, but it has an IPv6 link-local one, and
        // host services bound to :: answered the agent there (fe80::…%eth0): no IPv6 on its interface
        noLinkIpv6: true,
        env: {
          ...spec.env, ...agentProxyEnv(ip, cfg.listen.httpPort),
          ...(trust ? { NODE_EXTRA_CA_CERTS: `${AGENT_TRUST_DIR}/ca-bundle.crt`, SSL_CERT_FILE: `${AGENT_TRUST_DIR}/ca-bundle.crt`, REQUESTS_CA_BUNDLE: `${AGENT_TRUST_DIR}/ca-bundle.crt` } : {}),
        },
        // agentOwned: in its user namespace the agent's uid is no host account, so the folder is handed to it
        mounts: [...spec.mounts, ...(trust ? [{ kind: 'bind' as const, source: trust, target: AGENT_TRUST_DIR, readOnly: true, agentOwned: true }] : [])],
      }),
    };
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw e;
  }
}

/** Removes an instance's proxy, network and folders; idempotent (nothing there is not an error). */
export async function removeEgressOf(rt: Runtime, config: Config, instance: string): Promise<void> {
  const n = egressNames(instance);
  const d = await rt.inspectContainer(n.container);
  if (d && d.labels[EGRESS_LABEL] === instance) await rt.removeContainer(d.id, { force: true });
  if (hasNetworks(rt)) {
    const net = await rt.inspectNetwork(n.network);
    if (net?.labels[EGRESS_LABEL] === instance) await rt.removeNetwork(n.network);
  }
  for (const f of [n.folder, n.trust]) {
    const dir = secretsFolder(config.secretsDir, f, false);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
