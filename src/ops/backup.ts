// Backup and restore of an instance's state volume as a tar archive, through the engine's archive
// API. A running instance is paused for a consistent copy; a restore replaces the volume's content
// while the instance is stopped, then starts it again (health-gated for services).
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import type { Config } from '../config.js';
import { ClawpodError, messageOf } from '../errors.js';
import { volumeOfContainer } from '../plan/plan.js';
import type { Archives, ContainerDetails, Pausing, Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';
import { findAgent } from './find.js';
import { noRecord, trustedSpec } from './instance-record.js';
import { startAgent } from './lifecycle.js';
import { waitForService } from './health.js';

/** What clawpod recorded of the instance (never its label: that names whatever its maker wanted). */
function stateOf(config: Config, d: ContainerDetails): { agent: Agent; specDir: string; mountPath: string } {
  const decoded = trustedSpec(config, d);
  if (!decoded) throw noRecord(d.name, 'back up or restore its state');
  if (!decoded?.agent.spec.workspace.enabled) {
    throw new ClawpodError('USAGE', `${d.name} has no workspace/state volume to back up or restore`, { hint: 'only agents with spec.workspace.enabled have one' });
  }
  return { agent: decoded.agent, specDir: decoded.specDir, mountPath: decoded.agent.spec.workspace.mountPath };
}

type Header = Parameters<ReturnType<typeof pack>['entry']>[0];

/** The same archive with each entry's header rewritten (or dropped when `fn` gives undefined). */
function rewrite(input: Readable, fn: (h: Header) => Header | undefined): Readable {
  const ex = extract();
  const out = pack();
  ex.on('entry', (h, stream, next) => {
    const nh = fn(h);
    if (!nh) { stream.on('end', () => next()); stream.resume(); return; }
    stream.pipe(out.entry(nh, (err) => next(err ?? undefined)));
  });
  ex.on('finish', () => out.finalize());
  // a failed write (no such folder for -o) must not leave the engine's stream holding the process
  out.on('close', () => input.destroy());
  ex.on('error', (e) => out.destroy(e));
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex);
  return out as unknown as Readable;
}

/**
 * Entries owned by the agent's uid:gid. An agent in a user namespace (docs/security.md) has its
 * files on host ids above 2^31, which the engine's archive API hands out as they are and cannot
 * map into another container's namespace on restore; the whole volume is the agent's anyway.
 */
function agentOwner(user: string): (h: Header) => Header {
  const [u, g] = user.split(':').map(Number);
  // ids past 2^21 travel in PAX records (uid=, gid=), which would win over the header fields; so would
  // path= and linkpath= over a rewritten name (tar-stream already read them into name and linkname)
  const dropped = new Set(['uid', 'gid', 'uname', 'gname', 'path', 'linkpath']);
  return (h) => {
    const pax = h.pax ? Object.fromEntries(Object.entries(h.pax).filter(([k]) => !dropped.has(k))) : undefined;
    return { ...h, uid: u!, gid: g ?? u!, uname: '', gname: '', ...(pax ? { pax } : {}) };
  };
}

/** An archive from one agent's container, owned by `user` so the engine can unpack it into another's (a canary replay's copy). */
export function ownedBy(input: Readable, user: string): Readable {
  return rewrite(input, agentOwner(user));
}

