// `clawpod upgrade NAME --version V`: the same instance on a new image — same volume, same ports,
// same secrets — health-gated. The old container is only stopped and set aside; if the new one is
// not healthy within the budget it is removed and the old one is started again.
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { buildProfileImage } from '../images/build.js';
import { volumeOfContainer } from '../plan/plan.js';
import { requireFacet } from '../runtime/facets.js';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { PAYLOAD_VERSION, type Agent } from '../spec/schema.js';
import { findAgent } from './find.js';
import { forgetClaim, secretsFolderOf } from './claims.js';
import { forgetInstance, instanceRecord, noRecord, recordInstance, trustedSpec } from './instance-record.js';
import { removeDeliveredSecrets } from '../secrets/deliver.js';
import { startAgent } from './lifecycle.js';
import { profileOf } from './payload.js';
import { createAgent, type RunExtra, type RunResult } from './run.js';
import { waitForService } from './health.js';

export interface UpgradeResult {
  readonly name: string; readonly from: string; readonly to: string; readonly seconds: number; readonly url: string | undefined;
  /** From the old container stopped to the new one passing its gates. */
  readonly unavailableSeconds: number;
}

const previousName = (name: string) => `${name}-previous`;

export interface UpgradeOptions {
  readonly version?: string;
  readonly image?: string;
  readonly budgetMs?: number;
  readonly say: (s: string) => void;
  /** What the instance was run with besides its spec (a tenant's network, app-data volume, labels). */
  readonly extra?: RunExtra;
  /** The spec to run instead of the recorded one's (a tenant's plan changed); version and image still apply. */
  readonly agent?: Agent;
  /** A check past the probes (a chat round trip); a throw rolls back like an unhealthy probe. */
  readonly verify?: (r: { name: string; url: string | undefined; ports: RunResult['ports'] }) => Promise<void>;
}

