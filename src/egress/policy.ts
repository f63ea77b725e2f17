// What the egress proxy lets through, as pure functions: names against the allow list, and
// destination addresses against the ranges no agent may reach (docs/egress.md, "Addresses").
import { BlockList, isIP } from 'node:net';
import { parseAllowPattern, ruleMatches, type AllowRule } from '../spec/egress.js';

/** Why a request was refused: the `reason` label of clawpod_egress_refused_total and of events. */
export type RefusalReason =
  | 'not-allowed' | 'ip-literal' | 'metadata-address' | 'loopback-address' | 'link-local-address' | 'private-address'
  | 'sni-mismatch' | 'sni-missing' | 'not-tls' | 'dns-denied' | 'resolve-failed' | 'bad-request' | 'upstream-tls';

/** Cloud metadata services: refused always, whatever the allow list or a name resolves to. */
export const METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200'] as const;

function blockList(entries: readonly (readonly [string, number, 'ipv4' | 'ipv6'])[]): BlockList {
  const b = new BlockList();
  for (const [net, prefix, type] of entries) b.addSubnet(net, prefix, type);
  return b;
}

const METADATA = new BlockList();
for (const a of METADATA_ADDRESSES) METADATA.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
const LOOPBACK = blockList([['127.0.0.0', 8, 'ipv4'], ['0.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6'], ['::', 128, 'ipv6']]);
const LINK_LOCAL = blockList([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6'], ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]);
const PRIVATE = blockList([['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']]);

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as the IPv4 address it is. */
function unmapped(ip: string): { ip: string; type: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return { ip: m[1]!, type: 'ipv4' };
  return { ip, type: isIP(ip) === 6 ? 'ipv6' : 'ipv4' };
}

/** undefined when the proxy may connect to `ip`; otherwise why not. */
export function addressRefusal(ip: string, allowPrivate: boolean): RefusalReason | undefined {
  const a = unmapped(ip);
  if (METADATA.check(a.ip, a.type)) return 'metadata-address';
  if (LOOPBACK.check(a.ip, a.type)) return 'loopback-address';
  if (LINK_LOCAL.check(a.ip, a.type)) return 'link-local-address';
  if (!allowPrivate && PRIVATE.check(a.ip, a.type)) return 'private-address';
  return undefined;
}

/** A host as the proxy compares it: lower-case, no trailing dot, no IPv6 brackets. */
export function normalizeHost(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
}

export class AllowList {
  private readonly rules: readonly AllowRule[];
  constructor(patterns: readonly string[]) {
    this.rules = patterns.map((p) => parseAllowPattern(p)).flatMap((r) => (r.ok ? [r.rule] : []));
  }

  /** A name on any port: what the DNS answerer asks (it does not know the port). */
  allowsName(host: string): boolean {
    const h = normalizeHost(host);
    return this.rules.some((r) => (r.wildcard ? h.endsWith(`.${r.host}`) : h === r.host));
  }

  /** undefined when host:port may be reached by name; IP literals never are. */
  refusal(host: string, port: number): RefusalReason | undefined {
    const h = normalizeHost(host);
    if (isIP(h) !== 0) return METADATA.check(unmapped(h).ip, unmapped(h).type) ? 'metadata-address' : 'ip-literal';
    return this.rules.some((r) => ruleMatches(r, h, port)) ? undefined : 'not-allowed';
  }
}
