// start / stop / rm / gc of clawpod agents, by instance name.
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { volumeOfContainer, workspaceVolumeName } from '../plan/plan.js';
import { resolveSecrets } from '../secrets/resolve.js';
import { deliverSecrets, removeDeliveredSecrets, secretsDelivered } from '../secrets/deliver.js';
import { findAgent } from './find.js';
import { recheckMounts } from './mount-recheck.js';
import { removeRuntimeSecrets } from './run.js';
import { forgetClaim, forgetVolume, secretsFolderOf, volumeAlias } from './claims.js';
import { inUse, ownedVolume, removeOwnedVolume, usersOf } from './volume-owner.js';
import { forgetInstance, noRecord, recordValues, trustedSpec } from './instance-record.js';

/**
 * Secret files live on a host tmpfs; after a reboot they are gone and are resolved again, from the
 * spec clawpod recorded when it ran the agent (a label's spec is anyone's: never resolved).
 */
async function redeliverSecrets(config: Config, d: ContainerDetails): Promise<void> {
  const folder = secretsFolderOf(config, d);
  if (secretsDelivered(config.secretsDir, folder)) return;
  const decoded = trustedSpec(config, d);
  if (!decoded) {
    if (d.mounts.some((m) => m.target === DEFAULTS.secretsMountPath)) throw noRecord(d.name, 'deliver its secret files again');
    return;
  }
  if (!decoded.agent.spec.secrets.some((s) => s.exposeAs === 'file')) return;
  const resolved = await resolveSecrets(decoded.agent.spec.secrets, { specDir: decoded.specDir, config });
  recordValues(config, d, resolved.map((s) => ({ name: s.spec.name, value: s.value })));
  deliverSecrets(resolved, { secretsDir: config.secretsDir, containerName: folder, user: decoded.agent.spec.user, isRoot: config.uid === 0 });
}

export async function startAgent(rt: Runtime, config: Config, name: string): Promise<void> {
  const d = await findAgent(rt, name);
  // the engine resolves bind sources now, not at create: what it would follow is checked again first
  await recheckMounts(rt, config, d);
  await redeliverSecrets(config, d);
  await rt.startContainer(d.id);
  // a browser sidecar joins the agent's new network namespace
  await (await import('../browser/run.js')).restartSidecar(rt, d.name);
}

export async function stopAgent(rt: Runtime, name: string, timeoutSeconds: number = DEFAULTS.stopTimeoutSeconds): Promise<void> {
  const d = await findAgent(rt, name);
  await (await import('../browser/run.js')).stopSidecar(rt, d.name, timeoutSeconds);
  await rt.stopContainer(d.id, timeoutSeconds);
}

export interface RemoveResult { readonly name: string; readonly volumeRemoved: string | undefined; readonly volumeKept: string | undefined }

const inUseHint = (volume: string) => `remove those containers first, or \`clawpod volume rm -f ${volume}\` to remove the clawpod agents using it with it`;

export async function removeAgent(rt: Runtime, config: Config, name: string, opts: { force: boolean; volumes: boolean }): Promise<RemoveResult> {
  let d: ContainerDetails;
  try { d = await findAgent(rt, name); } catch (e) {
    // `rm NAME` kept the volume; `rm --volumes NAME` afterwards removes that leftover
    const left = opts.volumes && isClawpodError(e) && e.code === 'NOT_FOUND' && !(await rt.inspectContainer(name)) ? await removeLeftover(rt, config, name) : undefined;
    if (left) return { name, volumeRemoved: left, volumeKept: undefined };
    throw e;
  }
  if (d.state === 'running' && !opts.force) {
    throw new ClawpodError('USAGE', `agent ${name} is running`, { hint: `stop it first (\`clawpod stop ${name}\`) or use \`clawpod rm -f ${name}\`` });
  }
  const volume = volumeOfContainer(d.labels, d.name);
  // checked before anything is removed: a volume clawpod did not make, or another container's, stays and so does the agent
  const exists = opts.volumes ? (await ownedVolume(rt, config, volume)) !== undefined : (await rt.inspectVolume(volume)) !== undefined;
  const others = exists && opts.volumes ? (await usersOf(rt, volume)).filter((c) => c.id !== d.id) : [];
  if (others.length) throw inUse(volume, others, inUseHint(volume));
  await (await import('../browser/run.js')).removeSidecar(rt, d.name);
  await rt.removeContainer(d.id, { force: true });
  removeDeliveredSecrets(config.secretsDir, secretsFolderOf(config, d));
  if (trustedSpec(config, d)?.agent.spec.egress) {
    const eg = await import('../egress/local.js');
    await eg.removeEgressOf(rt, config, eg.egressKeyOf(d));
  }
  await removeRuntimeSecrets(rt, d.name, trustedSpec(config, d)?.agent);
  forgetClaim(config, d.name);
  forgetInstance(config, d.name);
  if (opts.volumes) forgetVolume(config, d.name);
  if (exists && opts.volumes) {
    await removeOwnedVolume(rt, config, volume);
    return { name, volumeRemoved: volume, volumeKept: undefined };
  }
  return { name, volumeRemoved: undefined, volumeKept: exists ? volume : undefined };
}

/** The volume an already-removed agent left (its own, or a claimed warm member's), when it is clawpod's. */
async function removeLeftover(rt: Runtime, config: Config, name: string): Promise<string | undefined> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return undefined;
  const volume = volumeAlias(config, name) ?? workspaceVolumeName(name);
  if (!(await ownedVolume(rt, config, volume))) return undefined;
  const users = await usersOf(rt, volume);
  if (users.length) throw inUse(volume, users, inUseHint(volume));
  await removeOwnedVolume(rt, config, volume);
  forgetVolume(config, name);
  return volume;
}