export async function upgradeAgent(rt: Runtime, config: Config, name: string, opts: UpgradeOptions): Promise<UpgradeResult> {
  const t0 = Date.now();
  const old = await findAgent(rt, name);
  // what clawpod recorded when it ran the instance (a claimed warm-pool member's claim record): never its
  // label's spec, which whoever made the container wrote (its secrets would be resolved, its mounts made)
  const record = instanceRecord(config, old);
  const decoded = trustedSpec(config, old);
  if (!decoded) throw noRecord(name, 'upgrade it');
  const profile = decoded ? profileOf(decoded.agent) : undefined;
  if (!decoded || !profile?.service) {
    throw new ClawpodError('USAGE', `${name} is not a service profile's instance (upgrade swaps a health-checked service onto a new image)`, { hint: 'for other agents: `clawpod rm -f NAME` and `clawpod run` with the new image; the workspace volume is kept' });
  }
  if (opts.version && !PAYLOAD_VERSION.test(opts.version)) throw new ClawpodError('USAGE', `--version ${opts.version} is not a version`, { hint: 'use letters, digits, ".", "_" and "-", e.g. 2026.9.6' });
  if (!opts.version && !opts.image) throw new ClawpodError('USAGE', 'upgrade needs --version V (or --image IMAGE)', { hint: `clawpod upgrade ${name} --version ${profile.defaultVersion}` });
  const version = opts.version ?? decoded.agent.spec.profile?.version ?? profile.defaultVersion;
  const image = opts.image ?? profile.image.tag(version);
  if (image === old.image && opts.version === decoded.agent.spec.profile?.version) opts.say(`${name} already runs ${image}; re-creating it on the same image`);
  // the old container is set aside under another name until the new one is healthy, on this host's image store
  const renamer = requireFacet(rt, 'renaming', `upgrading ${name}`);
  const images = requireFacet(rt, 'images', `upgrading ${name} to ${image}`);
  if (!(await images.inspectImage(image))) {
    if (opts.image) throw new ClawpodError('IMAGE_NOT_FOUND', `--image ${image}: no such image`, { hint: `build it first, or use --version with clawpod image build --profile ${profile.name}` });
    opts.say(`${image} is not built yet; building it`);
    await buildProfileImage(images, config, profile, { version, say: opts.say });
  }
  const base = opts.agent ?? decoded.agent;
  const agent: Agent = { ...base, spec: { ...base.spec, image, profile: { name: profile.name, version } } };
  const loaded = { agent, file: '', dir: decoded.specDir };
  const keep = { index: Number(old.labels[LABELS.index] ?? 0), ports: old.ports, volume: record?.volume ?? volumeOfContainer(old.labels, old.name) };

  if (await rt.inspectContainer(previousName(name))) {
    throw new ClawpodError('NAME_TAKEN', `${previousName(name)} exists: an earlier upgrade of ${name} did not finish`, {
      hint: `keep whichever you want: \`clawpod rm -f ${previousName(name)}\`, or rename it back with podman rename, then upgrade again`,
    });
  }
  opts.say(`stopping ${name} (${old.image}); it is kept as ${previousName(name)} until ${image} is healthy`);
  const down = Date.now();
  await rt.stopContainer(old.id);
  try { await renamer.renameContainer(old.id, previousName(name)); } catch (e) { await rt.startContainer(old.id).catch(() => undefined); throw e; }
  // so a killed upgrade can put the old one back (recoverUpgrade): the new run's record replaces NAME's
  if (record) recordInstance(config, previousName(name), record);
  const oldSecrets = secretsFolderOf(config, old);
  let r: RunResult | undefined;
  try {
    r = await createAgent(rt, config, loaded, { name, say: opts.say, keep, ...(opts.extra ? { extra: opts.extra } : {}) });
    await rt.startContainer(r.id);
    const url = await waitForService(rt, loaded, { id: r.id, name, ports: r.ports }, opts.say, opts.budgetMs);
    await opts.verify?.({ name, url, ports: r.ports });
    await r.finish?.commit();
    await rt.removeContainer(old.id, { force: true });
    forgetInstance(config, previousName(name));
    // a claimed member's secrets folder had its own name; the new container has one under the instance's
    if (oldSecrets !== name) removeDeliveredSecrets(config.secretsDir, oldSecrets);
    forgetClaim(config, name); // the new container's labels hold the instance's spec
    return { name, from: old.image, to: image, seconds: (Date.now() - t0) / 1000, url, unavailableSeconds: (Date.now() - down) / 1000 };
  } catch (e) {
    // roll back: the new container and its tokens go; the old one's secret files are delivered again from the
    // vault (the new run rewrote the folder), then it starts on the same volume
    opts.say(`${image} did not become healthy: ${messageOf(e)}; rolling back to ${old.image}`);
    if (r) {
      await rt.removeContainer(r.id, { force: true }).catch(() => undefined);
      await r.finish?.rollback();
    }
    removeDeliveredSecrets(config.secretsDir, oldSecrets);
    if (record) recordInstance(config, name, record); // the new run's record went with it
    forgetInstance(config, previousName(name));
    await renamer.renameContainer(old.id, name);
    await startAgent(rt, config, name);
    await waitForService(rt, { agent: decoded.agent, file: '', dir: decoded.specDir }, { id: old.id, name, ports: old.ports }, opts.say, opts.budgetMs);
    const details = isClawpodError(e) ? e.details : [];
    throw new ClawpodError('UNHEALTHY', `upgrade of ${name} to ${image} failed, so ${name} runs ${old.image} again: ${isClawpodError(e) ? e.message : messageOf(e)}`, {
      details, hint: 'the lines above are the new version\'s last output; fix the image or pick another --version',
    });
  }
}

/**
 * After an upgrade was killed half-way (NAME-previous still exists): the new container, if any, goes
 * and the old one is NAME again, with its own record, stopped. False when there was nothing to recover.
 */
export async function recoverUpgrade(rt: Runtime, config: Config, name: string, say: (s: string) => void): Promise<boolean> {
  const prev = await rt.inspectContainer(previousName(name));
  if (!prev) return false;
  const rec = instanceRecord(config, prev);
  if (!rec) throw noRecord(previousName(name), 'put it back as ' + name);
  // an upgrade sets aside an instance of the same agent: another agent's container of that name is not one
  const agentName = rec.agent.metadata.name;
  if (name !== agentName && !name.startsWith(`${agentName}-`)) {
    throw new ClawpodError('NAME_TAKEN', `${previousName(name)} is agent ${agentName}'s container, not one an upgrade of ${name} set aside`, { hint: `rename or remove ${previousName(name)}; clawpod leaves it alone` });
  }
  const renamer = requireFacet(rt, 'renaming', `putting ${previousName(name)} back as ${name}`);
  const half = await rt.inspectContainer(name);
  if (half) {
    say(`${name}: an interrupted upgrade left ${half.image} next to ${previousName(name)}; removing the new one`);
    await rt.removeContainer(half.id, { force: true });
    removeDeliveredSecrets(config.secretsDir, name);
  }
  await renamer.renameContainer(prev.id, name);
  recordInstance(config, name, rec);
  forgetInstance(config, previousName(name));
  say(`${name}: ${prev.image} is back (stopped) after an interrupted upgrade`);
  return true;
}
