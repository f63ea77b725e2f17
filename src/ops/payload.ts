// What a profile adds to `clawpod run` around the container: secrets generated per instance (kept in
// the vault), the model wired to clawpod's LLM gateway, the payload's config file seeded onto its
// state volume with a merge mode, and the agent bundle copied in. Runs between create and start.
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import JSON5 from 'json5';
import type { Config } from '../config.js';
import { ControlClient } from '../control/client.js';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { deepMerge } from '../profiles/merge.js';
import { profileOf, renderConfig, vaultFileSecret } from '../profiles/index.js';
import type { Profile, RenderContext } from '../profiles/types.js';
import { requireFacet } from '../runtime/facets.js';
import type { Runtime } from '../runtime/runtime.js';
import { walkUnblocked } from '../security/blocked.js';
import { clawpodPaths, protectedHit } from '../security/protected-paths.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent, SecretSpec } from '../spec/schema.js';
import { openVault } from '../secrets/vault.js';
import { redactor } from '../secrets/redact.js';
import { putFiles, readFile, type FileEntry } from './files.js';
import { settleOnce, unprofiled, type PayloadFinish } from './payload-base.js';

export const LLM_TOKEN_SECRET = 'llm-token';

export { NOTHING, settleOnce, type PayloadFinish } from './payload-base.js';

export interface Prepared {
  /** The agent with the profile's generated and LLM secrets added (as vault refs: no values). */
  readonly agent: Agent;
  readonly profile: Profile | undefined;
  /** Generated secrets created by this run: shown once. */
  readonly created: readonly { label: string; vaultName: string; value: string }[];
  readonly render: RenderContext | undefined;
  /** spec.bundle's files, checked before anything is created. */
  readonly bundle?: readonly FileEntry[];
  /** The LLM token issued for this instance, when the model is wired. */
  readonly llmToken?: string;
  readonly finish: PayloadFinish;
}

export { profileOf };

/** The gateway address an agent container can reach: a wildcard or bridge address, never loopback. */
export function containerGatewayUrl(listen: string, provider: string): string {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new ClawpodError('USAGE', `the control plane's spec.gateway.listen ${listen} is not HOST:PORT`, { hint: 'set it to e.g. 0.0.0.0:7879' });
  let host = m[1]!.replace(/^\[|\]$/g, '');
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') {
    throw new ClawpodError('USAGE', `the control plane's gateway listens on ${listen}, which containers cannot reach`, { hint: 'set spec.gateway.listen to an address containers reach, e.g. 0.0.0.0:7879 (they call it host.containers.internal; tokens guard it), and restart `clawpod serve`' });
  }
  if (host === '0.0.0.0' || host === '::') host = 'host.containers.internal';
  return gatewayBaseUrl(`http://${host.includes(':') ? `[${host}]` : host}:${m[2]}`, provider);
}

/** The gateway's base URL as a provider client wants it: OpenAI's clients add paths under /v1, Anthropic's add /v1 themselves. */
export function gatewayBaseUrl(origin: string, provider: string): string {
  const base = origin.replace(/\/+$/, '');
  return provider === 'openai' ? `${base}/v1` : base;
}

