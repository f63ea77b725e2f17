// Finding B6: a spec's secret sources reached past every host-side check. `source: file` read any
// file (a private key outside every allowed root), `source: exec` ran any host command the spec
// named. The attacker is the spec author: real files in a scratch HOME, the real `clawpod run`,
// and the host's allowlist (~/.config/clawpod/mount-allowlist.json) written by the host's user.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { resolveRef } from '../../src/secrets/resolve.js';
import { agentYaml, cleanup, clawpod, leftovers, uniquePrefix, writeSpec } from '../helpers/cli.js';

const P = uniquePrefix('ss');
afterAll(() => cleanup(P));

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nfake-key-material-for-the-test\n-----END OPENSSH PRIVATE KEY-----\n';
let home: string;
let proj: string;
let config: Config;
let marker: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'clawpod-ss-'));
  config = loadConfig({ HOME: home, PATH: process.env.PATH });
  proj = join(home, 'clawpod', 'proj');
  mkdirSync(proj, { recursive: true });
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(join(home, '.ssh', 'id_rsa'), KEY, { mode: 0o600 });
  mkdirSync(join(home, 'elsewhere'));
  writeFileSync(join(home, 'elsewhere', 'token'), 'elsewhere-token-value\n');
  writeFileSync(join(proj, 'token'), 'project-token-value\n');
  marker = join(home, 'PWNED');
  allowlist({});
});

/** The host user's allowlist: ~/clawpod shared, plus what a test adds. */
function allowlist(extra: Record<string, unknown>): void {
  mkdirSync(config.configDir, { recursive: true });
  writeFileSync(join(config.configDir, 'mount-allowlist.json'), JSON.stringify({ allowedRoots: [{ path: '~/clawpod', allowReadWrite: true }], ...extra }));
}

async function refusal(source: string, name: string): Promise<ClawpodError> {
  try { await resolveRef(source, { name }, 'spec.secrets[0] (T)', { specDir: proj, config }); } catch (e) { if (e instanceof ClawpodError) return e; throw e; }
  throw new Error(`expected ${source} ${name} to be refused`);
}

/** `clawpod run` of a spec with this one secret, as a user runs it: refused, and nothing made. */
async function runRefused(secret: string): Promise<string> {
  const spec = writeSpec(proj, `${P}.yaml`, agentYaml(`${P}a`, `command: ["true"]\nworkspace: {enabled: true}\nsecrets: [${secret}]`));
  const r = await clawpod(['run', '-d', '-f', spec], { env: { PATH: process.env.PATH ?? '', HOME: home, CONTAINERS_CONF: join(process.cwd(), '.clawpod/containers.conf') } });
  expect(r.code).not.toBe(0);
  expect(leftovers(P)).toEqual({ containers: [], volumes: [] });
  return r.stderr;
}

describe('source: file reads only what the host allows', () => {
  it('refuses ~/.ssh/id_rsa, through clawpod run, before anything is created', async () => {
    const stderr = await runRefused(`{name: KEY, source: file, secretRef: {name: ${join(home, '.ssh', 'id_rsa')}}}`);
    expect(stderr).toMatch(/MOUNT_BLOCKED|SOURCE_NOT_ALLOWED/);
    expect(stderr).not.toContain('fake-key-material');
  });

  it('refuses a link to the key from inside an allowed folder', async () => {
    symlinkSync(join(home, '.ssh', 'id_rsa'), join(proj, 'innocent'));
    const e = await refusal('file', './innocent');
    expect(e.code).toBe('MOUNT_BLOCKED');
    expect(e.message).toContain(`a link to ${realpathSync(join(home, '.ssh', 'id_rsa'))}`);
  });

  it('refuses a file under no allowed root, directly or through a link, and names the line to add', async () => {
    for (const name of [join(home, 'elsewhere', 'token'), (symlinkSync(join(home, 'elsewhere', 'token'), join(proj, 'via-link')), './via-link')]) {
      const e = await refusal('file', name);
      expect(e.code).toBe('SOURCE_NOT_ALLOWED');
      expect(e.hint).toContain(`{"path": "${realpathSync(join(home, 'elsewhere'))}", "allowReadWrite": false}`);
    }
  });

  it("refuses clawpod's own files even under an allowed root", async () => {
    allowlist({ allowedRoots: [{ path: home, allowReadWrite: false }] });
    mkdirSync(join(config.dataDir, 'instances'), { recursive: true });
    writeFileSync(join(config.dataDir, 'instances', 'other.json'), '{"secrets":[]}');
    expect((await refusal('file', join(config.dataDir, 'instances', 'other.json'))).code).toBe('MOUNT_BLOCKED');
  });

  it('reads a file under an allowed root', async () => {
    expect(await resolveRef('file', { name: './token' }, 'spec.secrets[0] (T)', { specDir: proj, config })).toBe('project-token-value');
  });
});

describe('source: exec runs only commands the host lists', () => {
  it('refuses /bin/sh -c "touch marker" through clawpod run, and nothing runs', async () => {
    const stderr = await runRefused(`{name: T, source: exec, secretRef: {name: '${JSON.stringify(['/bin/sh', '-c', `touch ${marker}`])}'}}`);
    expect(stderr).toContain('SOURCE_NOT_ALLOWED');
    expect(stderr).toContain(`"allowedExecCommands": ["${realpathSync('/bin/sh')}"]`);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs a helper once the host lists it (by its real path; a link to it from the project works too)', async () => {
    const helper = join(home, 'bin', 'get-secret');
    mkdirSync(join(home, 'bin'));
    writeFileSync(helper, `#!/bin/sh\ntouch ${marker}\nprintf '{"protocolVersion":1,"values":{"value":"helper-value"}}'\n`);
    chmodSync(helper, 0o755);
    symlinkSync(helper, join(proj, 'get'));
    expect((await refusal('exec', helper)).code).toBe('SOURCE_NOT_ALLOWED');
    expect(existsSync(marker)).toBe(false);
    allowlist({ allowedExecCommands: ['~/bin/get-secret'] });
    expect(await resolveRef('exec', { name: helper }, 'spec.secrets[0] (T)', { specDir: proj, config })).toBe('helper-value');
    expect(await resolveRef('exec', { name: './get' }, 'spec.secrets[0] (T)', { specDir: proj, config })).toBe('helper-value');
    expect(existsSync(marker)).toBe(true);
  });
});
