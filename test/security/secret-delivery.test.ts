// B8: the secret delivery root (/dev/shm/clawpod as root) sits in a world-writable place. A local
// user who creates it first (as their own folder, as a symlink to somewhere else, world-writable)
// must not steer where root writes, chowns or removes secret files; and an agent name such as
// "../x" must never reach a path join. The root is pointed at a temp folder with CLAWPOD_RUN_DIR.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { deliverSecrets, removeDeliveredSecrets } from '../../src/secrets/deliver.js';
import type { ResolvedSecret } from '../../src/secrets/resolve.js';
import { agentYaml, clawpod, leftovers, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';

const SECRET: ResolvedSecret = { spec: { name: 'TOKEN', source: 'env', secretRef: { name: 'X' }, exposeAs: 'file' }, value: 's3cret' };
const NOBODY = 65534;

/** Everything under `dir`, as relative paths (what an attack may have changed). */
function tree(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [`${e.name}/`, ...tree(join(dir, e.name)).map((x) => `${e.name}/${x}`)] : [e.name])).sort();
}

function deliverUnder(run: string, name = 'agent-1') {
  const config = loadConfig({ HOME: tmpDir(), CLAWPOD_RUN_DIR: run });
  return { config, go: () => deliverSecrets([SECRET], { secretsDir: config.secretsDir, containerName: name, user: '1000:1000', isRoot: config.uid === 0 }) };
}

function expectUnsafe(fn: () => unknown, what: RegExp, hint = /CLAWPOD_RUN_DIR/): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(ClawpodError);
  expect((err as ClawpodError).code).toBe('UNSAFE_PATH');
  expect((err as ClawpodError).message).toMatch(what);
  expect((err as ClawpodError).hint).toMatch(hint);
}

describe('secret delivery root', () => {
  it('is created 0700 by us, with secrets/NAME 0500 and the file 0400', () => {
    const run = join(tmpDir(), 'clawpod');
    const d = deliverUnder(run).go();
    expect(statSync(run).mode & 0o777).toBe(0o700);
    expect(statSync(join(run, 'secrets')).mode & 0o777).toBe(0o700);
    expect(statSync(d.hostDir!).mode & 0o777).toBe(0o500);
    expect(readFileSync(join(d.hostDir!, 'TOKEN'), 'utf8')).toBe('s3cret');
  });

  it('refuses a root pre-created as a symlink; nothing is written, chowned or removed where it points', () => {
    const victim = tmpDir();
    mkdirSync(join(victim, 'secrets', 'agent-1'), { recursive: true });
    writeFileSync(join(victim, 'secrets', 'agent-1', 'precious'), 'host data');
    const before = tree(victim);
    const run = join(tmpDir(), 'clawpod');
    symlinkSync(victim, run);
    const { config, go } = deliverUnder(run);
    expectUnsafe(go, /is a symlink/);
    expectUnsafe(() => removeDeliveredSecrets(config.secretsDir, 'agent-1'), /is a symlink/);
    expect(tree(victim)).toEqual(before);
    expect(statSync(join(victim, 'secrets', 'agent-1')).uid).toBe(process.getuid!());
  });

  it('refuses a root owned by another user, or writable by group/others, or not a folder', () => {
    const other = join(tmpDir(), 'clawpod');
    mkdirSync(other, { mode: 0o700 });
    chownSync(other, NOBODY, NOBODY); // what `mkdir /dev/shm/clawpod` by another local user leaves
    expectUnsafe(deliverUnder(other).go, /owned by uid 65534/);
    expect(readdirSync(other)).toEqual([]);

    const open = join(tmpDir(), 'clawpod');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expectUnsafe(deliverUnder(open).go, /writable by group or others/);
    expect(readdirSync(open)).toEqual([]);

    const file = join(tmpDir(), 'clawpod');
    writeFileSync(file, '');
    expectUnsafe(deliverUnder(file).go, /is not a folder/);
  });

  it('checks secrets/ under the root the same way (a symlink planted there)', () => {
    const victim = tmpDir();
    const run = join(tmpDir(), 'clawpod');
    mkdirSync(run, { mode: 0o700 });
    symlinkSync(victim, join(run, 'secrets'));
    expectUnsafe(deliverUnder(run).go, /secrets is a symlink/);
    expect(readdirSync(victim)).toEqual([]);
  });

  it('never joins a name that is not one path component', () => {
    const run = join(tmpDir(), 'clawpod');
    expectUnsafe(deliverUnder(run, '../x').go, /cannot name a folder/, /DNS label/);
    expect(existsSync(join(run, 'x'))).toBe(false);
  });
});

describe('agent names (built CLI)', () => {
  it('clawpod run --name ../x exits non-zero with NAME_INVALID and creates nothing', async () => {
    const P = uniquePrefix('nm');
    const dir = tmpDir();
    const run = join(tmpDir(), 'clawpod');
    const spec = writeSpec(dir, 'a.yaml', agentYaml(`${P}a`, `command: [sh, -c, "true"]\nsecrets: [{name: TOKEN, source: env, secretRef: {name: NM_TOKEN}}]`));
    const env = scratchEnv({ CLAWPOD_RUN_DIR: run, CLAWPOD_DATA_DIR: join(dir, 'data'), NM_TOKEN: 'v' });
    for (const bad of ['../x', 'UPPER', 'a/b', 'x'.repeat(64)]) {
      const r = await clawpod(['run', '-f', spec, '--name', bad], { env });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toContain('NAME_INVALID');
      expect(r.stderr).toContain(JSON.stringify(bad));
      expect(r.stderr).toMatch(/fix: .*--name [a-z0-9-]+/);
    }
    // the profile path (the name becomes metadata.name) goes through the same check
    const p = await clawpod(['run', 'openclaw', '--name', '../x'], { env });
    expect(p.stderr).toContain('NAME_INVALID');
    expect(existsSync(run)).toBe(false);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
  });

  it('clawpod run refuses a delivery root planted as a symlink with UNSAFE_PATH and writes nothing through it', async () => {
    const P = uniquePrefix('dr');
    const dir = tmpDir();
    const victim = tmpDir();
    const run = join(tmpDir(), 'clawpod');
    symlinkSync(victim, run);
    const spec = writeSpec(dir, 'a.yaml', agentYaml(`${P}a`, `command: [sh, -c, "true"]\nsecrets: [{name: TOKEN, source: env, secretRef: {name: NM_TOKEN}}]`));
    const r = await clawpod(['run', '-f', spec], { env: scratchEnv({ CLAWPOD_RUN_DIR: run, CLAWPOD_DATA_DIR: join(dir, 'data'), NM_TOKEN: 'v' }) });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('UNSAFE_PATH');
    expect(readdirSync(victim)).toEqual([]);
    expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
  });
});
