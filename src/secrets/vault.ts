// The encrypted secrets vault: one JSON file (default dataDir/vault.json) of AES-256-GCM entries
// under a key read from a key file (default configDir/vault.key) or derived from a passphrase
// (scrypt). What matters is authenticated: an entry's name and timestamps are its GCM AAD, a MAC
// over the header catches a changed format/version/kdf/id, and a MAC over the whole file catches
// an entry removed, swapped or copied from elsewhere. Errors name the file, the header or the
// entry, never a value. The file format is documented in docs/configuration.md ("Vault").
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { MAX_SECRET_BYTES } from './limits.js';

export const VAULT_FORMAT = 'clawpod-vault';
export const VAULT_VERSION = 1;
export const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** OWASP's scrypt setting: ~0.5 s and 128 MiB per derivation, once per process (keys are cached). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

export interface ScryptParams { readonly N: number; readonly r: number; readonly p: number }

/** Where the key comes from; `origin` names it in messages (an env var or a flag). */
export type KeySource =
  | { readonly kind: 'passphrase'; readonly passphrase: string; readonly origin: string }
  | { readonly kind: 'key-file'; readonly path: string; readonly origin: string };

export interface VaultEntryInfo { readonly name: string; readonly createdAt: string; readonly updatedAt: string }

export interface Vault {
  readonly path: string;
  /** The value, or undefined when there is no such entry (or no vault yet). */
  get(name: string): Promise<string | undefined>;
  /** Creates the vault (and the default key file) on first use. */
  set(name: string, value: string): Promise<{ created: boolean }>;
  /** Names and timestamps, sorted by name; no values. */
  list(): Promise<VaultEntryInfo[]>;
  /** False when there was no such entry. */
  remove(name: string): Promise<boolean>;
  /** Re-encrypts every entry under a new key with new nonces, in one atomic write. */
  rotate(next: KeySource): Promise<{ entries: number }>;
}

export interface VaultOptions {
  /** Default: from config (CLAWPOD_VAULT_PASSPHRASE, CLAWPOD_VAULT_KEY_FILE, else configDir/vault.key). */
  readonly source?: KeySource;
  /** scrypt parameters of a new vault or a rotation to a passphrase (default DEFAULT_SCRYPT). */
  readonly scrypt?: ScryptParams;
  /** Notices for the user (a key file created), on stderr in the CLI. */
  readonly say?: (line: string) => void;
}

type Kdf = { name: 'scrypt'; N: number; r: number; p: number; salt: string } | { name: 'key-file' };
interface EntryRecord { nonce: string; ciphertext: string; tag: string; createdAt: string; updatedAt: string }
interface VaultFile {
  format: string; version: number; id: string; cipher: 'aes-256-gcm'; kdf: Kdf;
  keyCheck: string; headerMac: string; entries: Record<string, EntryRecord>; mac: string;
}
interface Keys { enc: Buffer; mac: Buffer; check: Buffer }
interface Opened { file: VaultFile; keys: Keys }

/** Entries keyed by user-chosen names live in prototype-less objects ("constructor" is a fine name). */
const noProto = <T>(from: Record<string, T> = {}): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, from);

const TAMPER_HINT = (path: string) => `restore ${path} from a backup; failing that, move it away and set the secrets again (clawpod secret set NAME)`;
const KEY_FILE_HINT = (path: string) => `head -c 32 /dev/urandom | base64 > ${path} && chmod 600 ${path}`;

export function defaultKeyFile(config: Config): string {
  return join(config.configDir, 'vault.key');
}

