import type { Ctx } from './context.js';
import { LABELS } from '../spec/defaults.js';
import { findAgent } from '../ops/find.js';
import { decodeSpecLabel, volumeOfContainer } from '../plan/plan.js';
import { trustedSpec } from '../ops/instance-record.js';
import { agentNameOf } from '../ops/claims.js';

/** Env-exposed secret values are replaced before anything is printed. */
function redactEnv(raw: unknown, secretNames: readonly string[]): unknown {
  const r = raw as { Config?: { Env?: string[] } };
  if (!r?.Config?.Env) return raw;
  const env = r.Config.Env.map((kv) => {
    const k = kv.slice(0, kv.indexOf('='));
    return secretNames.includes(k) ? `${k}=[REDACTED:${k}]` : kv;
  });
  return { ...r, Config: { ...r.Config, Env: env } };
}

export default async function inspect(ctx: Ctx, name: string): Promise<void> {
  const rt = await ctx.runtime();
  const d = await findAgent(rt, name);
  // shown only: the label's spec is whatever the container's maker wrote, so clawpod's own record comes first,
  // and env names from either are hidden (hiding more is harmless)
  const label = decodeSpecLabel(d.labels[LABELS.spec]);
  const decoded = trustedSpec(ctx.config, d) ?? label;
  const envSecrets = [decoded, label].flatMap((x) => x?.agent.spec.secrets?.filter((s) => s.exposeAs === 'env').map((s) => s.name) ?? []);
  ctx.printJson({
    name: d.name, id: d.id, agent: agentNameOf(ctx.config, d), state: d.state, image: d.image, runtime: rt.kind,
    ports: d.ports, workspaceVolume: decoded?.agent.spec.workspace.enabled ? volumeOfContainer(d.labels, d.name) : null,
    security: { user: d.user, readOnlyRootfs: d.readOnlyRootfs, capDrop: d.capDrop, capAdd: d.capAdd, securityOpt: d.securityOpt, ociRuntime: d.ociRuntime || 'default' },
    resources: { nanoCpus: d.nanoCpus, memoryBytes: d.memoryBytes, pidsLimit: d.pidsLimit },
    mounts: d.mounts,
    spec: decoded?.agent ?? null,
    engine: redactEnv(d.raw, envSecrets),
  });
}
