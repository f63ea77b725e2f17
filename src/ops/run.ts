// `clawpod run`: checks everything that can be checked before creating anything, then
// creates volume → secret files → container → start; any failure undoes what it made.
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { LABELS } from '../spec/defaults.js';
import type { LoadedAgent } from '../spec/parse.js';
import { requireFacet } from '../runtime/facets.js';
import { hasRuntimeSecrets, type ContainerSpec, type MountPlan, type PortBinding, type Runtime } from '../runtime/runtime.js';
import type { CheckedMount } from '../security/mount-allowlist.js';
import { resolveSecrets, type ResolvedSecret } from '../secrets/resolve.js';
import type { Agent } from '../spec/schema.js';
import { checkAgentName } from '../spec/names.js';
import { deliverSecrets, removeDeliveredSecrets } from '../secrets/deliver.js';
import { instanceName, planContainer, workspaceVolumeName } from '../plan/plan.js';
import { allocatePorts } from '../plan/ports.js';
import { portHolder } from '../plan/port-holders.js';
import type { Prepared } from './payload.js';
import { unprofiled, type PayloadFinish } from './payload-base.js';
import { volumeAlias } from './claims.js';
import { recordMadeVolume } from './volume-records.js';
import { removeOwnedVolume } from './volume-owner.js';
import { forgetInstance, recordInstance, type WarmMark } from './instance-record.js';
import { untraced, type Phase } from '../otel/phases.js';

