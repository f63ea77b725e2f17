// A tenant on this machine (Podman or Docker): its own isolated network, its state and app-data
// volumes, an LLM-gateway group with the plan's models and budget, and the payload container with
// the plan's limits on a host-port slot of its own. Provisioning is idempotent (each step keeps what
// exists), so re-running after a kill converges; a failure undoes only what this call made.
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { openVault } from '../secrets/vault.js';
import { hasNetworks, type MountPlan, type Runtime } from '../runtime/runtime.js';
import { unpauseIfPaused } from '../runtime/facets.js';
import { payloadVaultNames } from '../ops/payload.js';
import { removeAgent, startAgent } from '../ops/lifecycle.js';
import { publishedUrl, waitForService } from '../ops/health.js';
import { startService } from '../ops/service.js';
import { recoverUpgrade } from '../ops/upgrade.js';
import { recordMadeVolume } from '../ops/volume-records.js';
import { removeOwnedVolume } from '../ops/volume-owner.js';
import { instanceRecord } from '../ops/instance-record.js';
import type { RunExtra } from '../ops/run.js';
import type { Agent } from '../spec/schema.js';
import { tenantAgent, tenantEngineLabels, tenantNames, tenantProfile } from './derive.js';
import type { Plan, Tenant } from './schema.js';
import { forgetTenant, loadTenant, saveTenant, setPhase, type TenantRecord } from './store.js';

/** Starts tried when a host port is taken between its pick and the container's start. */
const PORT_RACE_RETRIES = 4;

export interface LocalOptions {
  readonly say: (s: string) => void;
  readonly budgetMs?: number;
  /** Removes the tenant's gateway group; default: through the running control plane's API (the daemon passes its own). */
  readonly dropGroup?: (tenant: string) => Promise<boolean>;
}

/** What the tenant's container is run with besides its Agent spec: network, app-data volume, labels. */
export function tenantExtra(tenant: Tenant, plan: Plan): RunExtra {
  const n = tenantNames(tenant.metadata.name);
  const appData: MountPlan = { kind: 'volume', name: n.appDataVolume, target: plan.spec.volumes.appDataPath, readOnly: false };
  return { network: n.network, mounts: [appData], labels: tenantEngineLabels(tenant) };
}

function networksOf(rt: Runtime) {
  if (!hasNetworks(rt)) throw new ClawpodError('USAGE', `tenants need named networks, which the ${rt.kind} runtime has none of here`, { hint: 'use Podman or Docker locally, or --kube for a cluster' });
  return rt;
}

/** The plan's gateway group: its models and budget; undefined when the plan has no models. */
export async function ensureGroup(config: Config, tenant: Tenant, plan: Plan): Promise<(() => Promise<void>) | undefined> {
  if (plan.spec.models.length === 0) return undefined;
  const group = tenantNames(tenant.metadata.name).group;
  let client: ControlClient;
  let existed: boolean;
  try {
    client = ControlClient.fromConfig(config);
    existed = (await client.call<{ name: string }[]>('GET', '/v1/groups')).some((g) => g.name === group);
    await client.call('PUT', `/v1/groups/${group}`, { model: plan.spec.models[0], models: plan.spec.models, ...(plan.spec.budget ? { budget: plan.spec.budget } : {}) });
  } catch (e) {
    if (isClawpodError(e) && e.code === 'RUNTIME_UNAVAILABLE') {
      throw new ClawpodError('RUNTIME_UNAVAILABLE', `plan ${plan.metadata.name} gives tenants models (${plan.spec.models.join(', ')}), and no control plane answers: ${e.message}`, { hint: 'start `clawpod serve -f controlplane.yaml` (with spec.gateway.listen and the models) first' });
    }
    if (isClawpodError(e) && e.code === 'NOT_FOUND') {
      throw new ClawpodError('NOT_FOUND', `plan ${plan.metadata.name} spec.models: ${e.message}`, { hint: e.hint ?? 'define the model under spec.models of the ControlPlane file' });
    }
    throw e;
  }
  return existed ? undefined : async () => { await client.call('DELETE', `/v1/groups/${group}`).catch(() => undefined); };
}

