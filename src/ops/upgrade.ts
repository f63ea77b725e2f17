// `clawpod upgrade NAME --version V`: the same instance on a new image — same volume, same ports,
// same secrets — health-gated. The old container is only stopped and set aside; if the new one is
// not healthy within the budget it is removed and the old one is started again.
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { buildProfileImage } from '../images/build.js';
import { volumeOfContainer } from '../plan/plan.js';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { PAYLOAD_VERSION, type Agent } from '../spec/schema.js';
import { findAgent } from './find.js';
import { forgetClaim, secretsFolderOf } from './claims.js';
import { instanceRecord, noRecord, recordInstance, trustedSpec } from './instance-record.js';
import { removeDeliveredSecrets } from '../secrets/deliver.js';
import { startAgent } from './lifecycle.js';
import { profileOf } from './payload.js';
import { createAgent, type RunResult } from './run.js';
import { waitForService } from './service.js';

export interface UpgradeResult { readonly name: string; readonly from: string; readonly to: string; readonly seconds: number; readonly url: string | undefined }

const previousName = (name: string) => `${name}-previous`;

export async function upgradeAgent(rt: Runtime, config: Config, name: string, opts: { version?: string; image?: string; budgetMs?: number; say: (s: string) => void }): Promise<UpgradeResult> {
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
  if (!(await rt.inspectImage(image))) {
    if (opts.image) throw new ClawpodError('IMAGE_NOT_FOUND', `--image ${image}: no such image`, { hint: `build it first, or use --version with clawpod image build --profile ${profile.name}` });
    opts.say(`${image} is not built yet; building it`);
    await buildProfileImage(rt, config, profile, { version, say: opts.say });
  }
  const agent: Agent = { ...decoded.agent, spec: { ...decoded.agent.spec, image, profile: { name: profile.name, version } } };
  const loaded = { agent, file: '', dir: decoded.specDir };
  const keep = { index: Number(old.labels[LABELS.index] ?? 0), ports: old.ports, volume: record?.volume ?? volumeOfContainer(old.labels, old.name) };

  if (await rt.inspectContainer(previousName(name))) {
    throw new ClawpodError('NAME_TAKEN', `${previousName(name)} exists: an earlier upgrade of ${name} did not finish`, {
      hint: `keep whichever you want: \`clawpod rm -f ${previousName(name)}\`, or rename it back with podman rename, then upgrade again`,
    });
  }
  opts.say(`stopping ${name} (${old.image}); it is kept as ${previousName(name)} until ${image} is healthy`);
  await rt.stopContainer(old.id);
  try { await rt.renameContainer(old.id, previousName(name)); } catch (e) { await rt.startContainer(old.id).catch(() => undefined); throw e; }
  const oldSecrets = secretsFolderOf(config, old);
  let r: RunResult | undefined;
  try {
    r = await createAgent(rt, config, loaded, { name, say: opts.say, keep });
    await rt.startContainer(r.id);
    const url = await waitForService(rt, loaded, { id: r.id, name, ports: r.ports }, opts.say, opts.budgetMs);
    await r.finish?.commit();
    await rt.removeContainer(old.id, { force: true });
    // a claimed member's secrets folder had its own name; the new container has one under the instance's
    if (oldSecrets !== name) removeDeliveredSecrets(config.secretsDir, oldSecrets);
    forgetClaim(config, name); // the new container's labels hold the instance's spec
    return { name, from: old.image, to: image, seconds: (Date.now() - t0) / 1000, url };
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
    await rt.renameContainer(old.id, name);
    await startAgent(rt, config, name);
    await waitForService(rt, { agent: decoded.agent, file: '', dir: decoded.specDir }, { id: old.id, name, ports: old.ports }, opts.say, opts.budgetMs);
    const details = isClawpodError(e) ? e.details : [];
    throw new ClawpodError('UNHEALTHY', `upgrade of ${name} to ${image} failed, so ${name} runs ${old.image} again: ${isClawpodError(e) ? e.message : messageOf(e)}`, {
      details, hint: 'the lines above are the new version\'s last output; fix the image or pick another --version',
    });
  }
}
