// The agent's only DNS server: A and AAAA answers for allowed names (looked up by the proxy and
// checked like any destination), NXDOMAIN for every other name, nothing forwarded as the agent
// wrote it (no TXT or other record types: a query is not a channel out).
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { EgressRecorder } from './events.js';
import { normalizeHost, type AllowList } from './policy.js';
import { resolveChecked, type ResolverOptions } from './resolve.js';

const TTL = 30;

export interface DnsAnswerer {
  answer(query: Buffer): Promise<Buffer | undefined>;
}

/** Query bytes → answer bytes (undefined: not a DNS query, dropped). Pure but for the lookups. */
export function dnsAnswerer(allow: AllowList, resolver: ResolverOptions, rec: EgressRecorder): DnsAnswerer {
  return {
    async answer(query) {
      let q: dnsPacket.Packet;
      try { q = dnsPacket.decode(query); } catch { return undefined; }
      if (q.type !== 'query' || q.id === undefined) return undefined;
      const reply = (rcode: string, answers: dnsPacket.Answer[] = []): Buffer => dnsPacket.encode({
        id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcodeBits(rcode),
        questions: q.questions ?? [], answers,
      });
      const question = q.questions?.length === 1 ? q.questions[0]! : undefined;
      if (!question || (((q.flags ?? 0) >> 11) & 0xf) !== 0) return reply('REFUSED');
      const name = normalizeHost(question.name);
      if (!allow.allowsName(name)) {
        rec.refuse('dns-denied', name, 'DNS');
        return reply('NXDOMAIN');
      }
      if (question.type !== 'A' && question.type !== 'AAAA') return reply('NOERROR'); // the name exists, no such record here
      const r = await resolveChecked(name, resolver);
      if (!r.ok) {
        rec.refuse(r.reason, name, 'DNS', r.detail);
        return reply('NXDOMAIN');
      }
      const family = question.type === 'A' ? 4 : 6;
      return reply('NOERROR', r.addresses.filter((a) => isIP(a) === family).map((a) => ({ type: question.type, name: question.name, ttl: TTL, class: 'IN', data: a }) as dnsPacket.Answer));
    },
  };
}

function rcodeBits(rcode: string): number {
  return { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 }[rcode] ?? 2;
}

/** Serves `answerer` over UDP on host:port (IPv4; the agent's resolv.conf names the proxy's IPv4 address). */
export async function serveDns(answerer: DnsAnswerer, host: string, port: number): Promise<Socket> {
  const sock = createSocket('udp4');
  sock.on('message', (msg, from) => {
    answerer.answer(msg).then((out) => { if (out) sock.send(out, from.port, from.address); }, () => undefined);
  });
  await new Promise<void>((res, rej) => { sock.once('error', rej); sock.bind(port, host, () => { sock.off('error', rej); res(); }); });
  sock.on('error', () => undefined);
  return sock;
}
