// `clawpod secret set|get|list|rm|rotate`: the encrypted vault (src/secrets/vault.ts) that a
// spec reads with `source: vault`. `get` is the one place a value is shown, and only to a pipe
// or a file unless --show: a value printed on a terminal ends up in scrollback and screen shares.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ClawpodError } from '../errors.js';
import { MAX_SECRET_BYTES } from '../secrets/limits.js';
import { defaultKeyFile, keySourceFromConfig, openVault, type KeySource } from '../secrets/vault.js';

const vaultOf = (ctx: Ctx) => openVault(ctx.config, { say: (s) => ctx.say(s) });
/** `echo token | clawpod secret set x` stores "token": one trailing newline is dropped. */
const chomp = (s: string) => s.replace(/\r?\n$/, '');
const tooLarge = (what: string) => new ClawpodError('SECRET_INVALID', `${what} is more than ${MAX_SECRET_BYTES} bytes; nothing was written`, { hint: 'secrets are keys and tokens, not documents' });

export async function set(ctx: Ctx, name: string, opts: { fromFile?: string; fromEnv?: string }): Promise<void> {
  if (opts.fromFile !== undefined && opts.fromEnv !== undefined) throw new ClawpodError('USAGE', '--from-file and --from-env both given', { hint: 'give one of them, or neither to read stdin' });
  const vault = vaultOf(ctx);
  const value = opts.fromFile !== undefined ? fromFile(opts.fromFile)
    : opts.fromEnv !== undefined ? fromEnv(ctx, opts.fromEnv)
    : process.stdin.isTTY ? await promptHidden(`value for ${name} (not echoed): `)
    : await fromStdin();
  const r = await vault.set(name, value);
  if (ctx.json) ctx.printJson({ name, created: r.created, vault: vault.path });
  else ctx.print(name);
}

export async function get(ctx: Ctx, name: string, opts: { show?: boolean }): Promise<void> {
  const tty = process.stdout.isTTY === true;
  if (tty && !opts.show) {
    throw new ClawpodError('USAGE', `refusing to print the secret "${name}" on a terminal`, { hint: `pipe it (clawpod secret get ${name} | ...), or add --show to see it` });
  }
  const vault = vaultOf(ctx);
  const value = await vault.get(name);
  if (value === undefined) throw new ClawpodError('SECRET_MISSING', `no entry "${name}" in the vault ${vault.path}`, { hint: `clawpod secret set ${name}` });
  if (ctx.json) ctx.printJson({ name, value });
  // byte-exact into a pipe or file; a newline after it on a terminal
  else process.stdout.write(tty ? `${value}\n` : value);
}

export async function list(ctx: Ctx): Promise<void> {
  const vault = vaultOf(ctx);
  const entries = await vault.list();
  if (ctx.json) { ctx.printJson(entries); return; }
  if (entries.length === 0) { ctx.say(`no entries in the vault ${vault.path} (clawpod secret set NAME adds one)`); return; }
  ctx.print(table([['NAME', 'CREATED', 'UPDATED'], ...entries.map((e) => [e.name, e.createdAt, e.updatedAt])]));
}

export async function rm(ctx: Ctx, name: string): Promise<void> {
  const vault = vaultOf(ctx);
  if (!(await vault.remove(name))) throw new ClawpodError('SECRET_MISSING', `no entry "${name}" in the vault ${vault.path}`, { hint: 'clawpod secret list shows the entries' });
  if (ctx.json) ctx.printJson({ name, removed: true });
  else ctx.print(name);
}

