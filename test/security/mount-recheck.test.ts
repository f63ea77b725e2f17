// Finding B3: mounts were checked once, at create, but the engine resolves a bind source at every
// start. The attack: while the agent is stopped its mounted folder is replaced by a symlink to a
// folder with a key in it, then `clawpod start` (the agent read id_rsa). And a folder planted inside
// another agent's writable mount, where that agent can swap it for a link. Real Podman, real files.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('mr');
const env = scratchEnv();
const home = env.HOME!;
const dir = tmpDir();
const IMAGE = 'localhost/clawpod-agent:latest';
const KEY = `-----BEGIN FAKE KEY ${P}-----`;
let haveImage = false;

beforeAll(() => {
  haveImage = podman(['image', 'exists', IMAGE]).code === 0;
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_rsa'), `${KEY}\n`);
  mkdirSync(join(home, 'backup'), { recursive: true });
  writeFileSync(join(home, 'backup', 'id_rsa'), `${KEY}\n`);
});
afterAll(() => cleanup(P));

const run = (...a: string[]) => clawpod(a, { env });
const running = (name: string) => podman(['inspect', '-f', '{{.State.Running}}', name]).stdout.trim();

/** An agent that mounts `hostPath` at /data and sleeps. */
function spec(name: string, hostPath: string, readOnly: boolean): string {
  return writeSpec(dir, `${name}.yaml`, agentYaml(name, [
    `image: ${IMAGE}`, 'command: [sleep, "4242"]', 'workspace: {enabled: false}',
    `mounts: [{hostPath: "${hostPath}", containerPath: /data, readOnly: ${readOnly}}]`,
  ].join('\n')));
}

/** Runs an agent on a fresh ~/clawpod/FOLDER, stops it, and hands the folder back for the attack. */
async function stoppedAgent(name: string, folder: string): Promise<string> {
  const path = join(home, 'clawpod', folder);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'hello.txt'), 'hi');
  const r = await run('run', '-d', '-f', spec(name, `~/clawpod/${folder}`, true));
  expect(r.code, r.stderr).toBe(0);
  expect((await run('exec', name, 'cat', '/data/hello.txt')).stdout).toBe('hi');
  expect((await run('stop', '-t', '1', name)).code).toBe(0);
  return path;
}

describe('clawpod start checks mounts again', () => {
  it.each([
    ['a link to ~/.ssh', '.ssh'],
    ['a link to a folder holding id_rsa', 'backup'],
  ])('refuses a mount folder replaced by %s while the agent was stopped', async (_what, target, ctx) => {
    need(ctx, haveImage, `the image ${IMAGE}`, 'clawpod image build');
    const name = `${P}${target.replace('.', '')}`;
    const path = await stoppedAgent(name, `share-${target.replace('.', '')}`);
    renameSync(path, `${path}-old`);
    symlinkSync(join(home, target), path);
    const r = await run('start', name);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`${name}: mount /data`);
    expect(r.stderr).toContain(`now leads to ${join(home, target)}`);
    expect(running(name)).toBe('false');
    expect(r.stdout + r.stderr).not.toContain(KEY);
  });

  it('refuses a mount folder that now leads to another allowed folder, and starts once it is back', async (ctx) => {
    need(ctx, haveImage, `the image ${IMAGE}`, 'clawpod image build');
    const name = `${P}moved`;
    const path = await stoppedAgent(name, 'share-moved');
    mkdirSync(join(home, 'clawpod', 'elsewhere'));
    renameSync(path, `${path}-old`);
    symlinkSync(join(home, 'clawpod', 'elsewhere'), path);
    expect((await run('start', name)).code).not.toBe(0);
    expect(running(name)).toBe('false');
    // a file that a blocked pattern names, put into the real folder: refused by today's scan
    renameSync(`${path}-old`, `${path}-real`);
    rmSync(path);
    renameSync(`${path}-real`, path);
    writeFileSync(join(path, '.env'), 'TOKEN=x');
    const blocked = await run('start', name);
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain('.env');
    rmSync(join(path, '.env'));
    const ok = await run('start', name);
    expect(ok.code, ok.stderr).toBe(0);
    expect(running(name)).toBe('true');
  });
});

describe('a mount inside another agent\'s writable mount', () => {
  it('is refused at run, and at start when the writable mount came later (from the engine, not labels)', async (ctx) => {
    need(ctx, haveImage, `the image ${IMAGE}`, 'clawpod image build');
    mkdirSync(join(home, 'clawpod', 'team', 'docs'), { recursive: true });
    const writer = `${P}writer`;
    expect((await run('run', '-d', '-f', spec(writer, '~/clawpod/team', false))).code).toBe(0);
    const reader = `${P}reader`;
    const r = await run('run', '-d', '-f', spec(reader, '~/clawpod/team/docs', true));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`lies inside ${join(home, 'clawpod', 'team')}, which container ${writer} mounts writable`);
    expect(podman(['container', 'exists', reader]).code).not.toBe(0);

    // the reader made first and stopped; then a container made by hand, with no clawpod labels, mounts the parent writable
    expect((await run('rm', '-f', writer)).code).toBe(0);
    expect((await run('run', '-d', '-f', spec(reader, '~/clawpod/team/docs', true))).code).toBe(0);
    expect((await run('stop', '-t', '1', reader)).code).toBe(0);
    const hand = `${P}hand`;
    expect(podman(['create', '--name', hand, '-v', `${join(home, 'clawpod', 'team')}:/t`, IMAGE, 'sleep', '4243']).code).toBe(0);
    const s = await run('start', reader);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain(`which container ${hand} mounts writable`);
    expect(running(reader)).toBe('false');
  });
});
