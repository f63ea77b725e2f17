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

/** The 16 bytes of an IPv6 address (any textual form Node accepts); undefined for anything else. */
function v6Bytes(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) text = `${text.slice(0, dotted.index)}${((+dotted[1]! << 8) | +dotted[2]!).toString(16)}:${((+dotted[3]! << 8) | +dotted[4]!).toString(16)}`;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  return groups.flatMap((g) => { const n = parseInt(g || '0', 16); return [n >> 8, n & 0xff]; });
}

const v4 = (b: readonly number[]) => b.join('.');

/**
 * The IPv4 address an IPv6 one carries, when it is a form that reaches it: IPv4-mapped and
 * -compatible (::ffff:a.b.c.d, ::a.b.c.d), NAT64 (64:ff9b::/96; 64:ff9b:1::/48 in RFC 6052's layout), 6to4 (2002::/16)
 * and Teredo's client (2001:0::/32, inverted). Each is checked as that IPv4 address too.
 */
export function embeddedV4(ip: string): string | undefined {
  const b = v6Bytes(ip);
  if (!b) return undefined;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(b.slice(12));
  if (zero(0, 12) && !zero(12, 14)) return v4(b.slice(12)); // ::a.b.c.d, not :: or ::1
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zero(4, 12)) return v4(b.slice(12));
    // 64:ff9b:1::/48, RFC 6052's /48 layout: the address in bytes 6-7 and 9-10 (byte 8 is zero)
    if (b[4] === 0 && b[5] === 1) return v4([b[6]!, b[7]!, b[9]!, b[10]!]);
  }
  if (b[0] === 0x20 && b[1] === 0x02) return v4(b.slice(2, 6));
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return v4(b.slice(12).map((x) => x ^ 0xff));
  return undefined;
}

function refusalOf(ip: string, type: 'ipv4' | 'ipv6', allowPrivate: boolean): RefusalReason | undefined {
  if (METADATA.check(ip, type)) return 'metadata-address';
  if (LOOPBACK.check(ip, type)) return 'loopback-address';
  if (LINK_LOCAL.check(ip, type)) return 'link-local-address';
  if (!allowPrivate && PRIVATE.check(ip, type)) return 'private-address';
  return undefined;
}

/** undefined when the proxy may connect to `ip`; otherwise why not. */
export function addressRefusal(ip: string, allowPrivate: boolean): RefusalReason | undefined {
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  const inner = type === 'ipv6' ? embeddedV4(ip) : undefined;
  return refusalOf(ip, type, allowPrivate) ?? (inner ? refusalOf(inner, 'ipv4', allowPrivate) : undefined);
}

const isMetadata = (ip: string): boolean => {
  const inner = embeddedV4(ip);
  return METADATA.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4') || (inner !== undefined && METADATA.check(inner, 'ipv4'));
};

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
    if (isIP(h) !== 0) return isMetadata(h) ? 'metadata-address' : 'ip-literal';
    return this.rules.some((r) => ruleMatches(r, h, port)) ? undefined : 'not-allowed';
  }
}