/** The key source the environment selects: a passphrase, a named key file, or the default key file. */
export function keySourceFromConfig(config: Config): KeySource {
  if (config.vaultPassphrase !== undefined && config.vaultKeyFile !== undefined) {
    throw new ClawpodError('USAGE', 'both CLAWPOD_VAULT_PASSPHRASE and CLAWPOD_VAULT_KEY_FILE are set', { hint: 'unset one of them: a vault is locked with either a passphrase or a key file' });
  }
  if (config.vaultPassphrase !== undefined) return { kind: 'passphrase', passphrase: config.vaultPassphrase, origin: 'CLAWPOD_VAULT_PASSPHRASE' };
  if (config.vaultKeyFile !== undefined) return { kind: 'key-file', path: config.vaultKeyFile, origin: 'CLAWPOD_VAULT_KEY_FILE' };
  return { kind: 'key-file', path: defaultKeyFile(config), origin: 'the default key file' };
}

// scrypt takes ~0.5 s, so a derived key is kept for the life of the process (the control plane
// reads entries on every session start). Keyed by a hash of the parameters and the passphrase.
const derived = new Map<string, Buffer>();

async function masterFromPassphrase(passphrase: string, kdf: Extract<Kdf, { name: 'scrypt' }>): Promise<Buffer> {
  const id = createHash('sha256').update(JSON.stringify([kdf.N, kdf.r, kdf.p, kdf.salt])).update(passphrase.normalize('NFC')).digest('base64');
  const hit = derived.get(id);
  if (hit) return hit;
  const key = await new Promise<Buffer>((res, rej) => {
    scrypt(passphrase.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r * kdf.p }, (e, k) => (e ? rej(e) : res(k)));
  });
  if (derived.size >= 16) derived.clear();
  derived.set(id, key);
  return key;
}

/** 32 bytes, raw or base64; the file must be the user's own and closed to group and others. */
function readKeyFile(path: string, uid: number): Buffer | undefined {
  let st;
  try { st = statSync(path); } catch { return undefined; }
  if (!st.isFile()) throw new ClawpodError('VAULT_LOCKED', `the vault key file ${path} is not a regular file`, { hint: KEY_FILE_HINT(path) });
  if ((st.mode & 0o077) !== 0) {
    throw new ClawpodError('VAULT_LOCKED', `the vault key file ${path} is open to group or others (mode 0${(st.mode & 0o777).toString(8)}); refusing to use it`, { hint: `chmod 600 ${path}` });
  }
  if (uid !== 0 && st.uid !== uid) throw new ClawpodError('VAULT_LOCKED', `the vault key file ${path} belongs to uid ${st.uid}, not to you (uid ${uid})`, { hint: `chown ${uid} ${path}` });
  const raw = readFileSync(path);
  if (raw.length === 32) return raw;
  const text = raw.toString('latin1').trim();
  const key = /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== 32) throw new ClawpodError('VAULT_LOCKED', `the vault key file ${path} does not hold a key: expected 32 random bytes, raw or base64`, { hint: KEY_FILE_HINT(path) });
  return key;
}

function createKeyFile(path: string, say?: (line: string) => void): Buffer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeAtomic(path, `${key.toString('base64')}\n`);
  say?.(`created the vault key ${path} (mode 0600): back it up, the vault cannot be opened without it`);
  return key;
}

function subkeys(master: Buffer): Keys {
  const d = (info: string, len: number) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `clawpod-vault v1 ${info}`, len));
  return { enc: d('aes-256-gcm', 32), mac: d('hmac-sha256', 32), check: d('key-check', 16) };
}

function kdfTuple(k: Kdf): unknown[] {
  return k.name === 'scrypt' ? ['scrypt', k.N, k.r, k.p, k.salt] : ['key-file'];
}
function headerMacOf(keys: Keys, f: VaultFile): string {
  return createHmac('sha256', keys.mac).update(JSON.stringify(['header', f.format, f.version, f.id, f.cipher, kdfTuple(f.kdf), f.keyCheck])).digest('base64');
}
function fileMacOf(keys: Keys, f: VaultFile): string {
  const entries = Object.keys(f.entries).sort().map((n) => { const e = f.entries[n]!; return [n, e.createdAt, e.updatedAt, e.nonce, e.tag, e.ciphertext]; });
  return createHmac('sha256', keys.mac).update(JSON.stringify(['file', f.headerMac, entries])).digest('base64');
}
function aad(f: VaultFile, name: string, e: EntryRecord): Buffer {
  return Buffer.from(JSON.stringify([f.format, f.version, f.id, name, e.createdAt, e.updatedAt]));
}
function sameB64(a: string, b: string): boolean {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  return x.length === y.length && timingSafeEqual(x, y);
}

