// Whether a volume is clawpod's to list and delete, who uses it, and its removal.
//
// What is trusted: the engine (Podman/Docker) is, and so is everyone who can talk to it: they are
// root here and can delete any volume themselves. What a clawpod verb must not become is a way to
// delete a volume clawpod did not make (a typo'd name, another tool's volume, one someone labelled
// dev.clawpod.managed=true by copying a script). So a volume is clawpod's when it carries the label
// AND clawpod's own record in its data folder (src/ops/volume-records.ts) lists it. Volumes made
// before this data folder kept records are judged by what clawpod would have made: the label, the
// clawpod-INSTANCE-workspace name matching its instance label, and an engine creation time
// earlier than the records began (the engine sets that time, not the labeller).
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import { workspaceVolumeName } from '../plan/plan.js';
import type { ContainerInfo, Runtime, VolumeInfo } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { forgetMadeVolume, madeVolume, recordsSince } from './volume-records.js';

export type Ownership =
  | { readonly ours: true; readonly recorded: boolean }
  | { readonly ours: false; readonly why: string };

export function ownership(config: Config, v: VolumeInfo, since: Date = recordsSince(config)): Ownership {
  if (v.labels[LABELS.managed] !== 'true') return { ours: false, why: 'it carries no clawpod labels' };
  if (madeVolume(config, v.name)) return { ours: true, recorded: true };
  const instance = v.labels[LABELS.instance];
  // the engine's time has whole seconds: a volume of the same second as `since` is not "before"
  const before = v.createdAt !== undefined && Date.parse(v.createdAt) < Math.floor(since.getTime() / 1000) * 1000;
  if (instance && v.name === workspaceVolumeName(instance) && before) return { ours: true, recorded: false };
  return { ours: false, why: `it carries clawpod's labels, but clawpod's records (${config.dataDir}/volumes-made) do not list it` };
}

/** The volume, if it exists and is clawpod's; a foreign one is refused by name. */
export async function ownedVolume(rt: Runtime, config: Config, name: string): Promise<VolumeInfo | undefined> {
  const v = await rt.inspectVolume(name);
  if (!v) return undefined;
  const o = ownership(config, v);
  if (!o.ours) {
    throw new ClawpodError('NOT_FOUND', `volume ${name} is not clawpod's: ${o.why}`, {
      hint: `clawpod deletes only volumes it made (\`clawpod volume ls\` lists them); if you mean to delete this one, use \`${rt.kind === 'docker' ? 'docker' : 'podman'} volume rm ${name}\``,
    });
  }
  return v;
}

/** Containers (any, not only clawpod's) that mount the volume. */
export async function usersOf(rt: Runtime, volume: string, all?: readonly ContainerInfo[]): Promise<ContainerInfo[]> {
  return (all ?? (await rt.listContainers({ all: true }))).filter((c) => c.volumes?.includes(volume));
}

export function inUse(volume: string, users: readonly ContainerInfo[], hint: string): ClawpodError {
  return new ClawpodError('IN_USE', `volume ${volume} is in use by ${users.map((c) => `${c.name} (${c.state})`).join(', ')}`, { hint });
}

/** Removes a volume clawpod made and its record; the engine's own in-use refusal becomes IN_USE. */
export async function removeOwnedVolume(rt: Runtime, config: Config, name: string): Promise<void> {
  try { await rt.removeVolume(name); } catch (e) {
    if (isClawpodError(e) && e.code === 'NAME_TAKEN') throw new ClawpodError('IN_USE', `volume ${name} is in use by a container`, { hint: `\`podman ps -a --filter volume=${name}\` shows which; remove it first`, cause: e });
    throw e;
  }
  forgetMadeVolume(config, name);
}
