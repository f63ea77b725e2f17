// Names → addresses the proxy may connect to. The proxy resolves once and connects to the address
// it checked (never resolving again), so a name that answers differently the second time (DNS
// rebinding) cannot slip a forbidden address past the check.
import { lookup } from 'node:dns/promises';
import { addressRefusal, type RefusalReason } from './policy.js';

export type Resolved = { ok: true; addresses: readonly string[] } | { ok: false; reason: RefusalReason; detail: string };

export interface ResolverOptions {
  /** Pinned names (spec.egress.hosts) answered without DNS. */
  readonly hosts: Readonly<Record<string, readonly string[]>>;
  readonly allowPrivate: boolean;
  /** Injected in tests; default: the system resolver (getaddrinfo). */
  readonly lookupAll?: (host: string) => Promise<string[]>;
}

const systemLookup = async (host: string): Promise<string[]> => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Every address a name has must be allowed: one forbidden among them refuses the name (it is not a mistake). */
export async function resolveChecked(host: string, opts: ResolverOptions): Promise<Resolved> {
  let addresses: readonly string[];
  const pinned = opts.hosts[host];
  if (pinned) addresses = pinned;
  else {
    try { addresses = await (opts.lookupAll ?? systemLookup)(host); } catch (e) {
      return { ok: false, reason: 'resolve-failed', detail: (e as NodeJS.ErrnoException).code ?? 'lookup failed' };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: 'resolve-failed', detail: 'no address' };
  for (const a of addresses) {
    const why = addressRefusal(a, opts.allowPrivate);
    if (why) return { ok: false, reason: why, detail: `${host} resolves to ${a}` };
  }
  return { ok: true, addresses };
}
