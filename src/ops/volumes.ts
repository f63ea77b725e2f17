// `clawpod volume ls|rm`: the workspace/state volumes clawpod made (see volume-owner.ts for what
// counts as clawpod's), with the agent each belongs to and the containers using it.
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import { volumeAliases } from './claims.js';
import { removeAgent } from './lifecycle.js';
import { madeVolume, recordsSince } from './volume-records.js';
import { inUse, ownedVolume, ownership, removeOwnedVolume, usersOf } from './volume-owner.js';

export interface VolumeRow {
  readonly name: string;
  /** The agent spec's name, and the instance (container name) the volume is the state of. */
  readonly agent: string;
  readonly instance: string;
  readonly created: string | null;
  readonly inUseBy: readonly string[];
  /** false: made before clawpod kept records, recognised by its labels, name and age. */
  readonly recorded: boolean;
}

export async function listOwnedVolumes(rt: Runtime, config: Config): Promise<{ volumes: VolumeRow[]; unlisted: string[] }> {
  const labelled = await rt.listVolumes({ labels: { [LABELS.managed]: 'true' } });
  const containers = await rt.listContainers({ all: true });
  const since = recordsSince(config);
  const aliases = volumeAliases(config);
  const volumes: VolumeRow[] = [];
  const unlisted: string[] = [];
  for (const v of labelled) {
    const o = ownership(config, v, since);
    if (!o.ours) { unlisted.push(v.name); continue; }
    const rec = madeVolume(config, v.name);
    // a claimed warm-pool member's volume belongs to the instance that claimed it
    const instance = aliases.get(v.name) ?? rec?.instance ?? v.labels[LABELS.instance] ?? '';
    const agent = aliases.has(v.name) ? instance : rec?.agent ?? v.labels[LABELS.agent] ?? '';
    volumes.push({
      name: v.name, agent, instance, created: v.createdAt ?? rec?.createdAt ?? null,
      inUseBy: (await usersOf(rt, v.name, containers)).map((c) => c.name), recorded: o.recorded,
    });
  }
  return { volumes: volumes.sort((a, b) => a.name.localeCompare(b.name)), unlisted };
}

export interface VolumeRemoved { readonly name: string; readonly agentsRemoved: readonly string[] }

/**
 * Removes a volume clawpod made. In use, it is refused; with force, the clawpod agents using it are
 * removed first (as `podman volume rm -f` removes the containers), but never another container.
 */
export async function removeOwned(rt: Runtime, config: Config, name: string, opts: { force: boolean }): Promise<VolumeRemoved | undefined> {
  if (!(await ownedVolume(rt, config, name))) return undefined;
  const users = await usersOf(rt, name);
  const foreign = users.filter((c) => c.labels[LABELS.managed] !== 'true');
  if (foreign.length || (users.length && !opts.force)) {
    throw inUse(name, users, foreign.length
      ? `${foreign.map((c) => c.name).join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not clawpod's: remove ${foreign.length === 1 ? 'it' : 'them'} with podman/docker first`
      : `remove the agent first (\`clawpod rm -f ${users.map((c) => c.name).join(' ')}\`), or \`clawpod volume rm -f ${name}\` removes ${users.length === 1 ? 'it' : 'them'} with the volume`);
  }
  const agentsRemoved: string[] = [];
  for (const c of users) { await removeAgent(rt, config, c.name, { force: true, volumes: false }); agentsRemoved.push(c.name); }
  await removeOwnedVolume(rt, config, name);
  return { name, agentsRemoved };
}
