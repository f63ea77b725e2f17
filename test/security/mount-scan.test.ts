// Finding B9: the mount scan looked two levels deep and stopped quietly after 5,000 entries, and
// clawpod's own folders (data dir with the control token, vault key, secret delivery root) were
// mountable. Each test is the attack a spec author makes: real files in a scratch HOME, the same
// checkMounts that `clawpod run` and `clawpod start` call.
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { checkMounts } from '../../src/ops/mount-recheck.js';
import { scanMountSource } from '../../src/security/mount-scan.js';
import { parseAgents } from '../../src/spec/parse.js';

let home: string;
let config: Config;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'clawpod-scan-'));
  config = loadConfig({ HOME: home, PATH: process.env.PATH });
  mkdirSync(join(home, 'clawpod', 'proj'), { recursive: true });
});

/** Allowed roots written by the host's user (the attacker is the spec, not the allowlist). */
function allow(...paths: string[]): void {
  mkdirSync(config.configDir, { recursive: true });
  writeFileSync(join(config.configDir, 'mount-allowlist.json'), JSON.stringify({ allowedRoots: paths.map((path) => ({ path, allowReadWrite: true })) }));
}

function check(hostPath: string) {
  const [loaded] = parseAgents(`apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: scan}\nspec:\n  image: x\n  mounts: [{hostPath: "${hostPath}", containerPath: /data, readOnly: true}]\n`, join(home, 'agent.yaml'));
  return checkMounts(loaded!, config, () => undefined);
}

function refusal(hostPath: string): ClawpodError {
  try { check(hostPath); } catch (e) { if (e instanceof ClawpodError) return e; throw e; }
  throw new Error(`expected ${hostPath} to be refused`);
}

describe('the mount scan finds what a spec hides, or refuses', () => {
  it.each([3, 4, 8])('refuses a folder with .env at depth %i', (depth) => {
    const deep = join(home, 'clawpod', 'proj', ...Array.from({ length: depth - 1 }, (_, i) => `d${i}`));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, '.env'), 'TOKEN=stolen');
    const e = refusal('~/clawpod/proj');
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain('.env');
  });

  it('refuses a folder whose .env comes after 6,000 other entries', () => {
    const proj = join(home, 'clawpod', 'proj');
    for (let i = 0; i < 6000; i++) writeFileSync(join(proj, `f${i}`), '');
    for (let i = 0; i < 100; i++) mkdirSync(join(proj, `g${i}`));
    // the .env goes into the folder listed last, so a scan that stops after 5,000 entries never sees it
    const order = readdirSync(proj);
    const last = order.filter((n) => n.startsWith('g')).pop()!;
    expect(order.indexOf(last)).toBeGreaterThan(5000);
    writeFileSync(join(proj, last, '.env'), 'TOKEN=stolen');
    const e = refusal('~/clawpod/proj');
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain(join(last, '.env'));
  });

  it('refuses a folder deeper than the scan goes, naming the limit and the fix', () => {
    mkdirSync(join(home, 'clawpod', 'proj', ...Array.from({ length: 40 }, () => 'd')), { recursive: true });
    const e = refusal('~/clawpod/proj');
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toMatch(/could not be scanned.*levels deep/);
    expect(e.hint).toContain('allowUnscanned');
  });

  it('refuses a symlink inside the mount that leads to a blocked file', () => {
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'FAKE KEY');
    symlinkSync('../../.ssh/id_rsa', join(home, 'clawpod', 'proj', 'notes.txt'));
    const e = refusal('~/clawpod/proj');
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain('notes.txt');
    expect(e.message).toContain(join(home, '.ssh', 'id_rsa'));
  });
});

describe('what the scan cannot finish', () => {
  it('refuses past the entry limit (the real scan, with a small limit)', () => {
    const proj = join(home, 'clawpod', 'proj');
    for (let i = 0; i < 60; i++) writeFileSync(join(proj, `f${i}`), '');
    expect(scanMountSource(proj, () => undefined, { depth: 32, entries: 50 })).toMatchObject({ kind: 'incomplete', why: 'it holds more than 50 entries' });
    expect(scanMountSource(proj, () => undefined, { depth: 32, entries: 60 })).toEqual({ kind: 'clean' });
  });

  it('mounts a folder listed under allowUnscanned, but still refuses what it does see', () => {
    const deep = join(home, 'clawpod', 'proj', ...Array.from({ length: 40 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    mkdirSync(config.configDir, { recursive: true });
    writeFileSync(join(config.configDir, 'mount-allowlist.json'), JSON.stringify({ allowedRoots: [{ path: '~/clawpod', allowReadWrite: true }], allowUnscanned: ['~/clawpod/proj'] }));
    expect(check('~/clawpod/proj')[0]!.source).toBe(join(home, 'clawpod', 'proj'));
    writeFileSync(join(home, 'clawpod', 'proj', 'd', '.env'), 'TOKEN=x');
    expect(refusal('~/clawpod/proj').message).toContain('.env');
  });

  it('refuses a unix socket in the folder (a host service the agent could talk to)', async () => {
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(join(home, 'clawpod', 'proj', 'api.sock'), res));
    try {
      expect(refusal('~/clawpod/proj').message).toContain('unix socket');
    } finally { srv.close(); }
  });
});

describe("clawpod's own folders are never mount sources, whatever the allowlist says", () => {
  it('refuses the data dir (control token), its parent, and a link to it', () => {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(join(config.dataDir, 'control'), '{"url":"http://127.0.0.1:7878","token":"cp_secret"}');
    allow(home);
    for (const p of [config.dataDir, dirname(config.dataDir), dirname(dirname(config.dataDir))]) {
      const e = refusal(p);
      expect(e.code).toBe('MOUNT_BLOCKED');
      expect(e.message).toContain(config.dataDir);
    }
    symlinkSync(config.dataDir, join(home, 'clawpod', 'data-link'));
    expect(refusal('~/clawpod/data-link').code).toBe('MOUNT_BLOCKED');
  });

  it('refuses a data dir, vault key and secret delivery root set elsewhere, and their parents', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'clawpod-scan-data-'));
    mkdirSync(join(elsewhere, 'data'));
    writeFileSync(join(elsewhere, 'vault.key'), 'KEY');
    config = loadConfig({ HOME: home, PATH: process.env.PATH, CLAWPOD_DATA_DIR: join(elsewhere, 'data'), CLAWPOD_VAULT_KEY_FILE: join(elsewhere, 'vault.key') });
    allow(home, elsewhere, '/dev/shm');
    for (const p of [join(elsewhere, 'data'), elsewhere]) expect(refusal(p).code).toBe('MOUNT_BLOCKED');
    const delivery = dirname(config.secretsDir);
    const e = refusal(dirname(delivery));
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain(delivery);
  });

  it('still allows an ordinary folder under an allowed root', () => {
    writeFileSync(join(home, 'clawpod', 'proj', 'README.md'), 'hi');
    expect(check('~/clawpod/proj')).toEqual([{ source: join(home, 'clawpod', 'proj'), target: '/data', readOnly: true }]);
  });
});
