// A warm pool of pre-started, unclaimed payload services (OpenClaw gateways). A new instance claims
// one instead of starting cold: the member is renamed, gets the instance's token, model wiring,
// config and bundle written in place (the gateway hot-reloads its config), and keeps its own fresh
// state volume and host port. Only new instances whose container-level spec equals the pool's are
// claimed; anything else (existing state, other resources, env, image) starts cold.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import { volumeOfContainer, workspaceVolumeName } from '../plan/plan.js';
import { profileNamed, vaultFileSecret } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';
import { openVault } from '../secrets/vault.js';
import { addSecretFile, removeDeliveredSecrets } from '../secrets/deliver.js';
import { DEFAULTS, LABELS } from '../spec/defaults.js';
import type { LoadedAgent } from '../spec/parse.js';
import type { Agent } from '../spec/schema.js';
import { bundleFiles, LLM_TOKEN_SECRET, NOTHING, profileOf, seedPayload, wireLlm, type Prepared } from './payload.js';
import type { RunResult } from './run.js';
import { startService, waitForService, type ServiceResult } from './service.js';
import { forgetClaim, forgetVolume, recordClaim, recordVolume, volumeAlias } from './claims.js';
import { forgetInstance, instanceRecord, recordInstance } from './instance-record.js';
import { removeOwnedVolume } from './volume-owner.js';

export const POOL_ROLE = 'pool';
export const poolAgentName = (profile: string) => `${profile}-pool`;

/** The spec every member of a profile's pool runs: the profile's defaults, no model (wired at claim). */
export async function poolAgent(profile: Profile, version: string | undefined): Promise<LoadedAgent> {
  const { parseProfileAgent } = await import('../spec/parse.js');
  return parseProfileAgent(profile.name, poolAgentName(profile.name), `spec:\n  profile: {name: ${profile.name}${version ? `, version: "${version}"` : ''}}\n  llm: false\n`, undefined);
}

/** Running members nobody has claimed (a claimed one is renamed, so its name no longer matches its instance label). */
/**
 * Running members of this data dir's pool. The labels only narrow the engine's list: a member is
 * one clawpod has an instance record of (its own fill), never a container that merely carries the
 * pool's labels — a claim hands it the instance's gateway and model tokens.
 */