export async function wireLlm(config: Config, agent: Agent, instance: string, say: (s: string) => void): Promise<{ llm: NonNullable<RenderContext['llm']>; secret: SecretSpec; token: string; finish: PayloadFinish } | undefined> {
  const setting = agent.spec.llm;
  if (setting === false) return undefined;
  const group = setting?.group ?? instance;
  const skip = (why: string, hint: string) => {
    // an explicit spec.llm must be honoured; without one, wiring is a convenience
    if (setting) throw new ClawpodError('USAGE', `spec.llm (group ${group}): ${why}`, { hint });
    say(`model not wired: ${why} (${hint})`);
    return undefined;
  };
  let r: { token: string; gatewayListen: string | null; model: { provider: string; model: string } };
  let client: ControlClient;
  try {
    client = ControlClient.fromConfig(config);
    r = await client.call('POST', `/v1/groups/${encodeURIComponent(group)}/tokens`);
  } catch (e) {
    if (isClawpodError(e) && e.code === 'NOT_FOUND') return skip(`the control plane has no group ${group}`, `clawpod group add ${group} --model NAME, then run again`);
    if (isClawpodError(e) && e.code === 'RUNTIME_UNAVAILABLE') return skip(e.message, 'start `clawpod serve` with spec.gateway.listen set, then run again');
    throw e;
  }
  redactor.add(`gateway token of group ${group}`, r.token);
  const revoke = (token: string, reason: string) => client.call('POST', '/v1/tokens/revoke', { token, reason }).catch(() => undefined);
  if (!r.gatewayListen || r.model.provider === 'gemini') await revoke(r.token, 'not used: the agent was not wired');
  if (!r.gatewayListen) return skip('the control plane serves its LLM gateway on a unix socket only', 'set spec.gateway.listen in its ControlPlane file (e.g. 0.0.0.0:7879) and restart it');
  if (r.model.provider === 'gemini') return skip(`group ${group} uses a Gemini model, which this profile cannot reach through the gateway`, 'give the group an anthropic or openai model');
  const vaultName = `${instance}-llm-token`;
  const vault = openVault(config);
  const previous = await vault.get(vaultName);
  await vault.set(vaultName, r.token);
  const finish: PayloadFinish = settleOnce({
    // one live token per instance: the one an earlier run was given stops working, once this one runs
    commit: async () => { if (previous && previous !== r.token) await revoke(previous, `replaced by a new token for ${instance}`); },
    rollback: async () => {
      await revoke(r.token, `the run of ${instance} that was given it failed`);
      if (previous) await vault.set(vaultName, previous).catch(() => undefined); else await vault.remove(vaultName).catch(() => false);
    },
  });
  const api = r.model.provider === 'anthropic' ? 'anthropic' : 'openai';
  say(`model: ${r.model.model} (group ${group}) through clawpod's LLM gateway`);
  return {
    llm: { baseUrl: containerGatewayUrl(r.gatewayListen, api), api, model: r.model.model, tokenFile: `${DEFAULTS.secretsMountPath}/${LLM_TOKEN_SECRET}` },
    secret: vaultFileSecret(LLM_TOKEN_SECRET, vaultName),
    token: r.token,
    finish,
  };
}

/** Before planning the container: secrets to generate or fetch, and the model wiring. */
export async function preparePayload(config: Config, agent: Agent, instance: string, opts: { specDir: string; say: (s: string) => void }): Promise<Prepared> {
  const profile = profileOf(agent);
  if (!profile) return unprofiled(agent);
  const say = opts.say;
  const bundle = agent.spec.bundle ? bundleFiles(agent.spec.bundle, config, opts.specDir) : undefined;
  const created: Prepared['created'][number][] = [];
  const added: SecretSpec[] = [];
  const taken = new Set(agent.spec.secrets.map((s) => s.name));
  for (const g of profile.generatedSecrets ?? []) {
    if (taken.has(g.name)) continue; // the user supplies it
    const vault = openVault(config);
    const vaultName = g.vaultName(instance);
    if ((await vault.get(vaultName)) === undefined) {
      const value = randomBytes(24).toString('base64url');
      await vault.set(vaultName, value);
      created.push({ label: g.label, vaultName, value });
    }
    added.push(vaultFileSecret(g.name, vaultName));
  }
  const wired = profile.config ? await wireLlm(config, agent, instance, say) : undefined;
  if (wired && !taken.has(LLM_TOKEN_SECRET)) added.push(wired.secret);
  const render: RenderContext = { instance, secretsDir: DEFAULTS.secretsMountPath, ...(wired ? { llm: wired.llm } : {}) };
  const vault = openVault(config);
  const finish: PayloadFinish = settleOnce({
    commit: async () => { await wired?.finish.commit(); },
    rollback: async () => {
      await wired?.finish.rollback();
      // a generated secret never shown must not outlive the failed run (the next run makes and shows a new one)
      for (const c of created) await vault.remove(c.vaultName).catch(() => false);
    },
  });
  return {
    agent: { ...agent, spec: { ...agent.spec, secrets: [...agent.spec.secrets, ...added] } }, profile, created, render,
    ...(bundle ? { bundle } : {}), ...(wired ? { llmToken: wired.token } : {}), finish,
  };
}