function encrypt(keys: Keys, f: VaultFile, name: string, value: string, createdAt: string, updatedAt: string): EntryRecord {
  const nonce = randomBytes(12);
  const e: EntryRecord = { nonce: nonce.toString('base64'), ciphertext: '', tag: '', createdAt, updatedAt };
  const c = createCipheriv('aes-256-gcm', keys.enc, nonce).setAAD(aad(f, name, e));
  e.ciphertext = Buffer.concat([c.update(value, 'utf8'), c.final()]).toString('base64');
  e.tag = c.getAuthTag().toString('base64');
  return e;
}
function decrypt(keys: Keys, f: VaultFile, name: string): string | undefined {
  const e = f.entries[name]!;
  try {
    const d = createDecipheriv('aes-256-gcm', keys.enc, Buffer.from(e.nonce, 'base64')).setAAD(aad(f, name, e)).setAuthTag(Buffer.from(e.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(e.ciphertext, 'base64')), d.final()]).toString('utf8');
  } catch { return undefined; }
}

/** Temp file in the same folder, fsync, rename, fsync the folder: a reader sees the old file or the new one. */
function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try { writeSync(fd, text); fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const dir = openSync(dirname(path), 'r');
  try { fsyncSync(dir); } finally { closeSync(dir); }
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Shape checks only; authenticity is checked once the key is known. */
function parseFile(text: string, path: string): VaultFile {
  const bad = (what: string): never => { throw new ClawpodError('VAULT_TAMPERED', `the vault ${path} is damaged: ${what}`, { hint: TAMPER_HINT(path) }); };
  let f: Record<string, unknown>;
  try { f = JSON.parse(text) as Record<string, unknown>; } catch { return bad('not valid JSON'); }
  if (typeof f !== 'object' || f === null || Array.isArray(f) || f.format !== VAULT_FORMAT) return bad(`not a ${VAULT_FORMAT} file`);
  if (f.version !== VAULT_VERSION) {
    throw new ClawpodError('SECRET_INVALID', `the vault ${path} has format version ${JSON.stringify(f.version)}; this clawpod reads version ${VAULT_VERSION}`, { hint: 'use the clawpod that wrote it, or upgrade clawpod' });
  }
  const extra = Object.keys(f).filter((k) => !['format', 'version', 'id', 'cipher', 'kdf', 'keyCheck', 'headerMac', 'entries', 'mac'].includes(k));
  if (extra.length) bad(`unexpected header field ${extra.join(', ')}`);
  for (const k of ['id', 'keyCheck', 'headerMac', 'mac'] as const) if (typeof f[k] !== 'string' || !B64.test(f[k] as string)) bad(`header field ${k} is missing or not base64`);
  if (f.cipher !== 'aes-256-gcm') bad('header field cipher is not aes-256-gcm');
  const kdf = f.kdf as Record<string, unknown> | null;
  if (kdf?.name === 'scrypt') {
    const { N, r, p, salt } = kdf as { N: number; r: number; p: number; salt: unknown };
    const ok = Number.isInteger(N) && N >= 2 ** 14 && N <= 2 ** 20 && (N & (N - 1)) === 0 && Number.isInteger(r) && r >= 1 && r <= 32
      && Number.isInteger(p) && p >= 1 && p <= 16 && 128 * N * r * p <= 2 ** 30 && typeof salt === 'string' && B64.test(salt) && Buffer.from(salt, 'base64').length >= 16;
    if (!ok || Object.keys(kdf).length !== 5) bad('header field kdf has parameters out of range');
  } else if (kdf?.name !== 'key-file' || Object.keys(kdf).length !== 1) bad('header field kdf is neither scrypt nor key-file');
  const entries = f.entries as Record<string, Record<string, unknown>> | null;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return bad('entries is not an object');
  for (const [name, e] of Object.entries(entries)) {
    const fields = ['nonce', 'ciphertext', 'tag', 'createdAt', 'updatedAt'];
    const shaped = ENTRY_NAME.test(name) && typeof e === 'object' && e !== null && Object.keys(e).length === fields.length
      && fields.every((k) => typeof e[k] === 'string') && B64.test(e.nonce as string) && B64.test(e.ciphertext as string) && B64.test(e.tag as string)
      && Buffer.from(e.nonce as string, 'base64').length === 12 && Buffer.from(e.tag as string, 'base64').length === 16
      && ISO.test(e.createdAt as string) && ISO.test(e.updatedAt as string);
    if (!shaped) bad(`entry "${name}" is malformed`);
  }
  return { ...(f as unknown as VaultFile), entries: noProto(entries as unknown as Record<string, EntryRecord>) };
}

/** Opens the vault at config.vaultFile (nothing is read until a method is called). */
export function openVault(config: Config, opts: VaultOptions = {}): Vault {
  const path = config.vaultFile;
  let source = opts.source;
  const currentSource = () => (source ??= keySourceFromConfig(config));
  const scryptParams = opts.scrypt ?? DEFAULT_SCRYPT;

  function read(): VaultFile | undefined {
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ClawpodError('SECRET_INVALID', `cannot read the vault ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: `check the permissions of ${path}` });
    }
    return parseFile(text, path);
  }

  async function newKdf(src: KeySource): Promise<{ kdf: Kdf; master: Buffer }> {
    if (src.kind === 'passphrase') {
      if (src.passphrase.length < 8) throw new ClawpodError('SECRET_INVALID', `the passphrase from ${src.origin} is shorter than 8 characters`, { hint: 'use a long passphrase (several words), or a key file' });
      const kdf = { name: 'scrypt' as const, ...scryptParams, salt: randomBytes(16).toString('base64') };
      return { kdf, master: await masterFromPassphrase(src.passphrase, kdf) };
    }
    return { kdf: { name: 'key-file' }, master: readKeyFile(src.path, config.uid) ?? createKeyFile(src.path, opts.say) };
  }

  /** The master key for an existing file; a wrong key or a mismatched kind is VAULT_LOCKED. */
  async function unlock(f: VaultFile): Promise<Keys> {
    const src = currentSource();
    if (f.kdf.name === 'scrypt') {
      if (src.kind !== 'passphrase') throw new ClawpodError('VAULT_LOCKED', `the vault ${path} is locked with a passphrase`, { hint: 'export CLAWPOD_VAULT_PASSPHRASE=... (the passphrase it was created or last rotated with)' });
      const keys = subkeys(await masterFromPassphrase(src.passphrase, f.kdf));
      if (sameB64(keys.check.toString('base64'), f.keyCheck)) return keys;
      throw new ClawpodError('VAULT_LOCKED', `the passphrase in ${src.origin} does not open the vault ${path} (wrong passphrase, or the kdf parameters in its header were changed)`, {
        hint: `export ${src.origin} with the passphrase the vault was created or last rotated with`,
      });
    }
    if (src.kind !== 'key-file') throw new ClawpodError('VAULT_LOCKED', `the vault ${path} is locked with a key file, but ${src.origin} is set`, { hint: 'unset CLAWPOD_VAULT_PASSPHRASE (and set CLAWPOD_VAULT_KEY_FILE if the key is not at the default place)' });
    const master = readKeyFile(src.path, config.uid);
    if (!master) throw new ClawpodError('VAULT_LOCKED', `the vault key file ${src.path} (${src.origin}) does not exist`, { hint: `restore it from your backup, or set CLAWPOD_VAULT_KEY_FILE to where the vault's key is` });
    const keys = subkeys(master);
    if (sameB64(keys.check.toString('base64'), f.keyCheck)) return keys;
    // a rotation in place writes KEY.new, then the vault, then renames KEY.new: finish one cut short
    const pending = readKeyFile(`${src.path}.new`, config.uid);
    if (pending && sameB64(subkeys(pending).check.toString('base64'), f.keyCheck)) {
      if (renameQuietly(`${src.path}.new`, src.path)) opts.say?.(`finished an interrupted key rotation: ${src.path}.new is now ${src.path}`);
      return subkeys(pending);
    }
    throw new ClawpodError('VAULT_LOCKED', `the key file ${src.path} (${src.origin}) does not open the vault ${path}`, { hint: 'set CLAWPOD_VAULT_KEY_FILE to the key file the vault was created or last rotated with' });
  }

  /** Reads, unlocks and authenticates the whole file; names the header or the entry that changed. */
  async function load(): Promise<Opened | undefined> {
    const file = read();
    if (!file) return undefined;
    const keys = await unlock(file);
    const tampered = (what: string) => new ClawpodError('VAULT_TAMPERED', `the vault ${path} was changed outside clawpod: ${what}`, { hint: TAMPER_HINT(path) });
    if (!sameB64(headerMacOf(keys, file), file.headerMac)) throw tampered('its header (format, version, id, cipher, kdf) does not match its MAC');
    if (!sameB64(fileMacOf(keys, file), file.mac)) {
      const bad = Object.keys(file.entries).sort().find((n) => decrypt(keys, file, n) === undefined);
      throw tampered(bad ? `entry "${bad}" fails authentication (its value, nonce, tag, name or timestamps changed, or it was moved)` : 'the list of entries does not match its MAC (an entry was removed, added or rolled back)');
    }
    return { file, keys };
  }

  function save(o: Opened): void {
    o.file.headerMac = headerMacOf(o.keys, o.file);
    o.file.mac = fileMacOf(o.keys, o.file);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { format, version, id, cipher, kdf, keyCheck, headerMac, entries, mac } = o.file;
    writeAtomic(path, `${JSON.stringify({ format, version, id, cipher, kdf, keyCheck, headerMac, entries, mac }, null, 2)}\n`);
  }

  async function create(): Promise<Opened> {
    const { kdf, master } = await newKdf(currentSource());
    const keys = subkeys(master);
    const file: VaultFile = { format: VAULT_FORMAT, version: VAULT_VERSION, id: randomBytes(16).toString('base64'), cipher: 'aes-256-gcm', kdf, keyCheck: keys.check.toString('base64'), headerMac: '', entries: noProto(), mac: '' };
    return { file, keys };
  }

  return {
    path,
    async get(name) {
      checkName(name);
      const o = await load();
      if (!o?.file.entries[name]) return undefined;
      const value = decrypt(o.keys, o.file, name);
      if (value === undefined) throw new ClawpodError('VAULT_TAMPERED', `the vault ${path} was changed outside clawpod: entry "${name}" fails authentication`, { hint: TAMPER_HINT(path) });
      return value;
    },
    async set(name, value) {
      checkName(name);
      checkValue(name, value);
      return withLock(path, async () => {
        const o = (await load()) ?? (await create());
        const now = new Date().toISOString();
        const before = o.file.entries[name];
        o.file.entries[name] = encrypt(o.keys, o.file, name, value, before?.createdAt ?? now, now);
        save(o);
        return { created: before === undefined };
      });
    },
    async list() {
      const o = await load();
      if (!o) return [];
      return Object.keys(o.file.entries).sort().map((name) => ({ name, createdAt: o.file.entries[name]!.createdAt, updatedAt: o.file.entries[name]!.updatedAt }));
    },
    async remove(name) {
      checkName(name);
      return withLock(path, async () => {
        const o = await load();
        if (!o?.file.entries[name]) return false;
        delete o.file.entries[name];
        save(o);
        return true;
      });
    },
    async rotate(next) {
      return withLock(path, async () => {
        const o = await load();
        if (!o) throw new ClawpodError('SECRET_MISSING', `there is no vault at ${path} to rotate`, { hint: 'clawpod secret set NAME creates it' });
        const values = new Map<string, string>();
        for (const n of Object.keys(o.file.entries)) {
          const v = decrypt(o.keys, o.file, n);
          if (v === undefined) throw new ClawpodError('VAULT_TAMPERED', `the vault ${path} was changed outside clawpod: entry "${n}" fails authentication; nothing was rotated`, { hint: TAMPER_HINT(path) });
          values.set(n, v);
        }
        const cur = currentSource();
        // a new key at the current key file's path goes to KEY.new until the vault is written
        const inPlace = next.kind === 'key-file' && cur.kind === 'key-file' && next.path === cur.path ? next.path : undefined;
        const pending = inPlace === undefined ? undefined : `${inPlace}.new`;
        if (pending) { rmSync(pending, { force: true }); createKeyFile(pending); }
        const { kdf, master } = await newKdf(pending ? { kind: 'key-file', path: pending, origin: next.origin } : next);
        const keys = subkeys(master);
        const file: VaultFile = { ...o.file, kdf, keyCheck: keys.check.toString('base64'), entries: noProto() };
        for (const [n, v] of values) file.entries[n] = encrypt(keys, file, n, v, o.file.entries[n]!.createdAt, o.file.entries[n]!.updatedAt);
        save({ file, keys });
        if (inPlace && pending) renameQuietly(pending, inPlace);
        source = next;
        return { entries: values.size };
      });
    },
  };
}

/** False when `from` is gone: a reader that saw the new vault first has already renamed it (see unlock). */
function renameQuietly(from: string, to: string): boolean {
  try { renameSync(from, to); return true; } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function checkName(name: string): void {
  if (!ENTRY_NAME.test(name)) {
    throw new ClawpodError('SECRET_INVALID', `${JSON.stringify(name.slice(0, 140))} is not a vault entry name`, { hint: 'use letters, digits, ".", "_", "-", starting with a letter or digit, at most 128 characters' });
  }
}

function checkValue(name: string, value: string): void {
  const bytes = Buffer.byteLength(value);
  if (bytes === 0) throw new ClawpodError('SECRET_INVALID', `the value for "${name}" is empty; nothing was written`, { hint: 'give a non-empty value on stdin, with --from-file or --from-env' });
  if (bytes > MAX_SECRET_BYTES) {
    throw new ClawpodError('SECRET_INVALID', `the value for "${name}" is ${bytes} bytes, more than the ${MAX_SECRET_BYTES}-byte limit; nothing was written`, { hint: 'secrets are keys and tokens, not documents' });
  }
}

/** The writer a lock names is gone: a clawpod killed while it wrote (kill -9, a crash). */
function holderGone(lock: string): boolean {
  let pid = 0;
  try { pid = Number(readFileSync(lock, 'utf8').trim()); } catch { return false; }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try { process.kill(pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ESRCH'; }
}

/**
 * One writer at a time: PATH.lock, created exclusively, holding the writer's pid. A lock whose
 * writer is no longer running, or older than 30 s, is stale and taken over.
 */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let waited = 0; ; waited += 50) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      try { writeSync(fd, `${process.pid}\n`); } finally { closeSync(fd); }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let age = 0;
      try { age = Date.now() - statSync(lock).mtimeMs; } catch { continue; }
      // a lock just made may not hold its pid yet: only one old enough to have it is judged by it
      if (age > 30_000 || (age > 200 && holderGone(lock))) { rmSync(lock, { force: true }); continue; }
      if (waited >= 10_000) throw new ClawpodError('VAULT_BUSY', `another clawpod is writing the vault ${path} (lock ${lock})`, { hint: `try again; if no clawpod is running, rm ${lock}` });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try { return await fn(); } finally { rmSync(lock, { force: true }); }
}