/** Provisions (or re-provisions after a kill) one tenant and waits until its payload is healthy. */
export async function provisionTenant(rt: Runtime, config: Config, tenant: Tenant, plan: Plan, slot: number, opts: LocalOptions): Promise<TenantRecord> {
  const agent = tenantAgent(tenant, plan); // refuses forced paths and bad plans before anything exists
  const n = tenantNames(tenant.metadata.name);
  const net = networksOf(rt);
  const now = new Date().toISOString();
  const before = loadTenant(config, tenant.metadata.name);
  let rec: TenantRecord = { tenant, plan, slot: before?.slot ?? slot, phase: 'provisioning', createdAt: before?.createdAt ?? now, updatedAt: now };
  saveTenant(config, rec); // first: a killed run leaves a record that names what to converge or clean
  const undo: (() => Promise<void>)[] = [];
  try {
    await recoverUpgrade(rt, config, n.agent, opts.say);
    if (!(await net.inspectNetwork(n.network))) {
      await net.createNetwork(n.network, tenantEngineLabels(tenant));
      undo.push(() => net.removeNetwork(n.network));
      opts.say(`${tenant.metadata.name}: network ${n.network} created (isolated)`);
    }
    if (!(await rt.inspectVolume(n.appDataVolume))) {
      await rt.createVolume(n.appDataVolume, { ...tenantEngineLabels(tenant), 'dev.clawpod.instance': n.agent, 'dev.clawpod.role': 'app-data' });
      recordMadeVolume(config, n.appDataVolume, { agent: n.agent, instance: n.agent });
      undo.push(() => removeOwnedVolume(rt, config, n.appDataVolume));
    }
    const dropGroup = await ensureGroup(config, tenant, plan);
    if (dropGroup) undo.push(dropGroup);
    await ensureRunning(rt, config, agent, tenant, plan, rec.slot, before?.phase === 'provisioning', opts);
    rec = setPhase(config, rec, 'ready');
    return rec;
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    if (before) setPhase(config, rec, 'failed', messageOf(e));
    else forgetTenant(config, tenant.metadata.name);
    throw e;
  }
}

/** The payload container: kept when it is clawpod's and runs, started when stopped, else made. */
async function ensureRunning(rt: Runtime, config: Config, agent: Agent, tenant: Tenant, plan: Plan, slot: number, interrupted: boolean, opts: LocalOptions): Promise<void> {
  const n = tenantNames(tenant.metadata.name);
  const loaded = { agent, file: '', dir: process.cwd() };
  let existing = await rt.inspectContainer(n.agent);
  const rec = existing ? instanceRecord(config, existing) : undefined;
  if (existing && rec?.agent.metadata.name !== n.agent) {
    // a run killed between create and its record leaves such a container; only a tenant whose provisioning
    // was interrupted may have one, and it is made again from the spec (its volumes are kept)
    if (!interrupted || rec) throw new ClawpodError('NAME_TAKEN', `a container named ${n.agent} exists that is not this tenant's (${rec ? `clawpod runs it as agent ${rec.agent.metadata.name}` : 'clawpod has no record of it'})`, { hint: `remove it (clawpod rm -f ${n.agent}) if it is a leftover, or give the tenant another name` });
    opts.say(`${tenant.metadata.name}: removing ${n.agent}, left without a record by an interrupted apply`);
    await rt.removeContainer(existing.id, { force: true });
    existing = undefined;
  }
  if (existing && interrupted && existing.state !== 'running') {
    // killed before it was started or seeded: made again, on the same volumes and with the same tokens
    opts.say(`${tenant.metadata.name}: re-creating ${n.agent}, left ${existing.state} by an interrupted apply`);
    await removeAgent(rt, config, n.agent, { force: true, volumes: false });
    existing = undefined;
  }
  if (existing) {
    if (existing.state === 'paused') await unpauseIfPaused(rt, existing); // a replay killed while it copied
    else if (existing.state !== 'running') await startAgent(rt, config, n.agent);
    await waitForService(rt, loaded, { id: existing.id, name: n.agent, ports: existing.ports }, opts.say, opts.budgetMs);
    return;
  }
  // tenants provisioned side by side can pick the same free host port before either binds it: the
  // loser's start fails, everything it made is undone, and a new pick sees the port held
  let r: Awaited<ReturnType<typeof startService>>;
  for (let attempt = 1; ; attempt++) {
    try {
      r = await startService(rt, config, loaded, { name: n.agent, say: opts.say, extra: tenantExtra(tenant, plan), index: slot, ...(opts.budgetMs ? { budgetMs: opts.budgetMs } : {}) });
      break;
    } catch (e) {
      if (attempt >= PORT_RACE_RETRIES || !/address already in use/i.test(messageOf(e))) throw e;
      opts.say(`${tenant.metadata.name}: its host port was taken meanwhile; choosing another`);
    }
  }
  for (const g of r.run.generated ?? []) opts.say(`${tenant.metadata.name}: ${g.label} kept in the vault as ${g.vaultName} (clawpod secret get ${g.vaultName} prints it)`);
}

