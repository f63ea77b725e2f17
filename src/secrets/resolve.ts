// Resolves a spec's SecretRefs to values. Errors name the ref and the source, never a value.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ClawpodError } from '../errors.js';
import type { SecretSpec } from '../spec/schema.js';

export const MAX_SECRET_BYTES = 64 * 1024;

export interface ResolvedSecret { readonly spec: SecretSpec; readonly value: string }

function describe(s: SecretSpec, i: number): string {
  return `spec.secrets[${i}] (${s.name}: ${s.source} ${s.secretRef.name}${s.secretRef.key ? `#${s.secretRef.key}` : ''})`;
}

function fromKeyValueText(text: string, key: string): string | undefined {
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

export function resolveSecrets(secrets: readonly SecretSpec[], ctx: { specDir: string; env: Readonly<Record<string, string | undefined>> }): ResolvedSecret[] {
  return secrets.map((s, i) => {
    let value: string | undefined;
    if (s.source === 'env') {
      value = ctx.env[s.secretRef.name];
      if (value === undefined || value === '') {
        throw new ClawpodError('SECRET_MISSING', `${describe(s, i)}: the environment variable ${s.secretRef.name} is not set`, { hint: `export ${s.secretRef.name}=... before running, or use source: file` });
      }
    } else {
      const path = isAbsolute(s.secretRef.name) ? s.secretRef.name : resolve(ctx.specDir, s.secretRef.name);
      let size: number;
      try { size = statSync(path).size; } catch {
        throw new ClawpodError('SECRET_MISSING', `${describe(s, i)}: cannot read ${path}`, { hint: 'create the file (mode 0600) or fix secretRef.name' });
      }
      if (size > MAX_SECRET_BYTES) throw new ClawpodError('SECRET_INVALID', `${describe(s, i)}: ${path} is ${size} bytes, more than the ${MAX_SECRET_BYTES}-byte limit`, { hint: 'point secretRef at a file holding just the secret' });
      const text = readFileSync(path, 'utf8');
      value = s.secretRef.key === undefined ? text.replace(/\r?\n$/, '') : fromKeyValueText(text, s.secretRef.key);
      if (value === undefined || value === '') {
        throw new ClawpodError('SECRET_MISSING', `${describe(s, i)}: ${s.secretRef.key ? `no entry "${s.secretRef.key}" in ${path}` : `${path} is empty`}`, {
          hint: s.secretRef.key ? 'the file must be a JSON object or KEY=VALUE lines holding that key' : 'put the secret in the file',
        });
      }
    }
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new ClawpodError('SECRET_INVALID', `${describe(s, i)}: the value is longer than ${MAX_SECRET_BYTES} bytes`, { hint: 'secrets are keys and tokens, not documents' });
    return { spec: s, value };
  });
}
