// Source `podman`: the value of a Podman secret (`podman secret create NAME -`). The libpod API
// is asked first with showsecret=true (Podman ≥ 4.5 answers SecretData); Podman 4.3 ignores
// that parameter and returns metadata only, so for the default `file` driver the value is read
// from the store the API names (Spec.Driver.Options.path/secretsdata.json, base64 by secret ID).
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { ClawpodError } from '../../errors.js';
import { discoveryEnv } from '../../runtime/connect.js';
import { discover } from '../../runtime/discovery.js';
import { EngineClient } from '../../runtime/engine-client.js';
import type { SecretSource, SourceContext } from './types.js';

interface SecretInspect {
  readonly ID: string;
  readonly Spec?: { readonly Name?: string; readonly Driver?: { readonly Name?: string; readonly Options?: Record<string, string> } };
  /** Only with showsecret=true on Podman ≥ 4.5. */
  readonly SecretData?: string;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes like Go's encoding/json does for []byte (what `podman kube play` applies): standard alphabet, padded; newlines ignored. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n]/g, '');
  return STRICT_BASE64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

function text(bytes: Buffer, what: string): string {
  if (!isUtf8(bytes)) throw new ClawpodError('SECRET_INVALID', `${what} is not UTF-8 text`, { hint: 'clawpod delivers secrets as text; store a base64 or hex form of binary keys' });
  return bytes.toString('utf8');
}

/** The file driver's store: a JSON map of secret ID → base64 value, next to a lock file. */
function readFileDriver(info: SecretInspect, ctx: SourceContext, name: string): Buffer {
  const dir = info.Spec?.Driver?.Options?.path;
  if (!dir) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: Podman names no store folder for the secret ${name}`, { hint: 'recreate it with the default driver: podman secret rm NAME && printf %s VALUE | podman secret create NAME -' });
  const file = join(dir, 'secretsdata.json');
  // Podman 4.3 rewrites this file in place; a read racing a write sees a torn document, so read twice at most.
  for (let attempt = 0; ; attempt++) {
    let store: Record<string, unknown>;
    try {
      store = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code && attempt === 0) continue;
      throw new ClawpodError('SECRET_INVALID', `${ctx.where}: Podman returns no secret data, and its store ${file} cannot be read (${code ?? 'not JSON'})`, {
        hint: 'run clawpod as the user that owns the Podman secrets, on the same machine as the Podman service (or use Podman ≥ 4.5, whose API returns the value)',
        cause: e,
      });
    }
    const b64 = store[info.ID];
    const bytes = typeof b64 === 'string' ? decodeBase64Strict(b64) : undefined;
    if (!bytes) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: the secret ${name} (${info.ID}) has no readable entry in ${file}`, { hint: 'recreate it: podman secret rm NAME && printf %s VALUE | podman secret create NAME -' });
    return bytes;
  }
}

/** One field of a JSON map of base64 values: the shape `podman kube play` reads for secretKeyRef. */
function field(data: string, key: string, ctx: SourceContext, name: string): string {
  const hint = `store {"${key}":"BASE64"}: printf '{"${key}":"%s"}' "$(printf %s VALUE | base64 -w0)" | podman secret create ${name} -`;
  let map: unknown;
  try { map = JSON.parse(data); } catch { map = undefined; }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ClawpodError('SECRET_INVALID', `${ctx.where}: secretRef.key is set, but the Podman secret ${name} is not a JSON object`, { hint: `drop secretRef.key to use the whole value, or ${hint}` });
  }
  const entry = (map as Record<string, unknown>)[key];
  if (entry === undefined) {
    const keys = Object.keys(map);
    throw new ClawpodError('SECRET_MISSING', `${ctx.where}: the Podman secret ${name} has no key "${key}"${keys.length ? ` (keys: ${keys.join(', ')})` : ''}`, { hint });
  }
  const bytes = typeof entry === 'string' ? decodeBase64Strict(entry) : undefined;
  if (!bytes) throw new ClawpodError('SECRET_INVALID', `${ctx.where}: the key "${key}" of the Podman secret ${name} is not a base64 string`, { hint: `values are base64, as podman kube play expects; ${hint}` });
  return text(bytes, `${ctx.where}: the key "${key}" of the Podman secret ${name}`);
}

export const podmanSource: SecretSource = {
  name: 'podman',
  async resolve(ref, ctx) {
    const name = ref.name;
    const endpoint = await discover(discoveryEnv(ctx.config));
    if (endpoint.kind !== 'podman') {
      throw new ClawpodError('SECRET_INVALID', `${ctx.where}: source podman needs Podman, but the runtime found is Docker (${endpoint.socketPath})`, { hint: 'set CLAWPOD_RUNTIME=podman or CONTAINER_HOST=unix:///run/podman/podman.sock, or use another source' });
    }
    const api = new EngineClient(endpoint.socketPath, '/v4.0.0');
    let info: SecretInspect | undefined;
    try {
      info = await api.call<SecretInspect>('GET', `/libpod/secrets/${encodeURIComponent(name)}/json`, { query: { showsecret: true }, accept: [404] });
    } catch (e) {
      throw new ClawpodError('RUNTIME_ERROR', `${ctx.where}: Podman at ${endpoint.socketPath} failed to inspect the secret ${name}: ${(e as Error).message}`, { hint: '`clawpod doctor` checks the Podman setup', cause: e });
    }
    if (!info) {
      throw new ClawpodError('SECRET_MISSING', `${ctx.where}: Podman has no secret named ${name}`, { hint: `printf %s VALUE | podman secret create ${name} -` });
    }
    let bytes: Buffer;
    if (typeof info.SecretData === 'string') bytes = Buffer.from(info.SecretData, 'utf8');
    else if (info.Spec?.Driver?.Name === 'file') bytes = readFileDriver(info, ctx, name);
    else {
      throw new ClawpodError('SECRET_INVALID', `${ctx.where}: Podman ${endpoint.version} returns no secret data, and clawpod reads only the file driver's store (the secret ${name} uses driver ${info.Spec?.Driver?.Name ?? 'unknown'})`, {
        hint: `recreate it with the file driver (printf %s VALUE | podman secret create ${name} -) or use Podman ≥ 4.5`,
      });
    }
    const data = text(bytes, `${ctx.where}: the Podman secret ${name}`);
    const value = ref.key === undefined ? data.replace(/\r?\n$/, '') : field(data, ref.key, ctx, name);
    if (value === '') throw new ClawpodError('SECRET_MISSING', `${ctx.where}: the Podman secret ${name} is empty`, { hint: `podman secret rm ${name} && printf %s VALUE | podman secret create ${name} -` });
    return value;
  },
};
