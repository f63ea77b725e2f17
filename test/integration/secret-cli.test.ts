// `clawpod secret` driven as a user does (the built CLI, a scratch HOME), and an agent on real
// Podman reading a vault entry from /run/secrets. The value never lands on disk unencrypted.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, agentYaml, cleanup, clawpod, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { need } from '../helpers/prereq.js';

const P = uniquePrefix('vault');
const CANARY = `canary-${P}-Qx7`;

function vaultEnv(extra: Record<string, string> = {}) {
  const env = scratchEnv();
  return { ...env, CLAWPOD_DATA_DIR: join(env.HOME!, 'data'), CLAWPOD_CONFIG_DIR: join(env.HOME!, 'config'), ...extra };
}

/** The canary as text, hex, and base64 at every alignment inside a longer string. */
function encodings(value: string): string[] {
  const b64 = [0, 1, 2].map((pad) => Buffer.concat([Buffer.alloc(pad), Buffer.from(value)]).toString('base64').slice(4, -4));
  return [value, Buffer.from(value).toString('hex'), ...b64];
}
function grepFinds(dir: string, needle: string): boolean {
  return spawnSync('grep', ['-r', '-a', '-F', '-q', needle, dir]).status === 0;
}

/** The CLI on a terminal (util-linux script): answers `input` once `waitFor` is printed. */
function onTty(args: string[], env: Record<string, string>, waitFor?: string, input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
    const p = spawn('script', ['-qec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (waitFor && input && !sent && out.includes(waitFor)) { sent = true; p.stdin.write(input); }
    });
    p.on('close', (code) => { p.stdin.destroy(); resolve({ code: code ?? -1, out }); });
  });
}
const haveScript = spawnSync('script', ['--version']).status === 0;

afterAll(() => cleanup(P));

