// Warm pools: created, started, idle members of one spec (src/ops/pool-fill.ts makes them) that a
// new instance claims instead of starting cold. The claim renames the member to the instance's name
// (the rename is the claim: two claimers never get the same member), writes the claimer's secrets
// into its secrets folder, makes clawpod's records say it is the instance, and — for a payload that
// reloads its config in place (openclaw) — hands it the instance's token, model wiring, config and
// bundle. A member is one this data dir made and recorded as a member, never a container that
// merely carries the pool's labels: the claim hands it secrets.
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import { volumeOfContainer, workspaceVolumeName } from '../plan/plan.js';
import { profileOf } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import { requireFacet } from '../runtime/facets.js';
import type { ContainerDetails, ContainerInfo, Runtime } from '../runtime/runtime.js';
import { addSecretFile, removeDeliveredSecrets, secretsFolder } from '../secrets/deliver.js';
import { resolveSecrets, type ResolvedSecret } from '../secrets/resolve.js';
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import { checkAgentName } from '../spec/names.js';
import type { LoadedAgent } from '../spec/parse.js';
import type { Agent } from '../spec/schema.js';
import type { FileEntry } from './files.js';
import { waitForService } from './health.js';
import { checkMounts } from './mount-recheck.js';
import type { Started } from './run.js';
import { forgetClaim, forgetVolume, recordClaim, recordVolume, volumeAlias } from './claims.js';
import { forgetInstance, instanceRecord, recordedNames, recordInstance, recordOf, type WarmMark } from './instance-record.js';
import { claimBlocker, differingFields, memberAgentName, specHash } from './pool-spec.js';
import { poolRecord, takeMemberLock, type PoolRecord } from './pool-records.js';
import { removeOwnedVolume } from './volume-owner.js';

export const POOL_ROLE = 'pool';

export interface Member extends ContainerInfo { readonly mark: WarmMark | undefined }

/**
 * Unclaimed members of POOL (oldest first). The labels only narrow the engine's list; the record
 * decides: a member this data dir made (`mark` undefined: one made before members carried their
 * spec's hash — drained, never claimed).
 */
