// Resolves SecretRefs to values through their sources (src/secrets/sources/). Errors name the
// ref and the source, never a value. Every resolved value is registered with the redactor.
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { SecretSpec } from '../spec/schema.js';
import { MAX_SECRET_BYTES } from './limits.js';
import { envSource } from './sources/env.js';
import { fileSource } from './sources/file.js';
import type { SecretRef, SecretSource } from './sources/types.js';
import { redactor } from './redact.js';

export { MAX_SECRET_BYTES } from './limits.js';

export interface ResolvedSecret { readonly spec: SecretSpec; readonly value: string }

/** Sources by the name a spec uses in `source:`; loaded on first use (exec and vault pull in more code). */
const SOURCES: Record<string, () => Promise<SecretSource>> = {
  env: async () => envSource,
  file: async () => fileSource,
  exec: () => import('./sources/exec.js').then((m) => m.execSource),
  podman: () => import('./sources/podman.js').then((m) => m.podmanSource),
  vault: () => import('./sources/vault.js').then((m) => m.vaultSource),
  kubernetes: () => import('./sources/kubernetes.js').then((m) => m.kubernetesSource),
};

export function describeRef(label: string, source: string, ref: SecretRef): string {
  return `${label} (${source} ${ref.name}${ref.key ? `#${ref.key}` : ''})`;
}

/** Resolves one ref; `label` says where it came from (`spec.secrets[0] (API_TOKEN)`, `spec.models.claude.apiKey`). */
export async function resolveRef(source: string, ref: SecretRef, label: string, ctx: { specDir: string; config: Config }): Promise<string> {
  const where = describeRef(label, source, ref);
  const load = SOURCES[source];
  if (!load) throw new ClawpodError('SECRET_INVALID', `${where}: unknown source ${source}`, { hint: `use one of: ${Object.keys(SOURCES).join(', ')}` });
  const value = await (await load()).resolve(ref, { where, specDir: ctx.specDir, config: ctx.config });
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new ClawpodError('SECRET_INVALID', `${where}: the value is longer than ${MAX_SECRET_BYTES} bytes`, { hint: 'secrets are keys and tokens, not documents' });
  redactor.add(/\(([^)]+)\)$/.exec(label)?.[1] ?? label, value); // `spec.secrets[0] (API_TOKEN)` → API_TOKEN
  return value;
}

export async function resolveSecrets(secrets: readonly SecretSpec[], ctx: { specDir: string; config: Config }): Promise<ResolvedSecret[]> {
  const out: ResolvedSecret[] = [];
  for (const [i, s] of secrets.entries()) {
    out.push({ spec: s, value: await resolveRef(s.source, s.secretRef, `spec.secrets[${i}] (${s.name})`, ctx) });
  }
  return out;
}
