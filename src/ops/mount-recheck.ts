// Host mounts are checked when a container is created, but the engine resolves a bind source only
// when the container starts: a folder replaced by a symlink while the agent was stopped would be
// followed. So every start checks again. The record of what was allowed is the container's own bind
// source: clawpod writes it (the resolved real path, src/security/mount-allowlist.ts) at create,
// and the engine keeps it where no agent or spec can change it.
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import type { LoadedAgent } from '../spec/parse.js';
import { checkMount, loadAllowlist, type CheckedMount } from '../security/mount-allowlist.js';
import { clawpodPaths, protectedHit } from '../security/protected-paths.js';
import { CONTROL_DEFAULTS, DEFAULTS } from '../spec/defaults.js';

/** spec.mounts against the allowlist, blocked patterns and clawpod's own folders, before anything is created. */
export function checkMounts(loaded: LoadedAgent, config: Config, say: (s: string) => void): CheckedMount[] {
  const mounts = loaded.agent.spec.mounts;
  if (mounts.length === 0) return [];
  const allowlist = loadAllowlist(config.configDir, config.home, say);
  const protectedPaths = clawpodPaths(config);
  return mounts.map((m, i) => checkMount(m, i, { specDir: loaded.dir, home: config.home, configDir: config.configDir, allowlist, protectedPaths }));
}

type Bind = ContainerDetails['mounts'][number];

/** Binds clawpod adds itself (secret files, a session's IPC and gateway folders): from its own folders, at its own targets. */
function clawpodOwn(config: Config, m: Bind): boolean {
  const targets: readonly string[] = [DEFAULTS.secretsMountPath, CONTROL_DEFAULTS.ipcMountPath, CONTROL_DEFAULTS.gatewayMountPath];
  const own = clawpodPaths(config).filter((p) => p.path !== config.configDir);
  return targets.includes(m.target) && protectedHit(m.source, own)?.relation === 'is inside';
}

const realOf = (p: string): string | undefined => { try { return realpathSync(p); } catch { return undefined; } };

/**
 * Before a stopped container starts again: each host bind must still be the real folder it was at
 * create (no symlink on its path now) and pass today's allowlist, blocked patterns and scan; and none
 * may lie inside another container's writable mount.
 */
export async function recheckMounts(rt: Runtime, config: Config, d: ContainerDetails): Promise<void> {
  const binds = d.mounts.filter((m) => m.type === 'bind' && !clawpodOwn(config, m));
  if (binds.length === 0) return;
  const allowlist = loadAllowlist(config.configDir, config.home);
  const ctx = { specDir: '/', home: config.home, configDir: config.configDir, allowlist, protectedPaths: clawpodPaths(config) };
  const checked = binds.map((m, i): CheckedMount => {
    const where = `${d.name}: mount ${m.target}`;
    const now = realOf(m.source);
    if (now !== m.source) {
      throw new ClawpodError('UNSAFE_PATH', `${where}: its host folder ${m.source} ${now ? `now leads to ${now}` : 'is gone'}; it was a real folder when the agent was created, so clawpod does not start ${d.name} (the engine would follow the link)`, {
        hint: `put the folder back at ${m.source}, or re-create the agent from its spec: clawpod rm -f ${d.name} && clawpod run -d -f SPEC (the workspace volume is kept)`,
      });
    }
    return checkMount({ hostPath: m.source, containerPath: m.target, type: 'data', readOnly: m.readOnly }, i, { ...ctx, where });
  });
  await refuseNestedMounts(rt, checked, { self: d.id, where: (i) => `${d.name}: mount ${checked[i]!.target}` });
}

/**
 * Refuses a mount source below another container's writable bind mount (any container the engine
 * knows, from its own inspect data, not from labels): the agent there can replace a folder on this
 * path with a symlink between clawpod's check and the engine's mount, and this agent would get what
 * the link points at. The same folder is fine: a container cannot replace its own mount root.
 */
export async function refuseNestedMounts(rt: Runtime, mounts: readonly CheckedMount[], opts: { self?: string; where: (i: number) => string }): Promise<void> {
  if (mounts.length === 0) return;
  for (const c of await rt.listContainers({ all: true })) {
    if (c.id === opts.self) continue;
    const other = await rt.inspectContainer(c.id);
    for (const w of other?.mounts ?? []) {
      if (w.type !== 'bind' || w.readOnly) continue;
      const roots = new Set([w.source, realOf(w.source) ?? w.source]);
      const i = mounts.findIndex((m) => [...roots].some((r) => m.source.startsWith(r === sep ? r : r + sep)));
      if (i < 0) continue;
      throw new ClawpodError('MOUNT_BLOCKED', `${opts.where(i)}: ${mounts[i]!.source} lies inside ${w.source}, which container ${c.name} mounts writable (rule: no mount inside another agent's writable mount; that agent could swap a folder on this path for a symlink)`, {
        hint: `mount a folder outside ${w.source}, or make ${c.name}'s mount of it read-only`,
      });
    }
  }
}