/** The same archive with entry names relative to the volume root ("agent/x" of /home/agent becomes "x"), owned by the agent. */
function relativeTo(top: string, input: Readable, owner: (h: Header) => Header): Readable {
  return rewrite(input, (h) => {
    const name = h.name.replace(/^\.?\//, '');
    const rel = name === top || name === `${top}/` ? '' : name.startsWith(`${top}/`) ? name.slice(top.length + 1) : name;
    if (!rel) return undefined;
    // hard links name their target by archive path too
    const linkname = h.linkname?.startsWith(`${top}/`) ? h.linkname.slice(top.length + 1) : h.linkname;
    return owner({ ...h, name: rel, ...(linkname ? { linkname } : {}) });
  });
}

export async function backupAgent(rt: Runtime & Pausing & Archives, config: Config, name: string, file: string, say: (s: string) => void): Promise<{ file: string; bytes: number }> {
  const d = await findAgent(rt, name);
  const { mountPath, agent } = stateOf(config, d);
  const tmp = `${file}.part`;
  const paused = d.state === 'running';
  if (paused) { say(`pausing ${name} for a consistent copy`); await rt.pauseContainer(d.id); }
  try {
    const tar = await rt.getArchive(d.id, mountPath);
    if (!tar) throw new ClawpodError('NOT_FOUND', `${name}: ${mountPath} is missing in the container`, {});
    await pipeline(relativeTo(mountPath.split('/').filter(Boolean).pop()!, tar, agentOwner(agent.spec.user)), createWriteStream(tmp, { mode: 0o600 }));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    if (paused) await rt.unpauseContainer(d.id);
  }
  return { file, bytes: statSync(file).size };
}

export async function restoreAgent(rt: Runtime & Archives, config: Config, name: string, file: string, opts: { say: (s: string) => void; budgetMs?: number }): Promise<void> {
  if (!existsSync(file)) throw new ClawpodError('FILE_NOT_FOUND', `no backup archive at ${file}`, { hint: 'give the file `clawpod backup NAME -o FILE` wrote' });
  const d = await findAgent(rt, name);
  const st = stateOf(config, d);
  // the archive is read through before anything is stopped or emptied
  const entries = await checkArchive(file);
  const wasRunning = d.state === 'running';
  if (wasRunning) { opts.say(`stopping ${name}`); await rt.stopContainer(d.id); }
  try {
    await replaceContent(rt, d, st, file, name);
  } finally {
    // restarted whatever happened: a running agent stays running
    if (wasRunning) {
      await startAgent(rt, config, name);
      await waitForService(rt, { agent: st.agent, file: '', dir: st.specDir }, d, opts.say, opts.budgetMs);
    }
  }
  opts.say(`${name}: ${st.mountPath} restored from ${file} (${entries} entries)`);
}

/** Entries of a tar archive, refusing what could land outside the volume (absolute names, "..", hard links out). */
async function checkArchive(file: string): Promise<number> {
  const ex = extract();
  let n = 0;
  const bad = (p: string) => p.startsWith('/') || p.split('/').includes('..');
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      n++;
      // a symlink may point anywhere (the agent's own state links into its image); the engine extracts
      // inside the container, so only names and hard-link targets must stay in the volume
      if (bad(h.name) || (h.type === 'link' && h.linkname && bad(h.linkname))) {
        reject(new ClawpodError('USAGE', `${file}: the entry ${h.name}${h.linkname ? ` → ${h.linkname}` : ''} would land outside the volume`, { hint: 'restore archives written by `clawpod backup`' }));
        ex.destroy();
        return;
      }
      stream.on('end', () => next());
      stream.resume();
    });
    ex.on('finish', () => resolve());
    ex.on('error', (e) => reject(new ClawpodError('USAGE', `${file} is not a tar archive clawpod can restore: ${messageOf(e)}`, { hint: 'give the file `clawpod backup NAME -o FILE` wrote (an uncompressed tar)' })));
  });
  createReadStream(file).pipe(ex);
  await done;
  if (n === 0) throw new ClawpodError('USAGE', `${file} holds no entries`, { hint: 'give the file `clawpod backup NAME -o FILE` wrote' });
  return n;
}

async function replaceContent(rt: Runtime & Archives, d: ContainerDetails, st: ReturnType<typeof stateOf>, file: string, name: string): Promise<void> {
  // empty the volume first (a helper container on the instance's own image), so the result is the archive
  const [uid] = st.agent.spec.user.split(':');
  const helper = await rt.createContainer({
    name: `${name}-restore-${process.pid}`, image: d.image, command: ['/bin/sh', '-c', 'rm -rf -- "$0"/* "$0"/.[!.]* "$0"/..?*', st.mountPath], env: {}, user: st.agent.spec.user,
    labels: { [LABELS.managed]: 'true', [LABELS.role]: 'restore' }, mounts: [{ kind: 'volume', name: volumeOfContainer(d.labels, d.name), target: st.mountPath, readOnly: false }], ports: [],
    resources: { cpus: 1, memoryBytes: 256 * 2 ** 20, pids: 64 }, network: 'none', isolation: st.agent.spec.isolation,
    // a user namespace as the agent's: the volume is re-owned to the helper's ids, so it can empty it
    security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
  });
  try {
    await rt.startContainer(helper);
    const code = await rt.waitContainer(helper);
    if (code !== 0) throw new ClawpodError('RUNTIME_ERROR', `emptying ${name}'s volume before the restore failed (exit ${code}, uid ${uid})`, { hint: '`clawpod logs` cannot show it; check the volume with podman volume inspect' });
    // Into the helper, whose ids own the volume now (an agent in another user-namespace range could not
    // map them); the agent's next start hands the volume back to its own ids (Podman :U). Re-owned on
    // the way in too: an archive written before the user namespace, or by hand, carries host ids.
    await rt.putArchive(helper, st.mountPath, rewrite(createReadStream(file), agentOwner(st.agent.spec.user)));
  } finally {
    await rt.removeContainer(helper, { force: true }).catch(() => undefined);
  }
}