export async function unclaimedMembers(rt: Runtime, config: Config, profile: string, image?: string): Promise<ContainerInfo[]> {
  const all = await rt.listContainers({ labels: { [LABELS.role]: POOL_ROLE, [LABELS.agent]: poolAgentName(profile) } });
  return all.filter((c) => c.state === 'running' && c.name === c.labels[LABELS.instance] && instanceRecord(config, c) && (!image || c.image === image || c.image.endsWith(`/${image}`)))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function fillPool(rt: Runtime, config: Config, profileName: string, opts: { size: number; version?: string; say: (s: string) => void }): Promise<{ started: string[]; ready: number }> {
  const profile = profileNamed(profileName);
  if (!profile.service) throw new ClawpodError('USAGE', `profile ${profile.name} is not a service: there is nothing to keep warm`, { hint: 'a warm pool is for service profiles such as openclaw' });
  const loaded = await poolAgent(profile, opts.version);
  const have = await unclaimedMembers(rt, config, profile.name, loaded.agent.spec.image);
  const started: string[] = [];
  for (let i = have.length; i < opts.size; i++) {
    const name = `${poolAgentName(profile.name)}-${randomBytes(3).toString('hex')}`;
    opts.say(`starting warm member ${name} (${i + 1} of ${opts.size})`);
    await startService(rt, config, loaded, { name, say: opts.say, labels: { [LABELS.role]: POOL_ROLE }, noClaim: true });
    started.push(name);
  }
  return { started, ready: have.length + started.length };
}

/** Equal where a running container cannot change: everything but what a claim writes in place. */
function claimable(agent: Agent, pool: Agent): boolean {
  const shape = (a: Agent) => JSON.stringify({ ...a.spec, config: undefined, bundle: undefined, llm: undefined, labels: undefined });
  return shape(agent) === shape(pool) && !agent.spec.secrets.length;
}

/** Claims a warm member for a new instance, or says why not (undefined: start cold). */
export async function claimMember(rt: Runtime, config: Config, loaded: LoadedAgent, name: string, say: (s: string) => void): Promise<ServiceResult | undefined> {
  const { agent } = loaded;
  const profile = profileOf(agent);
  if (!profile?.service || !profile.hotReload) return undefined;
  const version = agent.spec.profile?.version;
  const members = await unclaimedMembers(rt, config, profile.name, agent.spec.image);
  if (members.length === 0) return undefined;
  if (await rt.inspectContainer(name)) return undefined; // the cold path says the name is taken
  if ((await rt.inspectVolume(workspaceVolumeName(name))) || volumeAlias(config, name)) { say(`${name} has state already: starting it cold, not from the warm pool`); return undefined; }
  if (!claimable(agent, (await poolAgent(profile, version)).agent)) { say(`${name}'s spec differs from the warm pool's (resources, env, ports, image or secrets): starting it cold`); return undefined; }
  // checked before anything is claimed: a bundle holding a secret is refused, nothing spent
  const bundle = agent.spec.bundle ? bundleFiles(agent.spec.bundle, config, loaded.dir) : undefined;
  const t0 = Date.now();
  let member: ContainerInfo | undefined;
  for (const m of members) {
    // the rename (by the member's name, not its id) is the claim: a second claimer of the same member finds no such name and tries the next
    try { await rt.renameContainer(m.name, name); member = m; break; } catch (e) {
      if (isClawpodError(e) && e.code === 'NAME_TAKEN' && (await rt.inspectContainer(name))) throw e;
      if (!isClawpodError(e) || (e.code !== 'NOT_FOUND' && e.code !== 'NAME_TAKEN')) throw e;
    }
  }
  if (!member) return undefined;
  say(`claimed warm member ${member.name} as ${name}`);
  const vault = openVault(config);
  const created: { label: string; vaultName: string; value: string }[] = [];
  let wired: Awaited<ReturnType<typeof wireLlm>>;
  try {
    const d = (await rt.inspectContainer(member.id))!;
    // the member's gateway token becomes the instance's (the running gateway already holds it)
    for (const g of profile.generatedSecrets ?? []) {
      const value = await vault.get(g.vaultName(member.name));
      if (value === undefined) throw new ClawpodError('SECRET_MISSING', `warm member ${member.name} has no ${g.label} in the vault`, { hint: '`clawpod pool rm` and fill the pool again' });
      await vault.set(g.vaultName(name), value);
      created.push({ label: g.label, vaultName: g.vaultName(name), value });
    }
    // the model: a token for the instance's group, in the member's secrets folder (a host tmpfs bind-mounted read-only)
    wired = await wireLlm(config, agent, name, say);
    if (wired) {
      const dir = d.mounts.find((m) => m.target === DEFAULTS.secretsMountPath)?.source;
      if (!dir) throw new ClawpodError('RUNTIME_ERROR', `warm member ${member.name} has no ${DEFAULTS.secretsMountPath} folder`, { hint: '`clawpod pool rm` and fill the pool again' });
      // the folder is 0500: opened for the write and closed again, the file never written through a link
      addSecretFile(dir, LLM_TOKEN_SECRET, wired.token, agent.spec.user, config.uid === 0);
    }
    // always merge: the member's file is the pool's render, not state a seedOnly would protect
    const seeded: Agent = { ...agent, spec: { ...agent.spec, config: { mode: 'merge', values: agent.spec.config?.values ?? {} } } };
    const prep: Prepared = {
      // the member's ports are the instance's now: its config names them again (the UI's allowed origins)
      agent: seeded, profile, created, finish: NOTHING, render: { instance: name, secretsDir: DEFAULTS.secretsMountPath, published: d.ports, ...(wired ? { llm: wired.llm } : {}) },
      ...(bundle ? { bundle } : {}),
    };
    const reloaded = watchReload(rt, member.id, profile);
    try {
      const { configChanged } = await seedPayload(rt, member.id, prep, { say });
      if (configChanged) await reloaded.wait(15_000, say);
    } finally { reloaded.stop(); }
    // as `clawpod run` would have labelled it: with the secrets it was given, so a restart after a reboot re-delivers them
    const secrets = [...agent.spec.secrets, ...(profile.generatedSecrets ?? []).map((g) => vaultFileSecret(g.name, g.vaultName(name))), ...(wired ? [wired.secret] : [])];
    recordClaim(config, name, { ...agent, spec: { ...agent.spec, secrets } }, loaded.dir);
    recordVolume(config, name, volumeOfContainer(d.labels, member.name));
    // the member's record (its values: the gateway token) is the instance's now, with the model token added
    const given = instanceRecord(config, { id: member.id, name: member.name })?.secrets ?? [];
    recordInstance(config, name, {
      id: member.id, agent: { ...agent, spec: { ...agent.spec, secrets } }, specDir: loaded.dir, volume: volumeOfContainer(d.labels, member.name),
      secrets: [...given, ...(wired ? [{ name: wired.secret.name, value: wired.token }] : [])],
    });
    forgetInstance(config, member.name);
    const url = await waitForService(rt, loaded, { id: member.id, name, ports: d.ports }, say);
    await wired?.finish.commit();
    // the member's own entries are the instance's now
    for (const g of profile.generatedSecrets ?? []) await vault.remove(g.vaultName(member.name)).catch(() => false);
    const run: RunResult = {
      id: member.id, name, index: Number(d.labels[LABELS.index] ?? 0), image: d.image, volume: volumeOfContainer(d.labels, member.name), volumeCreated: false,
      ports: d.ports, generated: created,
    };
    return { run, url, seconds: (Date.now() - t0) / 1000, claimed: member.name };
  } catch (e) {
    // a half-claimed member is no use to anyone: it goes with its volume (nothing of the instance's yet),
    // and so does the instance's token never shown (the next run makes and shows a new one)
    await discardMember(rt, config, profile, member).catch(() => undefined);
    for (const c of created) await vault.remove(c.vaultName).catch(() => false);
    await wired?.finish.rollback();
    forgetClaim(config, name);
    forgetVolume(config, name);
    forgetInstance(config, name);
    throw e;
  }
}

/** Follows a container's new log lines until the profile's hot-reload line (applied or refused). */
function watchReload(rt: Runtime, id: string, profile: Profile) {
  // aborting closes the follow connection, which would otherwise keep the process alive
  const ac = new AbortController();
  let seen: 'applied' | 'refused' | undefined;
  const reading = (async () => {
    let buf = '';
    try {
      for await (const chunk of rt.logs(id, { follow: true, tail: 0, signal: ac.signal })) {
        buf = (buf + chunk.data.toString('utf8')).slice(-8192);
        if (profile.hotReload!.applied.test(buf)) seen = 'applied';
        else if (profile.hotReload!.refused.test(buf)) seen = 'refused';
        if (seen) break;
      }
    } catch { /* aborted, or the container went away */ }
  })();
  const stop = () => ac.abort();
  return {
    stop,
    async wait(ms: number, say: (s: string) => void): Promise<void> {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reading, new Promise((r) => { timer = setTimeout(r, ms); })]);
      clearTimeout(timer);
      stop();
      if (seen === 'applied') say(`config applied by the running gateway (${Date.now() - t0} ms)`);
      else if (seen === 'refused') throw new ClawpodError('UNHEALTHY', 'the warm gateway did not apply the instance\'s config in place', { hint: 'run again: without a warm member it starts cold; `clawpod logs NAME` shows why' });
      else say(`no config reload seen in ${ms / 1000} s; the gateway may apply it later`);
    },
  };
}

