// Backup and restore of an instance's state volume as a tar archive, through the engine's archive
// API. A running instance is paused for a consistent copy; a restore replaces the volume's content
// while the instance is stopped, then starts it again (health-gated for services).
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { decodeSpecLabel, volumeOfContainer } from '../plan/plan.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import type { Agent } from '../spec/schema.js';
import { findAgent } from './find.js';
import { startAgent } from './lifecycle.js';
import { waitForService } from './service.js';

function stateOf(d: ContainerDetails): { agent: Agent; specDir: string; mountPath: string } {
  const decoded = decodeSpecLabel(d.labels[LABELS.spec]);
  if (!decoded?.agent.spec.workspace.enabled) {
    throw new ClawpodError('USAGE', `${d.name} has no workspace/state volume to back up or restore`, { hint: 'only agents with spec.workspace.enabled have one' });
  }
  return { agent: decoded.agent, specDir: decoded.specDir, mountPath: decoded.agent.spec.workspace.mountPath };
}

/** The same archive with entry names relative to the volume root ("agent/x" of /home/agent becomes "x"). */
function relativeTo(top: string, input: Readable): Readable {
  const ex = extract();
  const out = pack();
  ex.on('entry', (h, stream, next) => {
    const name = h.name.replace(/^\.?\//, '');
    const rel = name === top || name === `${top}/` ? '' : name.startsWith(`${top}/`) ? name.slice(top.length + 1) : name;
    if (!rel) { stream.on('end', () => next()); stream.resume(); return; }
    stream.pipe(out.entry({ ...h, name: rel }, (err) => next(err ?? undefined)));
  });
  ex.on('finish', () => out.finalize());
  ex.on('error', (e) => out.destroy(e));
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex);
  return out as unknown as Readable;
}

export async function backupAgent(rt: Runtime, name: string, file: string, say: (s: string) => void): Promise<{ file: string; bytes: number }> {
  const d = await findAgent(rt, name);
  const { mountPath } = stateOf(d);
  const tmp = `${file}.part`;
  const paused = d.state === 'running';
  if (paused) { say(`pausing ${name} for a consistent copy`); await rt.pauseContainer(d.id); }
  try {
    const tar = await rt.getArchive(d.id, mountPath);
    if (!tar) throw new ClawpodError('NOT_FOUND', `${name}: ${mountPath} is missing in the container`, {});
    await pipeline(relativeTo(mountPath.split('/').filter(Boolean).pop()!, tar), createWriteStream(tmp, { mode: 0o600 }));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    if (paused) await rt.unpauseContainer(d.id);
  }
  return { file, bytes: statSync(file).size };
}

export async function restoreAgent(rt: Runtime, config: Config, name: string, file: string, opts: { say: (s: string) => void; budgetMs?: number }): Promise<void> {
  if (!existsSync(file)) throw new ClawpodError('FILE_NOT_FOUND', `no backup archive at ${file}`, { hint: 'give the file `clawpod backup NAME -o FILE` wrote' });
  const d = await findAgent(rt, name);
  const st = stateOf(d);
  const wasRunning = d.state === 'running';
  if (wasRunning) { opts.say(`stopping ${name}`); await rt.stopContainer(d.id); }
  // empty the volume first (a helper container on the instance's own image), so the result is the archive
  const [uid] = st.agent.spec.user.split(':');
  const helper = await rt.createContainer({
    name: `${name}-restore-${process.pid}`, image: d.image, command: ['/bin/sh', '-c', 'rm -rf -- "$0"/* "$0"/.[!.]* "$0"/..?*', st.mountPath], env: {}, user: st.agent.spec.user,
    labels: { [LABELS.managed]: 'true', [LABELS.role]: 'restore' }, mounts: [{ kind: 'volume', name: volumeOfContainer(d.labels, d.name), target: st.mountPath, readOnly: false }], ports: [],
    resources: { cpus: 1, memoryBytes: 256 * 2 ** 20, pids: 64 }, network: 'none', isolation: st.agent.spec.isolation,
    security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true },
  });
  try {
    await rt.startContainer(helper);
    const code = await rt.waitContainer(helper);
    if (code !== 0) throw new ClawpodError('RUNTIME_ERROR', `emptying ${name}'s volume before the restore failed (exit ${code}, uid ${uid})`, { hint: '`clawpod logs` cannot show it; check the volume with podman volume inspect' });
    await rt.putArchive(d.id, st.mountPath, createReadStream(file));
  } finally {
    await rt.removeContainer(helper, { force: true }).catch(() => undefined);
  }
  opts.say(`${name}: ${st.mountPath} restored from ${file}`);
  if (wasRunning) {
    await startAgent(rt, config, name);
    await waitForService(rt, { agent: st.agent, file: '', dir: st.specDir }, d, opts.say, opts.budgetMs);
  }
}
