// The browser sidecar's lifecycle, following its agent's: made once the agent runs (its network
// namespace exists only then), stopped before it, started again after it (a restarted agent has a
// new namespace), removed with it (src/runtime/podman-driver.ts removes joined containers too).
import { ClawpodError } from '../errors.js';
import { parseMemory } from '../spec/quantity.js';
import type { Agent } from '../spec/schema.js';
import { LABELS } from '../spec/defaults.js';
import { requireFacet } from '../runtime/facets.js';
import type { ContainerSpec, ContainerState, Runtime } from '../runtime/runtime.js';
import { BROWSER_OF_LABEL, planSidecar, sidecarName } from './sidecar.js';

/**
 * Checked and built before anything of the agent is made (nothing half-done when it fails): the
 * sidecar image of this host's Chromium. undefined for a spec without a browser.
 */
export async function prepareBrowser(rt: Runtime, agent: Agent, say: (s: string) => void): Promise<string | undefined> {
  if (!agent.spec.browser?.enabled) return undefined;
  if (rt.kind !== 'podman') {
    throw new ClawpodError('USAGE', `spec.browser on ${rt.kind}: the sidecar joins the agent's network namespace through Podman's API, which clawpod drives only on Podman so far`, {
      hint: 'run this agent on Podman (CLAWPOD_RUNTIME=podman), or on Kubernetes with clawpod export/apply (a second container in its Pod)',
    });
  }
  const images = requireFacet(rt, 'images', `the browser sidecar image of ${agent.metadata.name}`);
  // tar-stream and the file walk only for a spec with a browser
  if (agent.spec.browser.image) {
    if (!(await images.inspectImage(agent.spec.browser.image))) throw new ClawpodError('IMAGE_NOT_FOUND', `spec.browser.image ${agent.spec.browser.image} is not on this host`, { hint: 'leave spec.browser.image out to build the sidecar image from this host\'s Chromium, or load that image first' });
    return agent.spec.browser.image;
  }
  return (await import('./image.js')).ensureBrowserImage(images, say);
}

/** The sidecar's container for a planned agent container whose spec asks for a browser. */
export function sidecarOf(agent: Agent, planned: ContainerSpec, image: string): ContainerSpec {
  const b = agent.spec.browser!;
  const mem = parseMemory(b.memory);
  if (!mem.ok) throw new Error('unreachable: the spec was validated');
  return planSidecar(planned, { image, memoryBytes: mem.value, pids: b.pids });
}

/** Creates and starts the sidecar of a running agent; a leftover of the same agent's earlier run is replaced. */
export async function startSidecar(rt: Runtime, sidecar: ContainerSpec): Promise<string> {
  const old = await rt.inspectContainer(sidecar.name);
  if (old) {
    if (old.labels[BROWSER_OF_LABEL] !== sidecar.labels[BROWSER_OF_LABEL]) {
      throw new ClawpodError('NAME_TAKEN', `a container named ${sidecar.name} already exists and is not this agent's browser`, { hint: `remove it (podman rm -f ${sidecar.name}) or run the agent under another --name` });
    }
    await rt.removeContainer(old.id, { force: true });
  }
  const id = await rt.createContainer(sidecar);
  try { await rt.startContainer(id); } catch (e) { await rt.removeContainer(id, { force: true }).catch(() => undefined); throw e; }
  return id;
}

/** The browser of agent instance `name`, when it has one (checked by label: a container merely named so is not). */
async function sidecarFor(rt: Runtime, name: string): Promise<{ id: string; state: ContainerState } | undefined> {
  const d = await rt.inspectContainer(sidecarName(name));
  return d && d.labels[BROWSER_OF_LABEL] === name && d.labels[LABELS.role] === 'browser' ? { id: d.id, state: d.state } : undefined;
}

/** Before the agent stops: a browser left running would hold the old namespace and restart on its own. */
export async function stopSidecar(rt: Runtime, name: string, timeoutSeconds: number): Promise<void> {
  const s = await sidecarFor(rt, name);
  if (s && (s.state === 'running' || s.state === 'restarting' || s.state === 'paused')) await rt.stopContainer(s.id, timeoutSeconds);
}

/**
 * Before the agent is removed: the sidecar first. Removed along with the agent as a joined container,
 * its restart policy raced the removal (CI: "unlinkat …/userdata/shm: device or resource busy").
 */
export async function removeSidecar(rt: Runtime, name: string): Promise<void> {
  const s = await sidecarFor(rt, name);
  if (s) await rt.removeContainer(s.id, { force: true });
}

/** After the agent starts: the browser joins its new namespace (a stop first, should it still hold the old one). */
export async function restartSidecar(rt: Runtime, name: string): Promise<void> {
  const s = await sidecarFor(rt, name);
  if (!s) return;
  if (s.state === 'running' || s.state === 'restarting') await rt.stopContainer(s.id, 2);
  await rt.startContainer(s.id);
}

/** Each agent instance's browser state, for `clawpod ps`. */
export async function sidecarStates(rt: Runtime): Promise<Map<string, ContainerState>> {
  const list = await rt.listContainers({ labels: { [LABELS.role]: 'browser' }, all: true });
  return new Map(list.flatMap((c) => (c.labels[BROWSER_OF_LABEL] ? [[c.labels[BROWSER_OF_LABEL], c.state] as const] : [])));
}
