// The encrypted vault on real files in a scratch folder: round trips, fresh nonces, wrong keys,
// every kind of tampering, size limits, unsafe key files, rotation, atomic writes, the vault source.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ClawpodError } from '../../src/errors.js';
import { MAX_SECRET_BYTES } from '../../src/secrets/limits.js';
import { resolveRef } from '../../src/secrets/resolve.js';
import { openVault, type VaultOptions } from '../../src/secrets/vault.js';

const FAST = { N: 2 ** 14, r: 8, p: 1 };
const CANARY = 'canary-Zq81-value-do-not-leak';
const PASS = 'correct horse battery staple';

function scratch(env: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'clawpod-vault-'));
  const base = { HOME: home, CLAWPOD_DATA_DIR: join(home, 'data'), CLAWPOD_CONFIG_DIR: join(home, 'config') };
  const config = loadConfig({ ...base, ...env });
  const said: string[] = [];
  const open = (more: Record<string, string> = {}, opts: VaultOptions = {}) =>
    openVault(loadConfig({ ...base, ...env, ...more }), { scrypt: FAST, say: (s) => said.push(s), ...opts });
  return { home, config, said, open, file: config.vaultFile, keyFile: join(home, 'config', 'vault.key') };
}

async function failure(p: Promise<unknown>): Promise<ClawpodError> {
  try { await p; } catch (e) {
    expect(e).toBeInstanceOf(ClawpodError);
    const err = e as ClawpodError;
    // no value in any error, in any encoding
    for (const text of [err.message, err.hint ?? '', ...err.details]) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(Buffer.from(CANARY).toString('base64'));
    }
    return err;
  }
  throw new Error('expected a failure');
}

type Json = { kdf: Record<string, unknown>; id: string; entries: Record<string, Record<string, string>>; [k: string]: unknown };
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Json;
const writeJson = (f: string, j: Json) => writeFileSync(f, JSON.stringify(j));
const flip = (b64: string) => { const b = Buffer.from(b64, 'base64'); b[0]! ^= 1; return b.toString('base64'); };

