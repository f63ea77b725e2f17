// What a ttl (or `clawpod gc --destroy`) removes: the agent and everything it owns. A tenant goes
// the way `clawpod tenant delete` takes it (containers, both volumes, network, vault entries,
// gateway group and tokens, records); any other agent loses its container, workspace volume,
// secret files, Podman secrets, vault entries, gateway token and claim of a warm-pool member.
// Every step is idempotent: a destroy killed half-way is simply run again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { ClawpodError, isClawpodError } from '../errors.js';
import { deleteTenant } from '../fleet/local.js';
import { loadTenant } from '../fleet/store.js';
import { tenantNames } from '../fleet/derive.js';
import { forgetInstance, leftoverSpec, trustedSpec } from '../ops/instance-record.js';
import { removeRuntimeSecrets } from '../ops/run.js';
import { removeDeliveredSecrets } from '../secrets/deliver.js';
import type { Agent } from '../spec/schema.js';
import { removeAgent } from '../ops/lifecycle.js';
import { payloadVaultNames } from '../ops/payload.js';
import { profileOf } from '../profiles/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { openVault } from '../secrets/vault.js';

export interface DestroyDeps {
  readonly rt: Runtime;
  readonly config: Config;
  readonly say: (line: string) => void;
  /** Revokes a gateway token the agent held (its value, from the vault). */
  readonly revokeToken: (token: string, reason: string) => void;
  /** Removes a tenant's gateway group with its tokens. */
  readonly dropGroup: (tenant: string) => Promise<boolean>;
}

/**
 * A pause between steps, for the test that kills the daemon in the middle of a destroy
 * (test/integration/lifecycle-ttl.test.ts); unset it is 0.
 */
const stepPause = () => Number(process.env.CLAWPOD_TEST_DESTROY_STEP_MS ?? 0);

export async function destroyAgent(d: DestroyDeps, name: string): Promise<string[]> {
  const found = await d.rt.inspectContainer(name);
  // a namesake made behind clawpod's back (another container id than its record's) is not the agent:
  // it and what its labels point at stay; only clawpod's own leftovers of the agent go
  const c = found && trustedSpec(d.config, found) ? found : undefined;
  if (found && !c) d.say(`${name}: a container of that name that clawpod has no record of is left alone`);
  const spec = c ? trustedSpec(d.config, c)?.agent : leftoverSpec(d.config, name);
  const tenant = name.startsWith('tenant-') ? name.slice('tenant-'.length) : undefined;
  const gone: string[] = [];
  if (tenant && tenantNames(tenant).agent === name && loadTenant(d.config, tenant)) {
    // the container first: what keeps running is what costs
    if (found && !c) throw new ClawpodError('IN_USE', `tenant ${tenant}'s container name ${name} is taken by a container clawpod has no record of`, { hint: `remove or rename that container (podman rm -f ${name}); the destroy is tried again at the next check` });
    if (c) { await d.rt.removeContainer(c.id, { force: true }); gone.push(`container ${name}`); }
    if (stepPause()) await sleep(stepPause());
    await forgetRun(d, name, spec);
    return [...gone, ...await deleteTenant(d.rt, d.config, tenant, { say: d.say, dropGroup: d.dropGroup })];
  }
  const vault = openVault(d.config);
  const entries = payloadVaultNames(spec ? profileOf(spec) : undefined, name);
  const token = await vault.get(entries[entries.length - 1]!).catch(() => undefined);
  if (token) d.revokeToken(token, `agent ${name} was destroyed`);
  if (c) {
    const r = await removeAgent(d.rt, d.config, name, { force: true, volumes: true });
    gone.push(`container ${name}`);
    if (r.volumeRemoved) gone.push(`volume ${r.volumeRemoved}`);
  } else if (!found) {
    // already gone (a resumed destroy): the workspace volume it left, if clawpod made it
    try {
      const r = await removeAgent(d.rt, d.config, name, { force: true, volumes: true });
      if (r.volumeRemoved) gone.push(`volume ${r.volumeRemoved}`);
    } catch (e) {
      if (!isClawpodError(e) || e.code !== 'NOT_FOUND') throw e;
    }
  }
  if (stepPause()) await sleep(stepPause());
  await forgetRun(d, name, spec);
  for (const e of entries) if (await vault.remove(e).catch(() => false)) gone.push(`vault entry ${e}`);
  return gone;
}

/** What a run made outside its container: Podman secrets, secret files, the record. Idempotent. */
async function forgetRun(d: DestroyDeps, name: string, spec: Agent | undefined): Promise<void> {
  // an agent already gone (a resumed destroy) left its proxy: removeAgent did not see it
  if (spec?.spec.egress) await (await import('../egress/local.js')).removeEgressOf(d.rt, d.config, name).catch(() => undefined);
  await removeRuntimeSecrets(d.rt, name, spec).catch(() => undefined);
  removeDeliveredSecrets(d.config.secretsDir, name);
  forgetInstance(d.config, name);
}