/** Vault entries a tenant's payload was given: its generated secrets and its LLM token. */
function vaultEntries(tenant: Tenant): string[] {
  return payloadVaultNames(tenantProfile(tenant), tenantNames(tenant.metadata.name).agent);
}

/**
 * The tenant's gateway group, its tokens (revoked first) and recorded turns; false when there was none.
 * Asked whatever the plan says now: a plan that once gave models left a group with live tokens.
 */
export async function dropGroup(config: Config, tenant: string): Promise<boolean> {
  const client = ControlClient.fromConfig(config);
  const r = await client.call<{ deleted: boolean }>('DELETE', `/v1/groups/${tenantNames(tenant).group}`);
  await client.call('DELETE', `/v1/tenants/${tenant}/turns`);
  return r.deleted;
}

/** Removes everything the tenant owns here: containers, both volumes, network, vault entries, gateway group, record. */
export async function deleteTenant(rt: Runtime, config: Config, name: string, opts: LocalOptions): Promise<string[]> {
  const rec = loadTenant(config, name);
  if (!rec) throw new ClawpodError('NOT_FOUND', `no tenant named ${name}`, { hint: '`clawpod tenant ls` lists the tenants' });
  const n = tenantNames(name);
  setPhase(config, rec, 'deleting');
  const gone: string[] = [];
  await recoverUpgrade(rt, config, n.agent, opts.say).catch(() => false);
  for (const c of [n.agent, `${n.agent}-previous`, `${n.agent}-replay`]) {
    if (await rt.inspectContainer(c)) { await removeAgent(rt, config, c, { force: true, volumes: true }); gone.push(`container ${c}`); }
  }
  for (const v of [n.stateVolume, n.appDataVolume, `clawpod-${n.agent}-replay-workspace`]) {
    if (await rt.inspectVolume(v)) { await removeOwnedVolume(rt, config, v); gone.push(`volume ${v}`); }
  }
  const net = networksOf(rt);
  if (await net.inspectNetwork(n.network)) { await net.removeNetwork(n.network); gone.push(`network ${n.network}`); }
  const vault = openVault(config);
  for (const e of vaultEntries(rec.tenant)) if (await vault.remove(e).catch(() => false)) gone.push(`vault entry ${e}`);
  try {
    if (await (opts.dropGroup ?? ((t: string) => dropGroup(config, t)))(name)) gone.push(`gateway group ${n.group}`);
  } catch (e) {
    // a group whose plan gave models holds live tokens: the delete is not done until it goes
    if (rec.plan.spec.models.length > 0) {
      opts.say(`${name}: gateway group ${n.group} not deleted (${messageOf(e)}); \`clawpod tenant delete ${name}\` again with the control plane up removes it`);
      setPhase(config, rec, 'failed', `gateway group left: ${messageOf(e)}`);
      throw e;
    }
  }
  forgetTenant(config, name);
  return gone;
}

/** Where the tenant's payload answers on this machine, and the token it takes. */
export async function tenantEndpoint(rt: Runtime, config: Config, tenant: Tenant, container = tenantNames(tenant.metadata.name).agent): Promise<{ baseUrl: string; token: string }> {
  const profile = tenantProfile(tenant);
  const d = await rt.inspectContainer(container);
  if (!d) throw new ClawpodError('NOT_FOUND', `tenant ${tenant.metadata.name} has no container ${container}`, { hint: `\`clawpod tenant apply -f FILE\` provisions it again (its volumes are kept)` });
  const port = d.ports.find((p) => p.containerPort === profile.probes?.port);
  if (!port) throw new ClawpodError('NOT_FOUND', `${container} publishes no port ${profile.probes?.port ?? '(none)'}`, { hint: 'the tenant was made by another tool, or its spec lost its ports' });
  const g = profile.generatedSecrets?.find((x) => x.name === 'gateway-token');
  const token = g ? await openVault(config).get(g.vaultName(container)) : undefined;
  if (!token) throw new ClawpodError('SECRET_MISSING', `the gateway token of ${container} is not in the vault`, { hint: 'provision the tenant again: `clawpod tenant apply -f FILE`' });
  return { baseUrl: `${publishedUrl(port)}/`, token };
}