/** Without flags: a new random key in place of the current key file. */
export async function rotate(ctx: Ctx, opts: { newKeyFile?: string; newPassphraseEnv?: string }): Promise<void> {
  if (opts.newKeyFile !== undefined && opts.newPassphraseEnv !== undefined) throw new ClawpodError('USAGE', '--new-key-file and --new-passphrase-env both given', { hint: 'the vault is locked with one or the other: give one' });
  const current = keySourceFromConfig(ctx.config);
  let next: KeySource;
  if (opts.newPassphraseEnv !== undefined) {
    const passphrase = ctx.config.secretEnv[opts.newPassphraseEnv];
    if (!passphrase) throw new ClawpodError('SECRET_MISSING', `the environment variable ${opts.newPassphraseEnv} (--new-passphrase-env) is not set`, { hint: `export ${opts.newPassphraseEnv}=... with the new passphrase` });
    next = { kind: 'passphrase', passphrase, origin: opts.newPassphraseEnv };
  } else if (opts.newKeyFile !== undefined) {
    next = { kind: 'key-file', path: resolve(opts.newKeyFile), origin: '--new-key-file' };
  } else if (current.kind === 'key-file') {
    next = current;
  } else {
    throw new ClawpodError('USAGE', 'the vault is locked with a passphrase: say what the new key is', { hint: 'clawpod secret rotate --new-passphrase-env VAR (or --new-key-file FILE)' });
  }
  const r = await openVault(ctx.config, { source: current, say: (s) => ctx.say(s) }).rotate(next);
  const now = next.kind === 'passphrase' ? `export CLAWPOD_VAULT_PASSPHRASE="$${opts.newPassphraseEnv}" and unset CLAWPOD_VAULT_KEY_FILE`
    : next.path === defaultKeyFile(ctx.config) ? 'unset CLAWPOD_VAULT_PASSPHRASE and CLAWPOD_VAULT_KEY_FILE (the default key file is used)'
    : `export CLAWPOD_VAULT_KEY_FILE=${next.path} and unset CLAWPOD_VAULT_PASSPHRASE`;
  if (ctx.json) { ctx.printJson({ entries: r.entries, key: next.kind === 'passphrase' ? { passphraseEnv: opts.newPassphraseEnv } : { keyFile: next.path } }); return; }
  ctx.print(`re-encrypted ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} under the new ${next.kind === 'passphrase' ? 'passphrase' : `key ${next.path}`}`);
  const changed = next.kind !== current.kind || (next.kind === 'key-file' && current.kind === 'key-file' && next.path !== current.path) || next.kind === 'passphrase';
  if (changed) ctx.say(`from now on: ${now}; restart a running clawpod serve so that it uses the new key`);
  if (current.kind === 'key-file' && (next.kind !== 'key-file' || next.path !== current.path)) ctx.say(`the old key file ${current.path} no longer opens this vault (it still opens older copies of it)`);
}

function fromFile(file: string): string {
  let size: number;
  try { size = statSync(file).size; } catch { throw new ClawpodError('FILE_NOT_FOUND', `cannot read ${file} (--from-file)`, { hint: 'check the path' }); }
  if (size > MAX_SECRET_BYTES + 2) throw tooLarge(`${file} (${size} bytes)`);
  return chomp(readFileSync(file, 'utf8'));
}

function fromEnv(ctx: Ctx, name: string): string {
  const value = ctx.config.secretEnv[name];
  if (value === undefined || value === '') throw new ClawpodError('SECRET_MISSING', `the environment variable ${name} (--from-env) is not set`, { hint: `export ${name}=... first` });
  return value;
}

/** All of stdin, but never more than the limit (plus a newline) in memory. */
async function fromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_SECRET_BYTES + 2) { process.stdin.destroy(); throw tooLarge('the value on stdin'); }
    chunks.push(chunk);
  }
  return chomp(Buffer.concat(chunks).toString('utf8'));
}

/** A line read from the terminal without echo (raw mode); Ctrl-C cancels. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // echo off before the prompt shows: what is typed as soon as it appears must not be echoed
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((res, rej) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) rej(err); else res(value);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') { finish(); return; }
        if (ch === '\u0003') { finish(new ClawpodError('USAGE', 'cancelled; nothing was written')); return; }
        value = ch === '\u007f' || ch === '\b' ? [...value].slice(0, -1).join('') : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}
