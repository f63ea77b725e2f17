// B1: the follow-up folder of a session is the agent's to write. An agent that plants symlinks
// there (to a root-owned 0600 host file, to a host folder) must not make the host's follow-up
// and close writes, or its clean-up, reach through them. Real control plane, real Podman, the
// attack done by the agent's own bash tool.
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../fixtures/model-server.js';
import { clawpod, podman, tmpDir } from '../helpers/cli.js';
import { modelServer, planeYaml, startPlane, waitFor, type MessageView, type Plane } from '../helpers/control.js';
import { writeNewFile } from '../../src/security/safe-fs.js';

const G = `sipc${process.pid.toString(36)}`;
const IPC = '/run/clawpod/ipc/input';
let model: ModelServer;
let plane: Plane | undefined;

async function ask(p: Plane, group: string, text: string): Promise<MessageView> {
  const { id } = await p.client.call<{ id: string }>('POST', `/v1/groups/${group}/messages`, { text });
  for await (const e of p.client.events(id)) void e;
  return p.client.call<MessageView>('GET', `/v1/messages/${id}`);
}

/** A root-owned 0600 file and a folder with a file, as the host's own data would be. */
function victims(): { file: string; dir: string; inDir: string } {
  const base = tmpDir();
  const file = join(base, 'precious.conf');
  writeFileSync(file, 'precious host data\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  const dir = join(base, 'host-folder');
  mkdirSync(dir);
  const inDir = join(dir, 'keep.txt');
  writeFileSync(inDir, 'keep me\n');
  return { file, dir, inDir };
}

describe('write primitive used for agent-writable folders', () => {
  it('refuses a planted symlink and a planted hard link at the name it creates; the targets are untouched', () => {
    const v = victims();
    const folder = tmpDir();
    symlinkSync(v.file, join(folder, '.tmp-_close'));
    expect(() => writeNewFile(join(folder, '.tmp-_close'), '', { mode: 0o644 })).toThrow(/EEXIST|ELOOP/);
    linkSync(v.file, join(folder, 'hard'));
    expect(() => writeNewFile(join(folder, 'hard'), 'overwrite', { mode: 0o644 })).toThrow(/EEXIST/);
    expect(readFileSync(v.file, 'utf8')).toBe('precious host data\n');
    expect(lstatSync(v.file).mode & 0o777).toBe(0o600);
  });
});

describe('session follow-up folder (dir mode, runc)', () => {
  beforeAll(async () => {
    const b = await clawpod(['image', 'build'], { timeoutMs: 300_000 });
    expect(b.code, b.stderr).toBe(0);
    model = await modelServer();
  }, 300_000);

  afterAll(async () => {
    await plane?.stop();
    podman(['rm', '-f', `clawpod-grp-${G}`]);
    await model?.close();
  });

  it('an agent that plants .tmp-_close and folder symlinks cannot make the host write, truncate or delete through them', async () => {
    const v = victims();
    plane = await startPlane(planeYaml(model, { groups: [G], extra: '  followups: dir\n  session: {idleTimeout: 3s}' }));
    // the agent's move: the name the host used for its close message, and a folder link, both to host paths
    const plant = [
      `ln -s ${v.file} ${IPC}/.tmp-_close`,
      `ln -s ${v.dir} ${IPC}/evil-dir`,
      `mkdir ${IPC}/sub && ln -s ${v.dir} ${IPC}/sub/deeper`,
      `ls -la ${IPC}`,
    ].join(' && ');
    const m1 = await ask(plane, G, `run: ${plant}`);
    expect(m1.status).toBe('done');
    // a follow-up still arrives through the folder (the host writes a fresh, unguessable name)
    const m2 = await ask(plane, G, 'still there?');
    expect(m2.status).toBe('done');
    expect(m2.session_id).toBe(m1.session_id);
    // idle timeout → the host sends its close message into the folder, stops the container, removes the folder
    const sid = m1.session_id!;
    await waitFor('the session to end', async () => {
      const s = await plane!.client.call<{ id: string; status: string }[]>('GET', `/v1/groups/${G}/sessions`);
      return s.find((x) => x.id === sid && x.status === 'ended');
    }, 60_000);
    expect(readFileSync(v.file, 'utf8')).toBe('precious host data\n');
    expect(lstatSync(v.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(v.inDir, 'utf8')).toBe('keep me\n');
    expect(readdirSync(v.dir)).toEqual(['keep.txt']);
    // the session's folder itself is gone (links removed, never followed)
    expect(existsSync(join(plane.dataDir, 'control', 'ipc', sid))).toBe(false);
  }, 180_000);
});