describe('clawpod secret', () => {
  it('set, get, list and rm with the default key file; nothing readable on disk', async () => {
    const env = vaultEnv();
    const run = (args: string[], input?: string) => clawpod(['secret', ...args], { env, ...(input === undefined ? {} : { input }) });

    const set = await run(['set', 'tok'], `${CANARY}\n`);
    expect(set).toMatchObject({ code: 0, stdout: 'tok\n' });
    expect(set.stderr).toContain(`created the vault key ${join(env.HOME, 'config', 'vault.key')} (mode 0600)`);
    writeFileSync(join(env.HOME, 'value.txt'), `${CANARY}-file\n`);
    expect((await run(['set', 'from-file', '--from-file', join(env.HOME, 'value.txt')])).code).toBe(0);
    expect((await clawpod(['secret', 'set', 'from-env', '--from-env', 'MY_VALUE'], { env: { ...env, MY_VALUE: `${CANARY}-env` } })).code).toBe(0);

    // stdout is a pipe here: the exact bytes, no newline
    expect(await run(['get', 'tok'])).toEqual({ code: 0, stdout: CANARY, stderr: '' });
    expect((await run(['get', 'from-file'])).stdout).toBe(`${CANARY}-file`);
    expect((await run(['get', 'from-env'])).stdout).toBe(`${CANARY}-env`);

    const list = await clawpod(['--json', 'secret', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(CANARY);
    const rows = JSON.parse(list.stdout) as { name: string; createdAt: string; updatedAt: string }[];
    expect(rows.map((r) => r.name)).toEqual(['from-env', 'from-file', 'tok']);
    expect(rows[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await run(['ls'])).stdout).toMatch(/^NAME\s+CREATED\s+UPDATED\n/);

    rmSync(join(env.HOME, 'value.txt'));
    for (const needle of encodings(CANARY)) expect(grepFinds(env.HOME, needle), `found ${needle} under ${env.HOME}`).toBe(false);

    const vault = join(env.HOME, 'data', 'vault.json');
    const before = readFileSync(vault, 'utf8');
    const big = await run(['set', 'tok'], 'x'.repeat(70_000));
    expect(big.code).toBe(2);
    expect(big.stderr).toContain('Error [SECRET_INVALID]: the value on stdin is more than 65536 bytes; nothing was written');
    expect(readFileSync(vault, 'utf8')).toBe(before);

    expect(await run(['rm', 'tok'])).toMatchObject({ code: 0, stdout: 'tok\n' });
    const gone = await run(['get', 'tok']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe(`Error [SECRET_MISSING]: no entry "tok" in the vault ${vault}\n  fix: clawpod secret set tok\n`);
    expect((await run(['rm', 'tok'])).code).toBe(2);
  });

  it('refuses a wrong passphrase and a key file open to others, with exit code 2 and the fix', async () => {
    const env = vaultEnv({ CLAWPOD_VAULT_PASSPHRASE: 'right passphrase here' });
    expect((await clawpod(['secret', 'set', 'tok'], { env, input: CANARY })).code).toBe(0);
    const wrong = await clawpod(['secret', 'get', 'tok'], { env: { ...env, CLAWPOD_VAULT_PASSPHRASE: 'wrong passphrase here' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toBe(`Error [VAULT_LOCKED]: the passphrase in CLAWPOD_VAULT_PASSPHRASE does not open the vault ${join(env.HOME, 'data', 'vault.json')} (wrong passphrase, or the kdf parameters in its header were changed)\n`
      + '  fix: export CLAWPOD_VAULT_PASSPHRASE with the passphrase the vault was created or last rotated with\n');
    const none = await clawpod(['secret', 'list'], { env: { ...env, CLAWPOD_VAULT_PASSPHRASE: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('is locked with a passphrase');

    const keyEnv = vaultEnv();
    const key = join(keyEnv.HOME, 'team.key');
    writeFileSync(key, `${Buffer.alloc(32, 3).toString('base64')}\n`);
    chmodSync(key, 0o644);
    const open = await clawpod(['secret', 'set', 'tok'], { env: { ...keyEnv, CLAWPOD_VAULT_KEY_FILE: key }, input: 'v' });
    expect(open.code).toBe(2);
    expect(open.stderr).toBe(`Error [VAULT_LOCKED]: the vault key file ${key} is open to group or others (mode 0644); refusing to use it\n  fix: chmod 600 ${key}\n`);
  });

  it('rotates in place, to a passphrase and to a key file, keeping every value', async () => {
    const env = vaultEnv();
    const run = (args: string[], extra: Record<string, string> = {}) => clawpod(['secret', ...args], { env: { ...env, ...extra } });
    expect((await clawpod(['secret', 'set', 'tok'], { env, input: CANARY })).code).toBe(0);
    const keyFile = join(env.HOME, 'config', 'vault.key');
    const oldKey = readFileSync(keyFile, 'utf8');

    expect(await run(['rotate'])).toMatchObject({ code: 0, stdout: `re-encrypted 1 entry under the new key ${keyFile}\n` });
    expect(readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect((await run(['get', 'tok'])).stdout).toBe(CANARY);

    const toPass = await run(['rotate', '--new-passphrase-env', 'NEW_PASS'], { NEW_PASS: 'a brand new passphrase' });
    expect(toPass.code).toBe(0);
    expect(toPass.stderr).toContain('from now on: export CLAWPOD_VAULT_PASSPHRASE="$NEW_PASS"');
    expect((await run(['get', 'tok'])).code).toBe(2);
    expect((await run(['get', 'tok'], { CLAWPOD_VAULT_PASSPHRASE: 'a brand new passphrase' })).stdout).toBe(CANARY);

    const newKey = join(env.HOME, 'elsewhere.key');
    const toKey = await clawpod(['--json', 'secret', 'rotate', '--new-key-file', newKey], { env: { ...env, CLAWPOD_VAULT_PASSPHRASE: 'a brand new passphrase' } });
    expect(toKey.code).toBe(0);
    expect(JSON.parse(toKey.stdout)).toEqual({ entries: 1, key: { keyFile: newKey } });
    expect((await run(['get', 'tok'], { CLAWPOD_VAULT_KEY_FILE: newKey })).stdout).toBe(CANARY);
    expect((await run(['get', 'tok'], { CLAWPOD_VAULT_PASSPHRASE: 'a brand new passphrase' })).code).toBe(2);
  });

  it('on a terminal: prompts without echo, and shows a value only with --show', async (ctx) => {
    need(ctx, haveScript, 'script(1) to give the CLI a terminal', 'apt-get install bsdutils');
    const env = vaultEnv();
    const set = await onTty(['secret', 'set', 'typed'], env, 'not echoed', `${CANARY}\r`);
    expect(set.code).toBe(0);
    expect(set.out).not.toContain(CANARY);
    const refused = await onTty(['secret', 'get', 'typed'], env);
    expect(refused.code).toBe(2);
    expect(refused.out).toContain('refusing to print the secret "typed" on a terminal');
    expect(refused.out).not.toContain(CANARY);
    const shown = await onTty(['secret', 'get', 'typed', '--show'], env);
    expect(shown).toMatchObject({ code: 0 });
    expect(shown.out).toContain(CANARY);
  });

  it('an agent reads a vault entry at /run/secrets/NAME', async () => {
    const env = vaultEnv();
    expect((await clawpod(['secret', 'set', 'tok'], { env, input: CANARY })).code).toBe(0);
    const dir = tmpDir();
    const spec = writeSpec(dir, 'spec.yaml', agentYaml(`${P}a`, [
      'image: localhost/clawpod-agent:latest',
      'command: [cat, /run/secrets/TOKEN]',
      'secrets: [{name: TOKEN, source: vault, secretRef: {name: tok}}]',
    ].join('\n')));
    const r = await clawpod(['run', '--rm', '-f', spec], { env });
    expect(r.stderr).not.toContain(CANARY);
    expect(r).toMatchObject({ code: 0, stdout: CANARY });
    for (const needle of encodings(CANARY)) expect(grepFinds(join(env.HOME, 'data'), needle)).toBe(false);

    const missing = writeSpec(dir, 'missing.yaml', agentYaml(`${P}b`, [
      'image: localhost/clawpod-agent:latest',
      'secrets: [{name: TOKEN, source: vault, secretRef: {name: nope}}]',
    ].join('\n')));
    const m = await clawpod(['run', '--rm', '-f', missing], { env });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('Error [SECRET_MISSING]: spec.secrets[0] (TOKEN) (vault nope): no entry "nope" in the vault');
    expect(m.stderr).toContain('fix: clawpod secret set nope');
  });
});