describe('vault', () => {
  it('round-trips with the default key file, created 0600 in a 0700 folder, and says so', async () => {
    const s = scratch();
    const v = s.open();
    expect(await v.list()).toEqual([]);
    expect(await v.set('tok', CANARY)).toEqual({ created: true });
    expect(await v.set('constructor', 'x-value')).toEqual({ created: true });
    expect(await v.set('tok', `${CANARY}2`)).toEqual({ created: false });
    expect(statSync(s.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(s.home, 'config')).mode & 0o777).toBe(0o700);
    expect(statSync(s.file).mode & 0o777).toBe(0o600);
    expect(s.said.join('\n')).toContain(`created the vault key ${s.keyFile}`);
    // a fresh process: nothing cached but the file and the key
    const again = s.open();
    expect(await again.get('tok')).toBe(`${CANARY}2`);
    expect(await again.get('constructor')).toBe('x-value');
    expect(await again.get('toString')).toBeUndefined();
    const names = await again.list();
    expect(names.map((e) => e.name)).toEqual(['constructor', 'tok']);
    expect(names[1]!.updatedAt >= names[1]!.createdAt).toBe(true);
    expect(JSON.stringify(names)).not.toContain(CANARY);
    expect(await again.remove('tok')).toBe(true);
    expect(await again.remove('tok')).toBe(false);
    expect(await again.get('tok')).toBeUndefined();
    const text = readFileSync(s.file, 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(Buffer.from(CANARY).toString('base64'));
  });

  it('round-trips with a passphrase; the file holds the scrypt parameters', async () => {
    const s = scratch({ CLAWPOD_VAULT_PASSPHRASE: PASS });
    await s.open().set('tok', CANARY);
    expect(await s.open().get('tok')).toBe(CANARY);
    const j = readJson(s.file);
    expect(j).toMatchObject({ format: 'clawpod-vault', version: 1, cipher: 'aes-256-gcm', kdf: { name: 'scrypt', N: FAST.N, r: 8, p: 1 } });
    expect(Buffer.from(j.kdf.salt as string, 'base64')).toHaveLength(16);
    expect(existsSync(s.keyFile)).toBe(false);
  });

  it('uses a fresh nonce for every write', async () => {
    const s = scratch();
    const v = s.open();
    await v.set('a', CANARY);
    const first = readJson(s.file).entries.a!;
    await v.set('a', CANARY);
    await v.set('b', CANARY);
    const j = readJson(s.file);
    expect(Buffer.from(first.nonce!, 'base64')).toHaveLength(12);
    expect(new Set([first.nonce, j.entries.a!.nonce, j.entries.b!.nonce]).size).toBe(3);
    expect(j.entries.a!.ciphertext).not.toBe(first.ciphertext);
  });

  it('refuses a wrong passphrase, a wrong key file, and the wrong kind of key', async () => {
    const p = scratch({ CLAWPOD_VAULT_PASSPHRASE: PASS });
    await p.open().set('tok', CANARY);
    const wrong = await failure(p.open({ CLAWPOD_VAULT_PASSPHRASE: 'not the passphrase' }).get('tok'));
    expect(wrong.code).toBe('VAULT_LOCKED');
    expect(wrong.exitCode).toBe(2);
    expect(wrong.message).toContain('the passphrase in CLAWPOD_VAULT_PASSPHRASE does not open the vault');
    const kind = await failure(openVault(loadConfig({ HOME: p.home, CLAWPOD_DATA_DIR: join(p.home, 'data'), CLAWPOD_CONFIG_DIR: join(p.home, 'config') })).list());
    expect(kind.message).toContain('is locked with a passphrase');
    expect(kind.hint).toContain('CLAWPOD_VAULT_PASSPHRASE');

    const k = scratch();
    await k.open().set('tok', CANARY);
    const other = join(k.home, 'other.key');
    writeFileSync(other, Buffer.alloc(32, 7), { mode: 0o600 });
    const wrongKey = await failure(k.open({ CLAWPOD_VAULT_KEY_FILE: other }).get('tok'));
    expect(wrongKey.code).toBe('VAULT_LOCKED');
    expect(wrongKey.message).toContain(`the key file ${other} (CLAWPOD_VAULT_KEY_FILE) does not open the vault`);
    const pass = await failure(k.open({ CLAWPOD_VAULT_PASSPHRASE: PASS }).get('tok'));
    expect(pass.message).toContain('is locked with a key file');
    const both = await failure(k.open({ CLAWPOD_VAULT_PASSPHRASE: PASS, CLAWPOD_VAULT_KEY_FILE: other }).get('tok'));
    expect(both.code).toBe('USAGE');
  });

  it('refuses a key file open to group or others, and accepts raw or base64 keys', async () => {
    const s = scratch();
    const key = join(s.home, 'k');
    writeFileSync(key, Buffer.alloc(32, 1).toString('base64'), { mode: 0o600 });
    chmodSync(key, 0o644);
    const e = await failure(s.open({ CLAWPOD_VAULT_KEY_FILE: key }).set('tok', CANARY));
    expect(e.code).toBe('VAULT_LOCKED');
    expect(e.message).toBe(`the vault key file ${key} is open to group or others (mode 0644); refusing to use it`);
    expect(e.hint).toBe(`chmod 600 ${key}`);
    expect(existsSync(s.file)).toBe(false);
    chmodSync(key, 0o600);
    await s.open({ CLAWPOD_VAULT_KEY_FILE: key }).set('tok', CANARY);
    // the same 32 bytes, raw
    writeFileSync(key, Buffer.alloc(32, 1));
    expect(await s.open({ CLAWPOD_VAULT_KEY_FILE: key }).get('tok')).toBe(CANARY);
    writeFileSync(key, 'short');
    expect((await failure(s.open({ CLAWPOD_VAULT_KEY_FILE: key }).get('tok'))).message).toContain('does not hold a key');
  });

  describe('detects tampering', () => {
    async function twoEntries(env: Record<string, string> = {}) {
      const s = scratch(env);
      await s.open().set('a', CANARY);
      await s.open().set('b', `${CANARY}-b`);
      return s;
    }
    const tamper = async (s: Awaited<ReturnType<typeof twoEntries>>, edit: (j: Json) => void) => {
      const j = readJson(s.file);
      edit(j);
      writeJson(s.file, j);
      return failure(s.open().get('a'));
    };

    it.each([
      ['ciphertext', (j: Json) => { j.entries.a!.ciphertext = flip(j.entries.a!.ciphertext!); }],
      ['tag', (j: Json) => { j.entries.a!.tag = flip(j.entries.a!.tag!); }],
      ['nonce', (j: Json) => { j.entries.a!.nonce = flip(j.entries.a!.nonce!); }],
      ['timestamps', (j: Json) => { j.entries.a!.createdAt = '2001-01-01T00:00:00.000Z'; }],
      ['swapped entries', (j: Json) => { const a = j.entries.a!; j.entries.a = j.entries.b!; j.entries.b = a; }],
    ])('%s: names the entry', async (_, edit) => {
      const e = await tamper(await twoEntries(), edit);
      expect(e.code).toBe('VAULT_TAMPERED');
      expect(e.message).toContain('entry "a" fails authentication');
      expect(e.hint).toContain('restore');
    });

    it('an entry removed or copied over from another vault under the same key', async () => {
      const s = await twoEntries();
      const original = readJson(s.file);
      expect((await tamper(s, (j) => { delete j.entries.b; })).message).toContain('the list of entries does not match its MAC');
      // another vault, same key file: its entry is bound to its own vault id
      writeJson(s.file, original);
      const other = scratch({ CLAWPOD_VAULT_KEY_FILE: s.keyFile });
      await other.open().set('c', 'other');
      const e = await tamper(s, (j) => { j.entries.c = readJson(other.file).entries.c!; });
      expect(e.message).toContain('entry "c" fails authentication');
    });

    it('a changed header', async () => {
      const s = await twoEntries();
      const e = await tamper(s, (j) => { j.id = Buffer.alloc(16, 9).toString('base64'); });
      expect(e.code).toBe('VAULT_TAMPERED');
      expect(e.message).toContain('its header (format, version, id, cipher, kdf) does not match its MAC');
      expect((await tamper(s, (j) => { j.cipher = 'aes-128-cbc'; })).message).toContain('header field cipher');
      expect((await tamper(s, (j) => { j.extra = 1; })).message).toContain('unexpected header field extra');
      const v = await tamper(s, (j) => { j.version = 2; });
      expect(v.code).toBe('SECRET_INVALID');
      expect(v.message).toContain('format version 2');
    });

    it('changed kdf parameters', async () => {
      const s = await twoEntries({ CLAWPOD_VAULT_PASSPHRASE: PASS });
      const original = readJson(s.file);
      for (const edit of [(j: Json) => { j.kdf.N = FAST.N * 2; }, (j: Json) => { j.kdf.p = 2; }, (j: Json) => { j.kdf.salt = flip(j.kdf.salt as string); }]) {
        writeJson(s.file, original);
        const e = await tamper(s, edit);
        expect(e.code).toBe('VAULT_LOCKED');
        expect(e.message).toContain('wrong passphrase, or the kdf parameters in its header were changed');
      }
      writeJson(s.file, original);
      expect((await tamper(s, (j) => { j.kdf.N = 2 ** 40; })).message).toContain('kdf has parameters out of range');
      writeJson(s.file, original);
      expect((await tamper(s, (j) => { j.kdf = { name: 'key-file' }; })).message).toContain('is locked with a key file');
      writeJson(s.file, original);
      expect(await s.open().get('a')).toBe(CANARY);
    });

    it('a file that is not a vault', async () => {
      const s = await twoEntries();
      writeFileSync(s.file, '{"format":"clawpod-vault","version":1');
      const e = await failure(s.open().list());
      expect(e.code).toBe('VAULT_TAMPERED');
      expect(e.message).toBe(`the vault ${s.file} is damaged: not valid JSON`);
    });
  });

  it('refuses bad names, empty and oversized values, and writes nothing', async () => {
    const s = scratch();
    const v = s.open();
    expect((await failure(v.set('x', 'x'.repeat(MAX_SECRET_BYTES + 1)))).message).toContain(`more than the ${MAX_SECRET_BYTES}-byte limit; nothing was written`);
    expect(existsSync(s.file)).toBe(false);
    await v.set('tok', CANARY);
    const before = readFileSync(s.file);
    const big = await failure(v.set('tok', 'é'.repeat(MAX_SECRET_BYTES / 2 + 1)));
    expect(big.code).toBe('SECRET_INVALID');
    expect((await failure(v.set('tok', ''))).message).toContain('is empty');
    for (const bad of ['', '-x', '.x', 'a/b', 'a b', 'x'.repeat(129), '__proto__']) expect((await failure(v.set(bad, 'v'))).code).toBe('SECRET_INVALID');
    expect(readFileSync(s.file)).toEqual(before);
    await v.set('x'.repeat(128), 'y'.repeat(MAX_SECRET_BYTES));
    expect((await v.get('x'.repeat(128)))!.length).toBe(MAX_SECRET_BYTES);
  });

  it('writes atomically: only the vault and the key are left, no temp or lock files', async () => {
    const s = scratch();
    const v = s.open();
    for (let i = 0; i < 5; i++) await v.set(`k${i}`, `${CANARY}${i}`);
    await Promise.all([v.set('p1', 'one'), v.set('p2', 'two'), v.remove('k0')]);
    expect(readdirSync(join(s.home, 'data'))).toEqual(['vault.json']);
    expect(readdirSync(join(s.home, 'config'))).toEqual(['vault.key']);
    expect((await v.list()).map((e) => e.name)).toEqual(['k1', 'k2', 'k3', 'k4', 'p1', 'p2']);
  });

  it('takes over the lock of a writer that was killed (its pid is gone), and waits for a live one', async () => {
    const s = scratch();
    const v = s.open();
    await v.set('a', 'one');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const lock = `${s.file}.lock`;
    writeFileSync(lock, `${dead}\n`);
    utimesSync(lock, new Date(Date.now() - 1000), new Date(Date.now() - 1000));
    const t0 = Date.now();
    await v.set('b', 'two');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(existsSync(lock)).toBe(false);
    // a live holder (this very test runner's parent) is waited for, not overridden
    writeFileSync(lock, `${process.ppid}\n`);
    utimesSync(lock, new Date(Date.now() - 1000), new Date(Date.now() - 1000));
    setTimeout(() => rmSync(lock, { force: true }), 300);
    await v.set('c', 'three');
    expect((await v.list()).map((e) => e.name)).toEqual(['a', 'b', 'c']);
  });

  describe('rotate', () => {
    it('moves from the key file to a passphrase: same values and dates, new key, new nonces', async () => {
      const s = scratch();
      await s.open().set('a', CANARY);
      await s.open().set('b', 'bee');
      const before = readJson(s.file);
      const r = await s.open().rotate({ kind: 'passphrase', passphrase: PASS, origin: 'NEW_PASS' });
      expect(r).toEqual({ entries: 2 });
      const after = readJson(s.file);
      expect(after.kdf.name).toBe('scrypt');
      expect(after.id).toBe(before.id);
      expect(after.entries.a!.nonce).not.toBe(before.entries.a!.nonce);
      expect(after.entries.a!.createdAt).toBe(before.entries.a!.createdAt);
      expect(after.entries.a!.updatedAt).toBe(before.entries.a!.updatedAt);
      expect((await failure(s.open().get('a'))).message).toContain('is locked with a passphrase');
      const p = s.open({ CLAWPOD_VAULT_PASSPHRASE: PASS });
      expect(await p.get('a')).toBe(CANARY);
      expect(await p.get('b')).toBe('bee');
      // and back to a new key file
      const key = join(s.home, 'new.key');
      await p.rotate({ kind: 'key-file', path: key, origin: '--new-key-file' });
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(await s.open({ CLAWPOD_VAULT_KEY_FILE: key }).get('a')).toBe(CANARY);
      expect((await failure(s.open({ CLAWPOD_VAULT_PASSPHRASE: PASS }).get('a'))).code).toBe('VAULT_LOCKED');
    });

    it('replaces the key file in place, and finishes a rotation cut short', async () => {
      const s = scratch();
      const v = s.open();
      await v.set('a', CANARY);
      const oldKey = readFileSync(s.keyFile);
      const saved = join(s.home, 'old.key');
      copyFileSync(s.keyFile, saved);
      await v.rotate({ kind: 'key-file', path: s.keyFile, origin: 'the default key file' });
      expect(readFileSync(s.keyFile)).not.toEqual(oldKey);
      expect(existsSync(`${s.keyFile}.new`)).toBe(false);
      expect(statSync(s.keyFile).mode & 0o777).toBe(0o600);
      expect(await v.get('a')).toBe(CANARY);
      expect(await s.open().get('a')).toBe(CANARY);
      expect((await failure(s.open({ CLAWPOD_VAULT_KEY_FILE: saved }).get('a'))).code).toBe('VAULT_LOCKED');
      // a crash between writing the vault and renaming KEY.new: the old key is still in place
      copyFileSync(s.keyFile, `${s.keyFile}.new`);
      copyFileSync(saved, s.keyFile);
      expect(await s.open().get('a')).toBe(CANARY);
      expect(existsSync(`${s.keyFile}.new`)).toBe(false);
      expect(s.said.join('\n')).toContain('finished an interrupted key rotation');
    });

    it('refuses when an entry fails authentication, and changes nothing', async () => {
      const s = scratch();
      await s.open().set('a', CANARY);
      const j = readJson(s.file);
      j.entries.a!.tag = flip(j.entries.a!.tag!);
      writeJson(s.file, j);
      const text = readFileSync(s.file, 'utf8');
      expect((await failure(s.open().rotate({ kind: 'passphrase', passphrase: PASS, origin: 'X' }))).code).toBe('VAULT_TAMPERED');
      expect(readFileSync(s.file, 'utf8')).toBe(text);
    });
  });

  describe('source vault', () => {
    const ctx = (s: ReturnType<typeof scratch>) => ({ specDir: s.home, config: s.config });

    it('resolves an entry, or a field of a JSON entry', async () => {
      const s = scratch();
      await s.open().set('tok', CANARY);
      await s.open().set('creds', JSON.stringify({ user: 'u', password: CANARY }));
      expect(await resolveRef('vault', { name: 'tok' }, 'spec.secrets[0] (TOKEN)', ctx(s))).toBe(CANARY);
      expect(await resolveRef('vault', { name: 'creds', key: 'password' }, 'x', ctx(s))).toBe(CANARY);
    });

    it('says how to add a missing entry; never shows a value', async () => {
      const s = scratch();
      await s.open().set('tok', CANARY);
      const missing = await failure(resolveRef('vault', { name: 'nope' }, 'spec.secrets[0] (TOKEN)', ctx(s)));
      expect(missing.code).toBe('SECRET_MISSING');
      expect(missing.message).toBe(`spec.secrets[0] (TOKEN) (vault nope): no entry "nope" in the vault ${s.file}`);
      expect(missing.hint).toBe('clawpod secret set nope');
      const notJson = await failure(resolveRef('vault', { name: 'tok', key: 'f' }, 'x', ctx(s)));
      expect(notJson.code).toBe('SECRET_INVALID');
      await s.open().set('creds', JSON.stringify({ user: 'u' }));
      expect((await failure(resolveRef('vault', { name: 'creds', key: 'password' }, 'x', ctx(s)))).message).toContain('no non-empty string field "password"');
      const locked = await failure(resolveRef('vault', { name: 'tok' }, 'spec.secrets[0] (TOKEN)', { specDir: s.home, config: loadConfig({ HOME: s.home, CLAWPOD_DATA_DIR: join(s.home, 'data'), CLAWPOD_CONFIG_DIR: join(s.home, 'config'), CLAWPOD_VAULT_PASSPHRASE: PASS }) }));
      expect(locked.code).toBe('VAULT_LOCKED');
      expect(locked.message).toMatch(/^spec\.secrets\[0\] \(TOKEN\) \(vault tok\): the vault .* is locked with a key file/);
    });
  });
});
