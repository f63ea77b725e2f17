// `clawpod token create|ls|revoke`: the control plane's API tokens with a scope (admin, metrics,
// group:NAME, tenant:NAME, sandbox:OWNER with its limits; see src/control/auth.ts). A token's value is printed once.
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ControlClient } from '../control/client.js';
import { parseScope } from '../control/auth.js';
import { ClawpodError } from '../errors.js';
import { limitsView, parseLimits, type SandboxLimits } from '../sandbox/limits.js';

interface TokenView {
  id: string; scope: string; name: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null;
  limits: ReturnType<typeof limitsView> | null;
}

export async function create(ctx: Ctx, opts: { scope: string; name?: string; maxSandboxes?: string; cpus?: string; memory?: string; pids?: string }): Promise<void> {
  const scope = parseScope(opts.scope); // refused here, before the call, with the forms that exist
  const given = { maxSandboxes: opts.maxSandboxes, cpus: opts.cpus, memory: opts.memory, pids: opts.pids };
  const any = Object.values(given).some((v) => v !== undefined);
  if (any && !scope.startsWith('sandbox:')) throw new ClawpodError('USAGE', `--max-sandboxes, --cpus, --memory and --pids are limits of a sandbox:OWNER token, and this one is ${scope}`, { hint: 'drop them, or use --scope sandbox:OWNER' });
  const limits: SandboxLimits | undefined = scope.startsWith('sandbox:') ? parseLimits(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined))) : undefined;
  const t = await ControlClient.fromConfig(ctx.config).call<TokenView & { token: string }>('POST', '/v1/api-tokens', { scope, ...(opts.name ? { name: opts.name } : {}), ...(limits ? { limits: limitsView(limits) } : {}) });
  if (ctx.json) { ctx.printJson(t); return; }
  ctx.print(t.token);
  const l = t.limits ? `, at most ${t.limits.maxSandboxes} sandboxes of ${t.limits.cpus} cpu, ${t.limits.memory}, ${t.limits.pids} pids` : '';
  process.stderr.write(`token ${t.id} (scope ${t.scope}${l}): shown once; revoke it with \`clawpod token revoke ${t.id}\`\n`);
}

export async function list(ctx: Ctx): Promise<void> {
  const ts = await ControlClient.fromConfig(ctx.config).call<TokenView[]>('GET', '/v1/api-tokens');
  if (ctx.json) { ctx.printJson(ts); return; }
  ctx.print(table([['ID', 'SCOPE', 'NAME', 'LIMITS', 'CREATED', 'LAST USED', 'REVOKED'],
    ...ts.map((t) => [t.id, t.scope, t.name, t.limits ? `${t.limits.maxSandboxes}×(${t.limits.cpus} cpu, ${t.limits.memory}, ${t.limits.pids} pids)` : '-', t.createdAt, t.lastUsedAt ?? '-', t.revokedAt ?? '-'])]));
}

export async function revoke(ctx: Ctx, ids: string[]): Promise<void> {
  const client = ControlClient.fromConfig(ctx.config);
  const out: { id: string; revoked: boolean }[] = [];
  for (const id of ids) out.push(await client.call<{ id: string; revoked: boolean }>('DELETE', `/v1/api-tokens/${encodeURIComponent(id)}`));
  if (ctx.json) { ctx.printJson(out); return; }
  for (const r of out) ctx.print(r.revoked ? `revoked ${r.id}` : `${r.id} was already revoked`);
}
