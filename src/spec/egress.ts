// spec.egress: the hosts an agent may reach (through its egress proxy, docs/egress.md) and the
// credentials the proxy adds for some of them, so those keys never enter the agent's container.
import { isIP } from 'node:net';
import { z } from 'zod';

/** A DNS name: labels of letters, digits and "-", at least two labels (a bare "localhost" is no internet host). */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface AllowRule {
  /** An exact name ("api.github.com"), or a suffix when `wildcard` ("example.com" for "*.example.com"). */
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: number;
}

/** "host:port" or "*.suffix:port" → a rule, or the reason it is not one (worded as what was expected). */
export function parseAllowPattern(p: string): { ok: true; rule: AllowRule } | { ok: false; expected: string } {
  const s = p.trim().toLowerCase();
  if (s.startsWith('[') || isIP(s) !== 0 || isIP(s.replace(/:\d+$/, '')) !== 0)
    return { ok: false, expected: 'a host name, not an IP address: the proxy refuses direct IPs (a name is what the list checks against TLS SNI and DNS); name the host, or pin its address under spec.egress.hosts' };
  const m = /^(.*):(\d{1,5})$/.exec(s);
  if (!m) return { ok: false, expected: `"host:port" with the port written out, e.g. "${s || 'api.github.com'}:443"` };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { ok: false, expected: 'a port between 1 and 65535' };
  let host = m[1]!;
  const wildcard = host.startsWith('*.');
  if (wildcard) host = host.slice(2);
  if (host.includes('*')) return { ok: false, expected: 'a wildcard only as the whole first label, e.g. "*.example.com:443" (no "*" alone, no "api*.x.com")' };
  if (isIP(host) !== 0) return { ok: false, expected: 'a host name, not an IP address: the proxy refuses direct IPs' };
  if (!HOST_NAME.test(host)) return { ok: false, expected: 'a DNS name of at least two labels (letters, digits, "-"), e.g. "api.github.com:443" or "*.example.com:443"' };
  return { ok: true, rule: { host, wildcard, port } };
}

/** Whether `host:port` (lower-case, no trailing dot) is allowed by `rule`; "*.x.com" matches a.x.com and a.b.x.com, not x.com. */
export function ruleMatches(rule: AllowRule, host: string, port: number): boolean {
  if (rule.port !== port) return false;
  return rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host;
}

const allowPattern = z.string().superRefine((p, ctx) => {
  const r = parseAllowPattern(p);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `expected ${r.expected}` });
});

export const EgressCredentialSchema = z.strictObject({
  /** The exact host (no wildcard) whose requests get the header; it must be allowed on `port`. */
  host: z.string().transform((h) => h.toLowerCase()).refine((h) => HOST_NAME.test(h), 'expected an exact DNS name such as "api.github.com" (no wildcard, no port, no IP)'),
  port: z.number().int().min(1).max(65535).default(443),
  /** Added, or replacing what the agent sent. */
  header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name such as "Authorization"')
    .refine((h) => !['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer'].includes(h.toLowerCase()), 'expected a header other than Host and the framing headers (Content-Length, Transfer-Encoding, Connection...)'),
  /** Where the value comes from, as in spec.secrets (default env). */
  source: z.enum(['env', 'file', 'exec', 'vault', 'podman', 'kubernetes']).default('env'),
  secretRef: z.strictObject({ name: z.string().min(1, 'expected a non-empty name'), key: z.string().min(1).optional() }),
  /** The header's value, "{}" standing for the secret: "Bearer {}", "token {}". Default "{}". */
  format: z.string().refine((f) => f.split('{}').length === 2, 'expected a format with exactly one "{}" where the secret goes, e.g. "Bearer {}"').default('{}'),
});

export const EgressSchema = z.strictObject({
  /** "host:port" or "*.suffix:port"; everything else is refused. */
  allow: z.array(allowPattern).default([]),
  credentials: z.array(EgressCredentialSchema).default([]),
  /** Pinned addresses, like /etc/hosts (a name inside the company network, a test server). Checked like resolved ones. */
  hosts: z.record(z.string(), z.union([z.ipv4(), z.ipv6()])).default({}),
  /** Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are refused unless this is true. Loopback,
   *  link-local and cloud metadata addresses are refused always. */
  allowPrivate: z.boolean().default(false),
  /** A PEM file (relative to the spec's folder) of CAs the proxy also trusts when it re-originates TLS to a
   *  credential host (a company CA); Node's roots and the host's bundle are trusted anyway. */
  caFile: z.string().min(1).optional(),
}).superRefine((e, ctx) => {
  const rules = e.allow.map((p) => parseAllowPattern(p)).flatMap((r) => (r.ok ? [r.rule] : []));
  e.credentials.forEach((c, i) => {
    if (!rules.some((r) => ruleMatches(r, c.host, c.port)))
      ctx.addIssue({ code: 'custom', path: ['credentials', i, 'host'], message: `expected a host that spec.egress.allow allows: add "${c.host}:${c.port}" to spec.egress.allow` });
    if (e.credentials.findIndex((d) => d.host === c.host && d.port === c.port && d.header.toLowerCase() === c.header.toLowerCase()) !== i)
      ctx.addIssue({ code: 'custom', path: ['credentials', i, 'header'], message: 'expected one credential per host, port and header' });
  });
  for (const name of Object.keys(e.hosts)) {
    if (!HOST_NAME.test(name)) ctx.addIssue({ code: 'custom', path: ['hosts', name], message: 'expected a DNS name as the key, e.g. "git.internal.example.com"' });
  }
});

export type EgressSpec = z.output<typeof EgressSchema>;
export type EgressCredentialSpec = EgressSpec['credentials'][number];
