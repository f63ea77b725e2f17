// What a claim does for a payload profile's member (loaded only for a spec with a profile): the
// member's generated tokens (openclaw's gateway token) become the instance's — the running payload
// holds them; for a payload that reloads its config in place, the model is wired with a token of the
// instance's group, the instance's config merged in and the reload waited for; the bundle copied in.
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { vaultFileSecret } from '../profiles/index.js';
import type { Profile } from '../profiles/types.js';
import type { ContainerDetails, Runtime } from '../runtime/runtime.js';
import { openVault } from '../secrets/vault.js';
import { DEFAULTS } from '../spec/defaults.js';
import type { Agent, SecretSpec } from '../spec/schema.js';
import type { FileEntry } from './files.js';
import { NOTHING } from './payload-base.js';
import { LLM_TOKEN_SECRET, profileOf, seedPayload, wireLlm, type Prepared } from './payload.js';

export interface PayloadClaim {
  /** Generated secrets the instance now has: shown once, like a cold run's. */
  readonly created: Prepared['created'];
  /** Secrets to record in the instance's spec (vault refs), and values given (for redaction). */
  readonly secrets: readonly SecretSpec[];
  readonly values: readonly { readonly name: string; readonly value: string }[];
  /** Once the instance is up: an earlier model token of the name is revoked, the member's vault entries go. */
  commit(): Promise<void>;
  /** The claim failed: the instance's tokens never shown go. */
  rollback(): Promise<void>;
}

export async function claimPayload(rt: Runtime, config: Config, o: {
  agent: Agent; member: string; d: ContainerDetails; name: string; say: (s: string) => void; write: (file: string, value: string) => void; bundle?: FileEntry[];
}): Promise<PayloadClaim> {
  const { agent, member, name } = o;
  const profile = profileOf(agent)!;
  const vault = openVault(config);
  const created: { label: string; vaultName: string; value: string }[] = [];
  let wired: Awaited<ReturnType<typeof wireLlm>>;
  const rollback = async () => {
    for (const x of created) await vault.remove(x.vaultName).catch(() => false);
    await wired?.finish.rollback();
  };
  try {
    for (const g of profile.generatedSecrets ?? []) {
      const value = await vault.get(g.vaultName(member));
      if (value === undefined) throw new ClawpodError('SECRET_MISSING', `warm member ${member} has no ${g.label} in the vault`, { hint: '`clawpod pool rm POOL` and fill the pool again' });
      await vault.set(g.vaultName(name), value);
      created.push({ label: g.label, vaultName: g.vaultName(name), value });
    }
    wired = profile.hotReload ? await wireLlm(config, agent, name, o.say) : undefined;
    if (wired) o.write(LLM_TOKEN_SECRET, wired.token);
    await seedClaimed(rt, o.d, { agent, profile, created, bundle: o.bundle, wired, name, say: o.say });
  } catch (e) {
    await rollback();
    throw e;
  }
  return {
    created,
    secrets: [...(profile.generatedSecrets ?? []).map((g) => vaultFileSecret(g.name, g.vaultName(name))), ...(wired ? [wired.secret] : [])],
    values: wired ? [{ name: wired.secret.name, value: wired.token }] : [],
    async commit() {
      await wired?.finish.commit();
      for (const g of profile.generatedSecrets ?? []) await vault.remove(g.vaultName(member)).catch(() => false);
    },
    rollback,
  };
}

/** A profile's config (hot-reloaded, waited for) and bundle, written into the running member. */
async function seedClaimed(rt: Runtime, d: ContainerDetails, o: {
  agent: Agent; profile: Profile; created: Prepared['created']; bundle: Prepared['bundle'] | undefined; wired: Awaited<ReturnType<typeof wireLlm>>; name: string; say: (s: string) => void;
}): Promise<void> {
  const { profile, wired } = o;
  // always merge: the member's file is the pool's render, not state a seedOnly would protect
  const seeded: Agent = profile.hotReload ? { ...o.agent, spec: { ...o.agent.spec, config: { mode: 'merge', values: o.agent.spec.config?.values ?? {} } } } : o.agent;
  const prep: Prepared = {
    // the member's ports are the instance's now: its config names them again (the UI's allowed origins)
    agent: seeded, profile, created: o.created, finish: NOTHING, render: { instance: o.name, secretsDir: DEFAULTS.secretsMountPath, published: d.ports, ...(wired ? { llm: wired.llm } : {}) },
    ...(o.bundle ? { bundle: o.bundle } : {}),
  };
  const reloaded = profile.hotReload ? watchReload(rt, d.id, profile) : undefined;
  try {
    const { configChanged } = await seedPayload(rt, d.id, prep, { say: o.say });
    if (configChanged) await reloaded?.wait(15_000, o.say);
  } finally { reloaded?.stop(); }
}

/** Follows a container's new log lines until the profile's hot-reload line (applied or refused). */
function watchReload(rt: Runtime, id: string, profile: Profile) {
  // aborting closes the follow connection, which would otherwise keep the process alive
  const ac = new AbortController();
  let seen: 'applied' | 'refused' | undefined;
  const reading = (async () => {
    let buf = '';
    try {
      for await (const chunk of rt.logs(id, { follow: true, tail: 0, signal: ac.signal })) {
        buf = (buf + chunk.data.toString('utf8')).slice(-8192);
        if (profile.hotReload!.applied.test(buf)) seen = 'applied';
        else if (profile.hotReload!.refused.test(buf)) seen = 'refused';
        if (seen) break;
      }
    } catch { /* aborted, or the container went away */ }
  })();
  const stop = () => ac.abort();
  return {
    stop,
    async wait(ms: number, say: (s: string) => void): Promise<void> {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reading, new Promise((r) => { timer = setTimeout(r, ms); })]);
      clearTimeout(timer);
      stop();
      if (seen === 'applied') say(`config applied by the running gateway (${Date.now() - t0} ms)`);
      else if (seen === 'refused') throw new ClawpodError('UNHEALTHY', 'the warm gateway did not apply the instance\'s config in place', { hint: 'run again: without a warm member it starts cold; `clawpod logs NAME` shows why' });
      else say(`no config reload seen in ${ms / 1000} s; the gateway may apply it later`);
    },
  };
}