/** What a caller adds around the spec: a session's IPC folder and open stdin, a tenant's app-data volume and network. */
export interface RunExtra {
  readonly mounts?: readonly MountPlan[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly openStdin?: boolean;
  /** A named network (a tenant's) instead of the default bridge. */
  readonly network?: string;
  /** Values the caller made (a session's sandbox token): files under /run/secrets like the spec's own, redacted alike. */
  readonly secretFiles?: readonly { readonly name: string; readonly value: string }[];
  /** A warm-pool member (src/ops/pool.ts): recorded as one, with a secrets folder its claimer's files go into. */
  readonly member?: WarmMark;
  /** The caller hands the reference runner a StartDoc (a control-plane session), which carries spec.tools.shell. */
  readonly startDoc?: boolean;
}

export interface RunOptions {
  readonly name?: string;
  readonly say: (s: string) => void;
  /** What the control plane adds for a session container: its IPC folder, labels, open stdin. */
  readonly extra?: RunExtra;
  /** The instance index (host ports are base + portStep·index) when the caller allocates it (a tenant's slot). */
  readonly index?: number;
  /** An upgrade keeps the instance's index and host ports instead of allocating new ones. */
  readonly keep?: { readonly index: number; readonly ports: readonly PortBinding[]; readonly volume?: string };
  /** Spans of container.create and image.pull when the command is traced (src/otel/command.ts). */
  readonly phase?: Phase;
}

/** A started agent: what `clawpod run` reports, whether it started cold or was claimed from a warm pool. */
export interface Started {
  readonly run: RunResult;
  readonly url: string | undefined;
  readonly seconds: number;
  /** The warm-pool member this instance was claimed from, when it was. */
  readonly claimed?: string;
}

export interface RunResult {
  readonly id: string;
  readonly name: string;
  readonly index: number;
  readonly image: string;
  readonly volume: string | undefined;
  /** True when this run created the workspace volume (so undo may remove it). */
  readonly volumeCreated: boolean;
  readonly ports: readonly { containerPort: number; hostPort: number; hostIP: string }[];
  /** Podman secrets made for this container. */
  readonly runtimeSecrets?: readonly string[];
  /** Secrets a profile generated for this new instance: shown once. */
  readonly generated?: readonly { label: string; vaultName: string; value: string }[];
  /** An egress proxy and its network were made for it (spec.egress). */
  readonly egress?: boolean;
  /** Settles the payload's tokens: commit once the agent is up; undoCreate rolls back. */
  readonly finish?: PayloadFinish;
  /** The browser sidecar (spec.browser), made by startSidecarOf once the agent runs. */
  readonly sidecar?: ContainerSpec;
}

/**
 * spec.mounts checked, and none below another container's writable mount. The checks' code (the
 * allowlist, the scan) is loaded only for a spec that has mounts; most `clawpod run`s have none.
 */
async function checkedMounts(rt: Runtime, loaded: LoadedAgent, config: Config, say: (s: string) => void): Promise<CheckedMount[]> {
  if (loaded.agent.spec.mounts.length === 0) return [];
  const { checkMounts, refuseNestedMounts } = await import('./mount-recheck.js');
  const mounts = checkMounts(loaded, config, say);
  await refuseNestedMounts(rt, mounts, { where: (i) => `spec.mounts[${i}].hostPath` });
  return mounts;
}

/** A profile's payload (generated secrets, model wiring, config); its code is loaded only for a spec that names one. */
async function preparePayload(config: Config, loaded: LoadedAgent, name: string, say: (s: string) => void): Promise<Prepared> {
  if (!loaded.agent.spec.profile) return unprofiled(loaded.agent);
  return (await import('./payload.js')).preparePayload(config, loaded.agent, name, { specDir: loaded.dir, say });
}

/**
 * spec.tools.shell.ssh is read by clawpod's reference runner only: in serve's sessions and as the
 * runner profile. Any other payload would run its shell in the container while the spec says it does not.
 */
function checkShellReader(loaded: LoadedAgent): void {
  const spec = loaded.agent.spec;
  if (!spec.tools?.shell?.ssh || spec.profile?.name === 'runner') return;
  const what = spec.profile ? `profile ${spec.profile.name}` : `command ${JSON.stringify([...(spec.command ?? []), ...(spec.args ?? [])].join(' ') || '(the image\'s)')}`;
  throw new ClawpodError('SPEC_INVALID', `spec.tools.shell.ssh: ${loaded.agent.metadata.name} runs ${what}, which does not read it (only clawpod's reference runner runs its bash over SSH)`, {
    hint: 'run it as `profile: {name: runner}` (clawpod run runner -f SPEC), or as a group of `clawpod serve`; or remove spec.tools.shell',
  });
}

function nameTaken(name: string, cause?: unknown): ClawpodError {
  return new ClawpodError('NAME_TAKEN', `a container named ${name} already exists`, {
    hint: `remove it with \`clawpod rm -f ${name}\` (its workspace volume is kept), or pass --name with another name`, cause,
  });
}

/** Pulls a missing registry image; a missing localhost/ image can only be built. */
async function pullMissing(rt: Runtime, image: string, say: (s: string) => void): Promise<void> {
  if (image.startsWith('localhost/')) {
    throw new ClawpodError('IMAGE_NOT_FOUND', `image ${image} is not built yet`, {
      hint: image.startsWith('localhost/clawpod-agent') ? 'build it with `clawpod image build`'
        : image.startsWith('localhost/clawpod-openclaw:') ? `build it with \`clawpod image build --profile openclaw --version ${image.split(':').pop()}\``
        : `build it (\`clawpod image build --tag ${image} ...\`) or fix spec.image`,
    });
  }
  const images = requireFacet(rt, 'images', `pulling ${image} ahead of time`);
  say(`pulling ${image}`);
  await images.pullImage(image, { timeoutMs: 120_000, onProgress: (l) => say(`  ${l}`) });
}

/**
 * The lowest instance index no existing container of this agent uses, by its index label or by its
 * name (a claimed warm-pool member is named NAME-i but labelled as the pool's).
 */
export async function nextIndex(rt: Runtime, agentName: string): Promise<number> {
  const used = new Set<number>();
  // two narrow lists at once, not every clawpod container: the engine reads the state of each one it lists (~4 ms each here)
  const [labelled, named] = await Promise.all([
    rt.listContainers({ labels: { [LABELS.managed]: 'true', [LABELS.agent]: agentName } }),
    rt.listContainers({ labels: { [LABELS.managed]: 'true' }, name: agentName }),
  ]);
  for (const c of [...labelled, ...named]) {
    if (c.labels[LABELS.agent] === agentName) used.add(Number(c.labels[LABELS.index]));
    if (c.name === agentName) used.add(0);
    else if (c.name.startsWith(`${agentName}-`) && /^[1-9]\d*$/.test(c.name.slice(agentName.length + 1))) used.add(Number(c.name.slice(agentName.length + 1)));
  }
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

/** Creates (not starts) the agent's container; the caller starts it, attached or not. */
export async function createAgent(rt: Runtime, config: Config, loaded: LoadedAgent, opts: RunOptions): Promise<RunResult> {
  // the name reaches container, volume and secret-folder names: checked before anything exists
  if (opts.name !== undefined) checkAgentName(opts.name, '--name');
  if (!opts.extra?.startDoc) checkShellReader(loaded);
  const mounts = await checkedMounts(rt, loaded, config, opts.say);
  // the browser's image is built (once per Chromium version) before anything of the agent exists
  const browserImage = loaded.agent.spec.browser?.enabled ? await (await import('../browser/run.js')).prepareBrowser(rt, loaded.agent, opts.say) : undefined;
  const index = opts.keep?.index ?? opts.index ?? (await nextIndex(rt, loaded.agent.metadata.name));
  const name = opts.name ?? instanceName(loaded.agent.metadata.name, index);
  // before a profile issues tokens for the name: a running instance of that name must keep its own
  if (loaded.agent.spec.profile && (await rt.inspectContainer(name))) throw nameTaken(name);
  // a profile adds secrets it generates (vault) and the model wiring before anything is resolved
  const prep = await preparePayload(config, loaded, name, opts.say);
  const { agent } = prep;
  let secrets;
  try { secrets = await resolveSecrets(agent.spec.secrets, { specDir: loaded.dir, config }); } catch (e) { await prep.finish.rollback(); throw e; }
  secrets = [...secrets, ...(opts.extra?.secretFiles ?? []).map((f): ResolvedSecret => ({ spec: { name: f.name, source: 'env', secretRef: { name: f.name }, exposeAs: 'file' }, value: f.value }))];

  // Secret files are written per container name before create; never overwrite another container's.
  if (secrets.some((x) => x.spec.exposeAs === 'file') && (await rt.inspectContainer(name))) throw nameTaken(name);
  const running = !opts.keep && rt.capabilities.hostPorts && agent.spec.ports.length > 0 ? await rt.listContainers({ all: false }) : [];
  const ports = opts.keep?.ports ?? (await allocatePorts(agent.spec.ports, index, (ip, port) => portHolder(ip, port, running), opts.say, prep.profile?.portStep));

  const undo: (() => Promise<void>)[] = [() => prep.finish.rollback()];
  try {
    let volume: string | undefined;
    let volumeCreated = false;
    if (agent.spec.workspace.enabled) {
      // a claimed warm-pool member's volume stays the instance's state across rm + run (src/ops/claims.ts)
      volume = opts.keep?.volume ?? volumeAlias(config, name) ?? workspaceVolumeName(name);
      if (!(await rt.inspectVolume(volume))) {
        await rt.createVolume(volume, { [LABELS.managed]: 'true', [LABELS.agent]: agent.metadata.name, [LABELS.instance]: name, [LABELS.role]: 'workspace' });
        volumeCreated = true;
        recordMadeVolume(config, volume, { agent: agent.metadata.name, instance: name });
        undo.push(() => removeOwnedVolume(rt, config, volume!));
      } else {
        opts.say(`reusing ${prep.profile?.service ? 'state' : 'workspace'} volume ${volume}`);
      }
    }
    const delivery = deliverSecrets(secrets, { secretsDir: config.secretsDir, containerName: name, user: agent.spec.user, isRoot: config.uid === 0, folder: opts.extra?.member !== undefined });
    if (delivery.hostDir) undo.push(async () => removeDeliveredSecrets(config.secretsDir, name));
    const runtimeSecrets = await createRuntimeSecrets(rt, name, agent.spec.user, secrets.filter((s) => s.spec.exposeAs === 'podman'), undo);
    const planned = planContainer(agent, {
      instanceName: name, index, ports, mounts, secretEnv: delivery.env, secretsHostDir: delivery.hostDir, specDir: loaded.dir, now: new Date(),
      ...(volume && volume !== workspaceVolumeName(name) ? { volume } : {}),
    });
    const x = opts.extra;
    const unproxied: ContainerSpec = {
      ...planned,
      ...(x ? { mounts: [...planned.mounts, ...(x.mounts ?? [])], labels: { ...planned.labels, ...x.labels }, openStdin: x.openStdin ?? false } : {}),
      ...(x?.network && planned.network === 'bridge' ? { networkName: x.network } : {}),
      ...(runtimeSecrets.length ? { runtimeSecrets } : {}),
    };
    // spec.egress: the agent's own internal network, whose only way out is its proxy (src/egress/local.ts)
    let spec = unproxied;
    if (agent.spec.egress) {
      const eg = await import('../egress/local.js');
      // startEgress undoes what it made itself; the undo is ours only once it succeeded (a proxy it refused to replace is another agent's)
      const wiring = await eg.startEgress(rt, config, agent, name, { specDir: loaded.dir, ...(x?.network ? { outNetwork: x.network } : {}), say: opts.say });
      undo.push(() => eg.removeEgressOf(rt, config, name));
      spec = wiring.wrap(unproxied);
    }
    const sidecar = browserImage ? (await import('../browser/run.js')).sidecarOf(agent, spec, browserImage) : undefined;
    // The image and the name are checked by the engine itself (404, 409): one round trip less.
    const phase = opts.phase ?? untraced;
    let id: string;
    try {
      id = await phase('container.create', () => rt.createContainer(spec));
    } catch (e) {
      if (e instanceof ClawpodError && e.code === 'IMAGE_NOT_FOUND') {
        await phase('image.pull', () => pullMissing(rt, spec.image, opts.say));
        id = await phase('container.create', () => rt.createContainer(spec));
      } else if (e instanceof ClawpodError && e.code === 'NAME_TAKEN') {
        throw nameTaken(name, e);
      } else throw e;
    }
    undo.push(() => rt.removeContainer(id, { force: true }));
    // what later commands act on and redact from: this record, never the container's labels
    recordInstance(config, name, {
      id, agent, specDir: loaded.dir, ...(volume ? { volume } : {}), secrets: secrets.map((s) => ({ name: s.spec.name, value: s.value })),
      ...(opts.extra?.member ? { member: opts.extra.member } : {}),
    });
    undo.push(async () => forgetInstance(config, name));
    // the profile's config names the published ports (a UI's allowed origins): known only now
    if (prep.render) await (await import('./payload.js')).seedPayload(rt, id, { ...prep, render: { ...prep.render, published: ports } }, { say: opts.say });
    return {
      id, name, index, image: agent.spec.image, volume, volumeCreated, ports,
      ...(runtimeSecrets.length ? { runtimeSecrets: runtimeSecrets.map((s) => s.source) } : {}),
      ...(prep.created.length ? { generated: prep.created } : {}),
      finish: prep.finish,
      ...(agent.spec.egress ? { egress: true } : {}),
      ...(sidecar ? { sidecar } : {}),
    };
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw e;
  }
}

/** After the agent started: its browser sidecar, when the spec has one (it joins the agent's network namespace, which exists only now). */
export async function startSidecarOf(rt: Runtime, r: RunResult): Promise<void> {
  if (r.sidecar) await (await import('../browser/run.js')).startSidecar(rt, r.sidecar);
}

/** Podman secrets are named per container and secret, so removing an agent finds them again. */
export function runtimeSecretName(container: string, secret: string): string {
  return `clawpod-${container}-${secret}`;
}

async function createRuntimeSecrets(rt: Runtime, container: string, user: string, secrets: readonly ResolvedSecret[], undo: (() => Promise<void>)[]): Promise<NonNullable<ContainerSpec['runtimeSecrets']>> {
  if (secrets.length === 0) return [];
  const store = requireFacet(rt, 'secrets', `spec.secrets ${secrets.map((s) => s.spec.name).join(', ')} with exposeAs: podman`);
  const [uid, gid] = user.split(':').map(Number);
  const out: NonNullable<ContainerSpec['runtimeSecrets']>[number][] = [];
  for (const s of secrets) {
    const name = runtimeSecretName(container, s.spec.name);
    await store.removeSecret(name); // a leftover of a crashed run would make create fail
    await store.createSecret(name, s.value);
    undo.push(() => store.removeSecret(name));
    out.push({ source: name, target: s.spec.name, uid: uid!, gid: gid ?? uid!, mode: 0o400 });
  }
  return out;
}

/** Removes the Podman secrets an agent's spec asked for (the spec clawpod recorded, never a label's). */
export async function removeRuntimeSecrets(rt: Runtime, container: string, agent: Agent | undefined): Promise<void> {
  // a runtime without its own secrets never made any
  if (!hasRuntimeSecrets(rt)) return;
  for (const s of agent?.spec.secrets ?? []) if (s.exposeAs === 'podman') await rt.removeSecret(runtimeSecretName(container, s.name));
}

/** Removes what createAgent made for a container that failed to start (the volume only if new). */
export async function undoCreate(rt: Runtime, config: Config, r: RunResult): Promise<void> {
  await r.finish?.rollback();
  await rt.removeContainer(r.id, { force: true }).catch(() => undefined);
  removeDeliveredSecrets(config.secretsDir, r.name);
  forgetInstance(config, r.name);
  if (r.runtimeSecrets && hasRuntimeSecrets(rt)) for (const n of r.runtimeSecrets) await rt.removeSecret(n).catch(() => undefined);
  if (r.volumeCreated && r.volume) await removeOwnedVolume(rt, config, r.volume).catch(() => undefined);
  if (r.egress) await (await import('../egress/local.js')).removeEgressOf(rt, config, r.name).catch(() => undefined);
}
