// Finding B4: spec.bundle was kept inside the spec's folder by comparing text, so `bundle: ./b` with
// b a symlink to clawpod's data dir copied the control-plane token into an OpenClaw workspace. The
// attack is a spec folder someone hands you (a git clone): links at the bundle root, on its path, and
// inside it. bundleFiles is what `clawpod run` and a warm-pool claim call before anything is made.
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { bundleFiles } from '../../src/ops/payload.js';
import { cleanup, clawpod, leftovers, podman, scratchEnv, uniquePrefix } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const TOKEN = 'cp_control_token_b4_do_not_copy';
let home: string;
let config: Config;
let specDir: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'clawpod-b4-'));
  config = loadConfig({ HOME: home, PATH: process.env.PATH });
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(join(config.dataDir, 'control'), JSON.stringify({ url: 'http://127.0.0.1:7878', token: TOKEN }));
  specDir = join(home, 'spec');
  mkdirSync(specDir);
});

function refusal(dir: string): ClawpodError {
  let files;
  try { files = bundleFiles(dir, config, specDir); } catch (e) { if (e instanceof ClawpodError) return e; throw e; }
  throw new Error(`expected spec.bundle ${dir} to be refused; it read ${files.map((f) => f.path).join(', ')}`);
}

describe('spec.bundle never follows a symlink', () => {
  it('refuses a bundle root that is a link to the data dir or to /etc', () => {
    symlinkSync(config.dataDir, join(specDir, 'b'));
    symlinkSync('/etc', join(specDir, 'e'));
    for (const dir of ['./b', './e', 'b/']) {
      const e = refusal(dir);
      expect(e.code).toBe('UNSAFE_PATH');
      expect(e.message).toContain('symlink');
    }
  });

  it('refuses a bundle reached through a linked folder on its path', () => {
    symlinkSync(join(config.dataDir, '..'), join(specDir, 'share'));
    expect(refusal('./share/clawpod').code).toBe('UNSAFE_PATH');
  });

  it('refuses a real bundle folder that is, or holds, the data dir', () => {
    // a spec file kept in HOME: the data dir is a real folder inside the spec's folder
    specDir = home;
    expect(refusal('./.local/share/clawpod').code).toBe('MOUNT_BLOCKED');
    expect(refusal('./.local').message).toContain(config.dataDir);
  });

  it('refuses a link inside the bundle to a secret file, or to a folder', () => {
    mkdirSync(join(specDir, 'b'));
    writeFileSync(join(specDir, 'b', 'AGENTS.md'), 'hi');
    symlinkSync(join(config.dataDir, 'control'), join(specDir, 'b', 'notes.md'));
    expect(refusal('./b').message).toContain('notes.md is a symlink');
    mkdirSync(join(specDir, 'c'));
    symlinkSync(config.dataDir, join(specDir, 'c', 'skills'));
    expect(refusal('./c').message).toContain('skills is a symlink');
  });
});

describe('clawpod run with a linked bundle', () => {
  const P = uniquePrefix('b4');
  afterAll(() => cleanup(P));

  it('is refused before anything is created: no container, no volume, no vault entry', async (ctx) => {
    need(ctx, podman(['info', '--format', '{{.Host.Arch}}']).code === 0, 'a working Podman', './scripts/setup.sh');
    const env = scratchEnv();
    const cfg = loadConfig(env);
    mkdirSync(cfg.dataDir, { recursive: true });
    writeFileSync(join(cfg.dataDir, 'control'), JSON.stringify({ url: 'http://127.0.0.1:1', token: TOKEN }));
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-b4-spec-'));
    symlinkSync(cfg.dataDir, join(dir, 'b'));
    writeFileSync(join(dir, 'over.yaml'), 'spec:\n  bundle: ./b\n');
    const r = await clawpod(['run', 'openclaw', '--name', `${P}a`, '-f', join(dir, 'over.yaml')], { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('spec.bundle ./b');
    expect(r.stderr).toContain('symlink');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
    expect(existsSync(cfg.vaultFile)).toBe(false);
  });
});
