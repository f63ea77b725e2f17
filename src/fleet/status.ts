// `clawpod tenant ls|status` on this machine: each tenant's record, what its container is doing and
// whether its payload answers its health probe — and, when it is not Ready, what it waits on.
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { PROFILES } from '../profiles/index.js';
import { tenantNames } from './derive.js';
import { publishedUrl } from '../ops/health.js';
import { loadRollout } from './rollout.js';
import { listTenants, type TenantRecord } from './store.js';

export interface TenantStatus {
  readonly name: string;
  readonly plan: string;
  readonly profile: string;
  readonly version: string;
  readonly phase: 'Ready' | 'Provisioning' | 'Upgrading' | 'Failed' | 'Stopped' | 'Deleting' | 'Unhealthy';
  readonly waitingOn?: string;
  readonly url?: string;
  readonly owner?: string;
  readonly createdAt: string;
}

async function healthy(url: string, path: string): Promise<string | undefined> {
  try {
    const r = await fetch(new URL(path, url), { signal: AbortSignal.timeout(2000) });
    return r.ok ? undefined : `its health probe ${path} answers HTTP ${r.status}`;
  } catch (e) { return `its health probe ${path} does not answer (${(e as Error).message})`; }
}

export async function tenantStatus(rt: Runtime, config: Config, names?: readonly string[]): Promise<TenantStatus[]> {
  const recs = listTenants(config).filter((r) => !names?.length || names.includes(r.tenant.metadata.name));
  const rollout = loadRollout(config);
  return Promise.all(recs.map(async (rec) => one(rt, rec, rollout?.phase === 'running' ? rollout.tenants[rec.tenant.metadata.name]?.state : undefined)));
}

async function one(rt: Runtime, rec: TenantRecord, rolling: string | undefined): Promise<TenantStatus> {
  const t = rec.tenant;
  const profile = PROFILES[t.spec.profile.name];
  const base = {
    name: t.metadata.name, plan: t.spec.plan, profile: t.spec.profile.name,
    version: t.spec.profile.version ?? profile?.defaultVersion ?? '?', createdAt: rec.createdAt, ...(t.spec.owner ? { owner: t.spec.owner } : {}),
  };
  if (rec.phase === 'deleting') return { ...base, phase: 'Deleting', waitingOn: 'a delete that did not finish: `clawpod tenant delete` again' };
  if (rec.phase === 'failed') return { ...base, phase: 'Failed', waitingOn: rec.error ?? 'the last apply failed' };
  if (rec.phase === 'provisioning') return { ...base, phase: 'Provisioning', waitingOn: `an apply started ${rec.updatedAt} (killed? \`clawpod tenant apply\` again converges)` };
  if (rolling === 'upgrading') return { ...base, phase: 'Upgrading', waitingOn: 'a fleet upgrade (`clawpod fleet status`)' };
  const d = await rt.inspectContainer(tenantNames(t.metadata.name).agent);
  if (!d) return { ...base, phase: 'Failed', waitingOn: 'its container is gone: `clawpod tenant apply -f FILE` makes it again (the volumes are kept)' };
  const port = d.ports.find((p) => p.containerPort === profile?.probes?.port);
  const url = port ? `${publishedUrl(port)}/` : undefined;
  if (d.state !== 'running') return { ...base, phase: 'Stopped', waitingOn: `its container is ${d.state}: \`clawpod start ${d.name}\``, ...(url ? { url } : {}) };
  const sick = url && profile?.probes ? await healthy(url, profile.probes.health.path) : undefined;
  return sick ? { ...base, phase: 'Unhealthy', waitingOn: sick, ...(url ? { url } : {}) } : { ...base, phase: 'Ready', ...(url ? { url } : {}) };
}