export async function poolMembers(rt: Runtime, config: Config, pool: string, opts: { all?: boolean } = {}): Promise<Member[]> {
  const all = await rt.listContainers({ labels: { [LABELS.role]: POOL_ROLE, [LABELS.agent]: memberAgentName(pool) }, all: opts.all ?? false });
  const out: Member[] = [];
  for (const c of all) {
    if (c.name !== c.labels[LABELS.instance]) continue; // claimed: an instance now
    const rec = instanceRecord(config, c);
    if (!rec || (rec.member ? rec.member.pool !== pool : rec.agent.metadata.name !== memberAgentName(pool))) continue;
    out.push({ ...c, mark: rec.member });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export interface ClaimRequest {
  /** The pool's name: the metadata.name of the spec it was filled from (or the profile's name). */
  readonly pool: string;
  /** The instance's name (an agent name); a container or state of that name already makes it cold. */
  readonly name: string;
  /** The claimer's spec: its container-level spec must hash like the pool's (src/ops/pool-spec.ts). */
  readonly loaded: LoadedAgent;
  readonly say: (s: string) => void;
  /** The instance's labels. The engine cannot relabel a running container: kept in the claim record (claimedLabels). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Claimed extends Started { readonly claimed: string; readonly labels: Readonly<Record<string, string>> }

/**
 * Claims a running member of warm pool `pool` as instance `name`, or says why not and returns
 * undefined (the caller starts cold): no such pool, no ready member, a spec that differs from the
 * pool's (the fields are named), secrets a running container cannot take, a name or state that
 * already exists. On success the member is `name`, running, with the claimer's secret files in
 * /run/secrets and clawpod's records of it as the instance (ps, logs, exec, rm, inspect, upgrade act
 * on it as on a cold one); `claimed` is the member's old name. It throws only once a member was
 * taken and could not be made the instance (the member is removed then; nothing of the claimer's
 * is left). It starts no refill: src/ops/pool-refill.ts requestRefill does, src/ops/start.ts calls it.
 */
export async function claimWarm(rt: Runtime, config: Config, req: ClaimRequest): Promise<Claimed | undefined> {
  const { loaded, name, pool, say } = req;
  const { agent } = loaded;
  checkAgentName(name, 'name');
  const rec = poolRecord(config, pool);
  if (!rec) return undefined;
  const cold = (why: string) => { say(`${name}: ${why}: starting cold, not from warm pool ${pool}`); return undefined; };
  const blocked = claimBlocker(agent);
  if (blocked) return cold(blocked);
  if (specHash(agent) !== rec.hash) return cold(`its spec differs from the pool's in ${differingFields(agent, rec.agent).join(', ')} (\`clawpod pool fill\` with the new spec rebuilds the pool)`);
  if (recordedNames(config, `${memberAgentName(pool)}-`).length === 0) return cold('the pool has no ready member');
  if (await rt.inspectContainer(name)) return undefined; // the cold path says the name is taken
  if (agent.spec.workspace.enabled && ((await rt.inspectVolume(workspaceVolumeName(name))) || volumeAlias(config, name))) return cold('it has state already');
  // before a member is taken: a secret that cannot be read, a bundle holding one, a mount today's
  // allowlist refuses (the member's were checked when it was filled), cost nothing
  checkMounts(loaded, config, say);
  const secrets = await resolveSecrets(agent.spec.secrets, { specDir: loaded.dir, config });
  const bundle = agent.spec.bundle && agent.spec.profile ? (await import('./payload.js')).bundleFiles(agent.spec.bundle, config, loaded.dir) : undefined;
  const t0 = Date.now();
  const taken = await renameOne(rt, config, rec, name);
  if (!taken) return cold('no ready member was left to take');
  const { member, d } = taken;
  say(`claimed warm member ${member.name} as ${name}`);
  try {
    const made = await makeInstance(rt, config, { ...req, member, d, secrets, ...(bundle ? { bundle } : {}) });
    return { ...made, seconds: (Date.now() - t0) / 1000, claimed: member.name, labels: req.labels ?? {} };
  } catch (e) {
    // a half-claimed member is no use to anyone: it goes with its volume (nothing of the instance's yet)
    await discardMember(rt, config, profileOf(agent), member).catch(() => undefined);
    forgetClaim(config, name);
    forgetVolume(config, name);
    forgetInstance(config, name);
    throw e;
  }
}

/**
 * The rename (by the member's name, not its id) is the claim: a second claimer of the same member
 * finds no such name and tries the next — renaming only under the member's lock (takeMemberLock
 * says why). Candidates come from this data dir's records, not from listing the engine's containers
 * (with a pool of 100 a list cost Podman 0.2–0.3 s per claim); the engine is asked about the one
 * renamed: it must be the recorded container (else it is named back) and running (else it goes).
 * Claimers start at different members, so a burst of them rarely collides.
 */
async function renameOne(rt: Runtime, config: Config, pool: PoolRecord, name: string): Promise<{ member: Pick<ContainerInfo, 'id' | 'name' | 'labels'>; d: ContainerDetails } | undefined> {
  const names = recordedNames(config, `${memberAgentName(pool.name)}-`);
  const start = Math.floor(Math.random() * names.length);
  let stopped = 0;
  for (let i = 0; i < names.length && stopped < 3; i++) {
    const n = names[(start + i) % names.length]!;
    const rec = recordOf(config, n);
    if (rec?.member?.pool !== pool.name || rec.member.hash !== pool.hash) continue;
    const release = takeMemberLock(config, n);
    if (!release) continue;
    try {
      const renamer = requireFacet(rt, 'renaming', `claiming warm member ${n} as ${name}`);
      try { await renamer.renameContainer(n, name); } catch (e) {
        if (isClawpodError(e) && e.code === 'NAME_TAKEN' && (await rt.inspectContainer(name))) throw e;
        if (!isClawpodError(e) || (e.code !== 'NOT_FOUND' && e.code !== 'NAME_TAKEN')) throw e;
        continue; // taken by another claim, or gone
      }
      const d = await rt.inspectContainer(name);
      if (!d) continue;
      // a container that took a lost member's name is not ours to hand out
      if (d.id !== rec.id) { await renamer.renameContainer(name, n).catch(() => undefined); continue; }
      const member = { id: d.id, name: n, labels: d.labels };
      if (d.state === 'running') return { member, d };
      stopped++;
      await discardMember(rt, config, profileOf(rec.agent), member);
    } finally { release(); }
  }
  return undefined;
}

/** The member's own secrets folder (a host tmpfs bind-mounted read-only), checked: never one a link or the engine's word points elsewhere. */
function memberSecretsDir(config: Config, d: ContainerDetails, own: string): string {
  const mounted = d.mounts.find((m) => m.target === DEFAULTS.secretsMountPath)?.source;
  const dir = secretsFolder(config.secretsDir, own, false);
  if (!dir || mounted !== dir) throw new ClawpodError('RUNTIME_ERROR', `warm member ${own} has no secrets folder of its own (${mounted ?? 'none mounted'})`, { hint: '`clawpod pool rm POOL` and fill the pool again' });
  return dir;
}

interface Making extends ClaimRequest { readonly member: Pick<ContainerInfo, 'id' | 'name' | 'labels'>; readonly d: ContainerDetails; readonly secrets: readonly ResolvedSecret[]; readonly bundle?: FileEntry[] }

/** Everything after the rename: secrets in, a profile's payload handed over, records written, healthy. */
async function makeInstance(rt: Runtime, config: Config, c: Making): Promise<Omit<Claimed, 'seconds' | 'claimed' | 'labels'>> {
  const { agent } = c.loaded;
  const { member, d, name, say } = c;
  const dir = memberSecretsDir(config, d, member.name);
  const write = (file: string, value: string) => addSecretFile(dir, file, value, agent.spec.user, config.uid === 0);
  for (const s of c.secrets) if (s.spec.exposeAs === 'file') write(s.spec.name, s.value);
  const payload = agent.spec.profile ? await (await import('./pool-payload.js')).claimPayload(rt, config, { agent, member: member.name, d, name, say, write, ...(c.bundle ? { bundle: c.bundle } : {}) }) : undefined;
  try {
    // as `clawpod run` would have recorded it: with the secrets it was given, so a restart after a reboot re-delivers them
    const instance: Agent = { ...agent, spec: { ...agent.spec, secrets: [...agent.spec.secrets, ...(payload?.secrets ?? [])] } };
    const volume = agent.spec.workspace.enabled ? volumeOfContainer(d.labels, member.name) : undefined;
    recordClaim(config, name, instance, c.loaded.dir, c.labels);
    if (volume) recordVolume(config, name, volume);
    // the member's record (its values: a generated token) is the instance's now, with the claimer's added; no longer a member
    const given = instanceRecord(config, { id: member.id, name: member.name })?.secrets ?? [];
    recordInstance(config, name, {
      id: member.id, agent: instance, specDir: c.loaded.dir, ...(volume ? { volume } : {}),
      secrets: [...given, ...c.secrets.map((s) => ({ name: s.spec.name, value: s.value })), ...(payload?.values ?? [])],
    });
    forgetInstance(config, member.name);
    const url = await waitForService(rt, c.loaded, { id: member.id, name, ports: d.ports }, say);
    await payload?.commit();
    return {
      run: { id: member.id, name, index: Number(d.labels[LABELS.index] ?? 0), image: d.image, volume, volumeCreated: false, ports: d.ports, generated: payload?.created ?? [] },
      url,
    };
  } catch (e) {
    await payload?.rollback();
    throw e;
  }
}

/** Removes unclaimed members (all of them, or those `which` picks), their volumes and their tokens. */
export async function drainPool(rt: Runtime, config: Config, pool: string, which: (m: Member) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const m of await poolMembers(rt, config, pool, { all: true })) {
    if (!which(m)) continue;
    // under the member's lock, and only while it still has its own name: a claim may have renamed it since the listing
    let release: (() => void) | undefined;
    for (let i = 0; i < 100 && !(release = takeMemberLock(config, m.name)); i++) await new Promise((r) => setTimeout(r, 50));
    try {
      if ((await rt.inspectContainer(m.id))?.name !== m.name) continue;
      const rec = instanceRecord(config, m);
      await discardMember(rt, config, rec ? profileOf(rec.agent) : undefined, m);
      removed.push(m.name);
    } finally { release?.(); }
  }
  return removed;
}

/**
 * Members whose container is gone (removed behind clawpod's back, lost with the engine's storage):
 * their records, secrets folders, volumes and tokens go, so claims stop trying them. Under the pool's
 * lock: no member is being made, and a member being claimed is still listed (renamed, same labels).
 */
export async function pruneLostMembers(rt: Runtime, config: Config, pool: string): Promise<string[]> {
  const ids = new Set((await rt.listContainers({ labels: { [LABELS.role]: POOL_ROLE, [LABELS.agent]: memberAgentName(pool) }, all: true })).map((c) => c.id));
  const lost: string[] = [];
  for (const n of recordedNames(config, `${memberAgentName(pool)}-`)) {
    const rec = recordOf(config, n);
    if (rec?.member?.pool !== pool || ids.has(rec.id)) continue;
    await discardMember(rt, config, profileOf(rec.agent), { id: rec.id, name: n, labels: {} });
    lost.push(n);
  }
  return lost;
}

/** A member and all it was made with: container, volume, secrets folder, vault entries (by its own name). */
export async function discardMember(rt: Runtime, config: Config, profile: Profile | undefined, m: Pick<ContainerInfo, 'id' | 'name' | 'labels'>): Promise<void> {
  const own = m.labels[LABELS.instance] ?? m.name;
  // an idle member has nothing to shut down gracefully (and a `sleep` as PID 1 ignores SIGTERM)
  await rt.stopContainer(m.id, 0).catch(() => undefined);
  await rt.removeContainer(m.id, { force: true });
  await removeOwnedVolume(rt, config, volumeOfContainer(m.labels, own)).catch(() => undefined);
  removeDeliveredSecrets(config.secretsDir, own);
  // its egress proxy, network and folders, if it had spec.egress (checked by their label: idempotent)
  await (await import('../egress/local.js')).removeEgressOf(rt, config, own).catch(() => undefined);
  forgetInstance(config, own);
  if (!profile?.generatedSecrets?.length) return;
  const vault = (await import('../secrets/vault.js')).openVault(config);
  for (const g of profile.generatedSecrets) await vault.remove(g.vaultName(own)).catch(() => false);
}
