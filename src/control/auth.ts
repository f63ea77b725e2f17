// Who is calling the control plane's API, and what it may see. The token in the data folder
// (control/token) is the admin; tokens made with `clawpod token create` carry one scope:
//   admin          everything, like the file token
//   metrics        GET /metrics only (a Prometheus scrape)
//   group:NAME     the group NAME: its messages, sessions, usage, and the agent of the same name
//   tenant:NAME    the tenant NAME: its group tenant-NAME, its agents, its chat turns
//   sandbox:OWNER  the sandboxes made with OWNER's tokens (src/sandbox), within the token's limits
// A scoped caller asking for something outside its scope gets the same 404 as for something that
// does not exist, so it learns nothing about other tenants; routes only an admin may call say 403.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ClawpodError } from '../errors.js';
import { badGroupName } from './config.js';
import type { ApiTokenRow, Store } from './store.js';
import { limitsOf, limitsView, type SandboxLimits } from '../sandbox/limits.js';

export type Principal =
  | { readonly kind: 'admin'; readonly tokenId: string | null }
  | { readonly kind: 'metrics'; readonly tokenId: string }
  | { readonly kind: 'group'; readonly group: string; readonly tokenId: string }
  | { readonly kind: 'tenant'; readonly tenant: string; readonly tokenId: string }
  | { readonly kind: 'sandbox'; readonly owner: string; readonly limits: SandboxLimits; readonly tokenId: string };

export type Scope = 'admin' | 'metrics' | `group:${string}` | `tenant:${string}` | `sandbox:${string}`;

const TOKEN_PREFIX = 'cpapi_';

/** A scope as typed on the command line, checked; a bad one names the forms that exist. */
export function parseScope(s: string): Scope {
  if (s === 'admin' || s === 'metrics') return s;
  const m = /^(group|tenant|sandbox):(.+)$/.exec(s);
  const hint = 'a scope is admin, metrics, group:NAME, tenant:NAME or sandbox:OWNER';
  if (!m) throw new ClawpodError('USAGE', `"${s}" is not a token scope`, { hint });
  const bad = badGroupName(m[1] === 'tenant' ? `tenant-${m[2]}` : m[2]!);
  if (bad) throw new ClawpodError('USAGE', `scope ${s}: ${bad.message}`, { hint });
  return s as Scope;
}

function principalOf(row: ApiTokenRow): Principal {
  if (row.scope === 'admin') return { kind: 'admin', tokenId: row.id };
  if (row.scope === 'metrics') return { kind: 'metrics', tokenId: row.id };
  const at = row.scope.indexOf(':');
  const name = row.scope.slice(at + 1);
  if (row.scope.startsWith('sandbox:')) return { kind: 'sandbox', owner: name, limits: limitsOf(row.limits), tokenId: row.id };
  return row.scope.startsWith('group:') ? { kind: 'group', group: name, tokenId: row.id } : { kind: 'tenant', tenant: name, tokenId: row.id };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ApiTokens {
  constructor(private readonly store: Store, private readonly adminToken: string) {}

  /** The caller of an `Authorization: Bearer TOKEN` header, or undefined for a missing, unknown or revoked token. */
  authenticate(authorization: string | undefined): Principal | undefined {
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    if (!bearer) return undefined;
    if (same(bearer, this.adminToken)) return { kind: 'admin', tokenId: null };
    if (!bearer.startsWith(TOKEN_PREFIX)) return undefined;
    const row = this.store.apiTokenByHash(sha256(bearer));
    if (!row || row.revoked_at) return undefined;
    this.store.apiTokenUsed(row.id);
    return principalOf(row);
  }

  /** A new token: its value is returned once and only its hash is kept. `limits`: a sandbox:OWNER token's. */
  create(scope: Scope, name: string, limits?: SandboxLimits): { row: ApiTokenRow; token: string } {
    const token = `${TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
    const row = this.store.addApiToken({ id: `tok_${randomBytes(6).toString('hex')}`, hash: sha256(token), scope, name, ...(limits ? { limits: limitsView(limits) } : {}) });
    return { row, token };
  }
}

/** The groups a caller may see; undefined: all of them. */
export function groupOf(p: Principal): string | undefined | null {
  if (p.kind === 'admin') return undefined;
  if (p.kind === 'group') return p.group;
  if (p.kind === 'tenant') return `tenant-${p.tenant}`;
  return null;
}

export function seesGroup(p: Principal, group: string): boolean {
  const g = groupOf(p);
  return g === undefined || g === group;
}

/** Agents: a group's caller sees the agent named like its group; a tenant's, the agents of its tenant. */
export function seesAgent(p: Principal, agent: { name: string; tenant: string | null }): boolean {
  if (p.kind === 'admin') return true;
  if (p.kind === 'group') return agent.name === p.group;
  if (p.kind === 'tenant') return agent.tenant === p.tenant || agent.name === `tenant-${p.tenant}`;
  return false;
}

export function seesTenant(p: Principal, tenant: string): boolean {
  return p.kind === 'admin' || (p.kind === 'tenant' && p.tenant === tenant);
}

export function requireAdmin(p: Principal, what: string): void {
  if (p.kind !== 'admin') throw new ClawpodError('FORBIDDEN', `${what} needs an admin token; this one is scoped to ${describe(p)}`, { hint: 'use the token in the control plane\'s data folder (control/token), or one made with `clawpod token create --scope admin`' });
}

export function describe(p: Principal): string {
  return p.kind === 'group' ? `group ${p.group}` : p.kind === 'tenant' ? `tenant ${p.tenant}` : p.kind === 'sandbox' ? `sandbox owner ${p.owner}` : p.kind;
}
