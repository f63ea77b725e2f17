// Mount checks on real files and symlinks in a scratch HOME.
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkMount, loadAllowlist } from '../../src/security/mount-allowlist.js';
import { ClawpodError } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';
import { clawpodPaths } from '../../src/security/protected-paths.js';
import type { MountSpec } from '../../src/spec/schema.js';

let home: string;
let configDir: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'clawpod-home-'));
  configDir = join(home, '.config', 'clawpod');
  mkdirSync(join(home, 'clawpod', 'share'), { recursive: true });
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_rsa'), 'KEY');
});

const mount = (hostPath: string, extra: Partial<MountSpec> = {}): MountSpec => ({ hostPath, containerPath: '/data', type: 'data', ...extra });

function check(m: MountSpec) {
  const allowlist = loadAllowlist(configDir, home);
  return checkMount(m, 0, { specDir: home, home, configDir, allowlist, protectedPaths: clawpodPaths(loadConfig({ HOME: home })) });
}

function refusal(m: MountSpec): ClawpodError {
  try { check(m); } catch (e) { return e as ClawpodError; }
  throw new Error('expected a refusal');
}

describe('mount allowlist', () => {
  it('creates the allowlist with safe defaults, private to the user', () => {
    const said: string[] = [];
    const a = loadAllowlist(configDir, home, (s) => said.push(s));
    const file = join(configDir, 'mount-allowlist.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(configDir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8')).allowedRoots[0].path).toBe('~/clawpod');
    expect(a.allowedRoots[0]!.path).toBe(join(home, 'clawpod'));
    expect(said[0]).toContain('created');
  });

  it('allows a folder under an allowed root; tools mount read-only by default', () => {
    expect(check(mount('~/clawpod/share'))).toEqual({ source: join(home, 'clawpod', 'share'), target: '/data', readOnly: false });
    expect(check(mount('clawpod/share', { type: 'tools' })).readOnly).toBe(true);
    expect(check(mount('clawpod/share', { type: 'skills', readOnly: false })).readOnly).toBe(false);
  });

  it('blocks credentials by name, even through a symlink', () => {
    expect(refusal(mount('~/.ssh')).message).toContain('blocked by rule ".ssh" (SSH keys)');
    symlinkSync(join(home, '.ssh'), join(home, 'clawpod', 'innocent'));
    const e = refusal(mount('~/clawpod/innocent'));
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain(`a link to ${join(home, '.ssh')}`);
    writeFileSync(join(home, 'clawpod', 'server.pem'), 'x');
    expect(refusal(mount('~/clawpod/server.pem')).message).toContain('rule "*.pem"');
  });

  it('refuses a folder that holds a blocked file, or HOME itself', () => {
    mkdirSync(join(home, 'clawpod', 'proj'));
    writeFileSync(join(home, 'clawpod', 'proj', '.env.local'), 'A=1');
    expect(refusal(mount('~/clawpod/proj')).message).toContain('blocked by rule ".env*"');
    expect(refusal(mount('~')).message).toContain(`contains ${join(home, '.ssh')}`);
  });

  it("refuses '..' escapes and clawpod's own config dir", () => {
    expect(refusal(mount('~/clawpod/../.ssh')).message).toContain('rule: no ".." escapes');
    loadAllowlist(configDir, home);
    expect(refusal(mount(configDir)).message).toContain("clawpod's own config dir");
  });

  it('refuses paths outside the allowed roots and names the file to edit', () => {
    const outside = mkdtempSync(join(tmpdir(), 'clawpod-outside-'));
    const e = refusal(mount(outside));
    expect(e.code).toBe('MOUNT_NOT_ALLOWED');
    expect(e.message).toContain('is under no allowed root');
    expect(e.hint).toContain(join(configDir, 'mount-allowlist.json'));
  });

  it('honours read-only roots and extra blocked patterns from the allowlist', () => {
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'mount-allowlist.json'), JSON.stringify({ allowedRoots: [{ path: '~/clawpod', allowReadWrite: false }], blockedPatterns: ['secret-*'] }));
    expect(refusal(mount('~/clawpod/share')).message).toContain('allows read-only');
    expect(check(mount('~/clawpod/share', { readOnly: true })).readOnly).toBe(true);
    mkdirSync(join(home, 'clawpod', 'secret-stuff'));
    expect(refusal(mount('~/clawpod/secret-stuff', { readOnly: true })).message).toContain('rule "secret-*"');
  });

  it('says clearly when the allowlist file is broken or the path is missing', () => {
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'mount-allowlist.json'), '{not json');
    expect(() => loadAllowlist(configDir, home)).toThrow(/is not valid JSON/);
    writeFileSync(join(configDir, 'mount-allowlist.json'), '{"allowedRoots": "x"}');
    expect(() => loadAllowlist(configDir, home)).toThrow(/expected \{"allowedRoots"/);
    writeFileSync(join(configDir, 'mount-allowlist.json'), '{"allowedRoots": []}');
    expect(refusal(mount('~/nope')).message).toContain('does not exist');
  });
});