/** Removes unclaimed members, their volumes and their tokens. */
export async function drainPool(rt: Runtime, config: Config, profileName: string): Promise<string[]> {
  const profile = profileNamed(profileName);
  const removed: string[] = [];
  for (const m of await rt.listContainers({ labels: { [LABELS.role]: POOL_ROLE, [LABELS.agent]: poolAgentName(profile.name) }, all: true })) {
    if (m.name !== m.labels[LABELS.instance]) continue; // claimed: an instance now
    if (!instanceRecord(config, m)) continue; // not this data dir's member: its labels are anyone's to write
    await discardMember(rt, config, profile, m);
    removed.push(m.name);
  }
  return removed;
}

/** A member and all it was made with: container, volume, secrets folder, vault entries (by its own name). */
async function discardMember(rt: Runtime, config: Config, profile: Profile, m: ContainerInfo): Promise<void> {
  const own = m.labels[LABELS.instance] ?? m.name;
  await rt.removeContainer(m.id, { force: true });
  await removeOwnedVolume(rt, config, volumeOfContainer(m.labels, own)).catch(() => undefined);
  removeDeliveredSecrets(config.secretsDir, own);
  forgetInstance(config, own);
  const vault = openVault(config);
  for (const g of profile.generatedSecrets ?? []) await vault.remove(g.vaultName(own)).catch(() => false);
}
