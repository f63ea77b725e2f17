import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ClawpodError } from '../../errors.js';
import { MAX_SECRET_BYTES } from '../limits.js';
import type { SecretSource } from './types.js';

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

export const fileSource: SecretSource = {
  name: 'file',
  async resolve(ref, ctx) {
    const path = isAbsolute(ref.name) ? ref.name : resolve(ctx.specDir, ref.name);
    let size: number;
    try { size = statSync(path).size; } catch {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: cannot read ${path}`, { hint: 'create the file (mode 0600) or fix secretRef.name' });
    }
    if (size > MAX_SECRET_BYTES) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: ${path} is ${size} bytes, more than the ${MAX_SECRET_BYTES}-byte limit`, { hint: 'point secretRef at a file holding just the secret' });
    const text = readFileSync(path, 'utf8');
    const value = ref.key === undefined ? text.replace(/\r?\n$/, '') : fromKeyValueText(text, ref.key);
    if (value === undefined || value === '') {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: ${ref.key ? `no entry "${ref.key}" in ${path}` : `${path} is empty`}`, {
        hint: ref.key ? 'the file must be a JSON object or KEY=VALUE lines holding that key' : 'put the secret in the file',
      });
    }
    return value;
  },
};