/** The config file's new content under a merge mode, or undefined to leave the existing one. */
export function seedContent(existing: string | undefined, rendered: Record<string, unknown>, mode: 'seedOnly' | 'merge' | 'overwrite', where: string): { text: string | undefined; action: 'created' | 'kept' | 'merged' | 'overwritten' } {
  const text = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;
  if (existing === undefined) return { text: text(rendered), action: 'created' };
  if (mode === 'seedOnly') return { text: undefined, action: 'kept' };
  if (mode === 'overwrite') return { text: text(rendered), action: 'overwritten' };
  let current: unknown;
  try { current = JSON5.parse(existing); } catch (e) {
    throw new ClawpodError('CONFIG_INVALID', `${where} on the volume is not valid JSON5 (${messageOf(e).slice(0, 120)}), so it cannot be merged`, {
      hint: 'fix the file (`clawpod exec NAME -- cat ...` shows it), or set spec.config.mode: overwrite to replace it',
    });
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new ClawpodError('CONFIG_INVALID', `${where} on the volume holds no object, so it cannot be merged`, { hint: 'set spec.config.mode: overwrite to replace it' });
  }
  return { text: text(deepMerge(current, rendered)), action: 'merged' };
}

/** A bundle is a handful of instruction files and skills, not a home folder: these bound it. */
export const BUNDLE_LIMITS = Object.freeze({ files: 2000, bytes: 64 * 2 ** 20 });

/** Reads a regular file without following a link, even one put there after the walk looked (O_NOFOLLOW). */
function readNoFollow(p: string, what: string): Buffer {
  let fd: number;
  try { fd = openSync(p, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW); } catch (e) {
    throw new ClawpodError('UNSAFE_PATH', `${what} is a symlink or cannot be read (${(e as NodeJS.ErrnoException).code ?? messageOf(e)})`, { hint: 'replace the link with the file itself' });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new ClawpodError('UNSAFE_PATH', `${what} is no longer a regular file`, { hint: 'do not change the bundle while clawpod reads it' });
    return readFileSync(fd);
  } finally { closeSync(fd); }
}

/**
 * Files of the agent bundle. The folder must be a real folder (no symlink anywhere on its path)
 * inside the spec's own folder, so a shared spec cannot reach into ~ or / or clawpod's data dir; it
 * is checked like image layers: no secrets, no symlinks (never followed), bounded in size.
 */
