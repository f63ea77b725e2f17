// SecretRef source `vault`: secretRef.name is an entry of the encrypted vault (src/secrets/vault.ts);
// secretRef.key, when given, picks a string field of a JSON object stored in that entry.
import { ClawpodError, isClawpodError } from '../../errors.js';
import { openVault } from '../vault.js';
import type { SecretSource } from './types.js';

export const vaultSource: SecretSource = {
  name: 'vault',
  async resolve(ref, ctx) {
    let value: string | undefined;
    try {
      value = await openVault(ctx.config).get(ref.name);
    } catch (e) {
      // vault errors name the file; say which ref needed it too
      if (isClawpodError(e)) throw new ClawpodError(e.code, `${ctx.where}: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), details: e.details });
      throw e;
    }
    if (value === undefined) {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: no entry "${ref.name}" in the vault ${ctx.config.vaultFile}`, { hint: `clawpod secret set ${ref.name}` });
    }
    if (ref.key === undefined) return value;
    let obj: unknown;
    // JSON.parse's message quotes the text it choked on: never pass it on
    try { obj = JSON.parse(value); } catch { obj = undefined; }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new ClawpodError('SECRET_INVALID', `${ctx.where}: the vault entry "${ref.name}" is not a JSON object, so secretRef.key cannot pick a field from it`, {
        hint: `drop secretRef.key, or store a JSON object: clawpod secret set ${ref.name} < fields.json`,
      });
    }
    const field = Object.hasOwn(obj, ref.key) ? (obj as Record<string, unknown>)[ref.key] : undefined;
    if (typeof field !== 'string' || field === '') {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: the vault entry "${ref.name}" has no non-empty string field "${ref.key}"`, {
        hint: `clawpod secret set ${ref.name} with a JSON object holding "${ref.key}"`,
      });
    }
    return field;
  },
};
