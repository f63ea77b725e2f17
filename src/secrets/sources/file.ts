// Source `file`: a file of the host, only under an allowed root of the host's mount allowlist
// (src/security/source-allowlist.ts): the whole file, or one entry of a JSON object / .env text.
import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ClawpodError } from '../../errors.js';
import { checkSecretFile } from '../../security/source-allowlist.js';
import { MAX_SECRET_BYTES } from '../limits.js';
import type { SecretSource, SourceContext } from './types.js';

/** One entry of a JSON object or of KEY=VALUE lines (a .env file). */
export function fromKeyValueText(text: string, key: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try { obj = JSON.parse(trimmed); } catch { return undefined; }
    const v = (obj as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : undefined;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)\s*$/.exec(line);
    if (m && m[1] === key) return m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return undefined;
}

/**
 * Reads the file the allowlist check passed, and nothing else: the descriptor's own path must be
 * the checked one (a link swapped in between would change it), and only a regular file is opened.
 */
function readChecked(path: string, ctx: SourceContext): string {
  const missing = () => new ClawpodError('SECRET_MISSING', `${ctx.where}: cannot read ${path}`, { hint: 'create the file (mode 0600) or fix secretRef.name' });
  const target = checkSecretFile(path, ctx);
  if (!target) throw missing();
  if (!statSync(target).isFile()) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is not a regular file`, { hint: 'point secretRef.name at a file holding the secret' });
  let fd: number;
  try { fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch { throw missing(); }
  try {
    let opened = target;
    try { opened = readlinkSync(`/proc/self/fd/${fd}`); } catch { /* no /proc: the O_NOFOLLOW open stands */ }
    if (opened !== target) throw new ClawpodError('MOUNT_BLOCKED', `${ctx.where}: ${path} changed while it was read (it now leads to ${opened})`, { hint: 'make sure nothing rewrites the folder while clawpod starts an agent' });
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is not a regular file`, { hint: 'point secretRef.name at a file holding the secret' });
    if (st.size > MAX_SECRET_BYTES) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is ${st.size} bytes, more than the ${MAX_SECRET_BYTES}-byte limit`, { hint: 'point secretRef at a file holding just the secret' });
    return readFileSync(fd, 'utf8');
  } finally { closeSync(fd); }
}

export const fileSource: SecretSource = {
  name: 'file',
  async resolve(ref, ctx) {
    const path = isAbsolute(ref.name) ? ref.name : resolve(ctx.specDir, ref.name);
    const text = readChecked(path, ctx);
    const value = ref.key === undefined ? text.replace(/\r?\n$/, '') : fromKeyValueText(text, ref.key);
    if (value === undefined || value === '') {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: ${ref.key ? `no entry "${ref.key}" in ${path}` : `${path} is empty`}`, {
        hint: ref.key ? 'the file must be a JSON object or KEY=VALUE lines holding that key' : 'put the secret in the file',
      });
    }
    return value;
  },
};