export function bundleFiles(dir: string, config: Pick<Config, 'configDir' | 'dataDir' | 'vaultFile' | 'vaultKeyFile' | 'secretsDir'>, specDir: string): FileEntry[] {
  // compared as resolved paths: the text "./b" says nothing of where b leads
  let base: string;
  try { base = realpathSync(specDir); } catch { base = resolve(specDir); }
  const root = resolve(base, dir);
  if ((root !== base && !root.startsWith(`${base}/`)) || root === '/') {
    throw new ClawpodError('MOUNT_BLOCKED', `spec.bundle ${dir} is outside the spec's folder ${base}`, { hint: 'put the bundle (AGENTS.md, skills/ ...) in a folder next to the spec file and name it relatively, e.g. bundle: ./alice-bundle' });
  }
  let real: string;
  try { real = realpathSync(root); } catch { real = ''; }
  if (real && real !== root) {
    throw new ClawpodError('UNSAFE_PATH', `spec.bundle ${dir}: ${root} is or goes through a symlink (it leads to ${real}); a bundle is read only from a real folder inside the spec's folder`, { hint: `replace the link with the folder itself (e.g. rm ${root} && cp -r ${real} ${root})` });
  }
  if (!real || !lstatSync(real).isDirectory()) throw new ClawpodError('FILE_NOT_FOUND', `spec.bundle ${dir}: no such folder`, { hint: 'point spec.bundle at a folder with AGENTS.md, skills/ and the like (relative to the spec file)' });
  const hit = protectedHit(real, clawpodPaths(config));
  if (hit) throw new ClawpodError('MOUNT_BLOCKED', `spec.bundle ${dir}: ${real} ${hit.relation} ${hit.path.path}, ${hit.path.why}; clawpod's own files never go into an agent`, { hint: 'put the bundle in its own folder next to the spec file' });
  const out: FileEntry[] = [];
  let bytes = 0;
  walkUnblocked(real, config.configDir, { what: 'spec.bundle', into: "an agent's files", folder: 'the bundle' }, (p, st) => {
    if (st.isSymbolicLink()) throw new ClawpodError('UNSAFE_PATH', `spec.bundle: ${relative(real, p)} is a symlink (clawpod never follows links in a bundle)`, { hint: 'replace the link with the file itself' });
    if (!st.isFile()) return;
    bytes += st.size;
    if (out.length >= BUNDLE_LIMITS.files || bytes > BUNDLE_LIMITS.bytes) {
      throw new ClawpodError('TOO_LARGE', `spec.bundle ${dir} holds more than ${BUNDLE_LIMITS.files} files or ${BUNDLE_LIMITS.bytes / 2 ** 20} MiB`, { hint: 'a bundle is instructions and skills; bake large tools into the image (clawpod image build --from ... --add DIR)' });
    }
    out.push({ path: relative(real, p), content: readNoFollow(p, `spec.bundle: ${relative(real, p)}`), mode: st.mode & 0o111 ? 0o700 : 0o600 });
  });
  return out;
}

/** After create, before start: the config file and the bundle, onto the state volume. */
export async function seedPayload(rt: Runtime, id: string, prep: Prepared, opts: { say: (s: string) => void }): Promise<{ configChanged: boolean }> {
  const { agent, profile, render } = prep;
  if (!profile || !render || !agent.spec.workspace.enabled) return { configChanged: false };
  let configChanged = false;
  const home = agent.spec.workspace.mountPath;
  const [uid, gid] = agent.spec.user.split(':').map(Number) as [number, number];
  const owner = { uid, gid: gid ?? uid };
  const files = () => requireFacet(rt, 'archives', `seeding ${profile.name}'s config and bundle into ${agent.metadata.name}`);
  if (profile.config) {
    const path = `${home}/${profile.config.file}`;
    const rendered = renderConfig(profile, agent, render)!;
    const existing = (await readFile(files(), id, path))?.toString('utf8');
    const r = seedContent(existing, rendered, agent.spec.config?.mode ?? 'merge', path);
    if (r.text !== undefined && r.text !== existing) {
      await putFiles(files(), id, home, [{ path: profile.config.file, content: r.text }], owner);
      configChanged = true;
    }
    opts.say(`${profile.config.file}: ${r.action}${r.action === 'kept' ? ' (mode seedOnly)' : ''}`);
  }
  if (prep.bundle) {
    const into = profile.bundleDir ? `${home}/${profile.bundleDir}` : home;
    await putFiles(files(), id, into, prep.bundle, owner);
    opts.say(`bundle ${agent.spec.bundle}: ${prep.bundle.length} file${prep.bundle.length === 1 ? '' : 's'} copied to ${into}`);
  }
  return { configChanged };
}

/** The vault entries a run of this payload under this instance name keeps: its generated secrets and its gateway token. */
export function payloadVaultNames(profile: Profile | undefined, instance: string): string[] {
  return [...(profile?.generatedSecrets ?? []).map((g) => g.vaultName(instance)), `${instance}-${LLM_TOKEN_SECRET}`];
}
