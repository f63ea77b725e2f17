// Chooses the base image of the agent image: an explicit one, an official Node image
// (local or pulled), or — when no registry answers — one built from the host's Node.
import type { Config } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import { isClawpodError, messageOf } from '../errors.js';
import { buildHostBase } from './host-base.js';

export const OFFICIAL_NODE_BASE = 'docker.io/library/node:20-bookworm-slim';

export function hostBaseRef(nodeVersion = process.versions.node): string {
  return `localhost/clawpod-node-base:${nodeVersion}`;
}

export interface BaseChoice {
  readonly ref: string;
  readonly how: 'explicit' | 'local' | 'pulled' | 'host-built';
}

export async function resolveBase(runtime: Runtime, config: Config, opts: { base?: string; say: (s: string) => void }): Promise<BaseChoice> {
  const explicit = opts.base ?? config.baseImage;
  if (explicit) return { ref: explicit, how: 'explicit' };
  if (await runtime.inspectImage(OFFICIAL_NODE_BASE)) return { ref: OFFICIAL_NODE_BASE, how: 'local' };
  const hostRef = hostBaseRef();
  if (await runtime.inspectImage(hostRef)) {
    opts.say(`using ${hostRef} (built earlier from this host's Node ${process.versions.node}; no registry image is present)`);
    return { ref: hostRef, how: 'local' };
  }
  try {
    opts.say(`pulling ${OFFICIAL_NODE_BASE}`);
    await runtime.pullImage(OFFICIAL_NODE_BASE, { timeoutMs: 30_000, onProgress: (l) => opts.say(`  ${l}`) });
    return { ref: OFFICIAL_NODE_BASE, how: 'pulled' };
  } catch (e) {
    const why = isClawpodError(e) ? e.message : messageOf(e);
    opts.say(`no registry answered (${why.slice(0, 160)})`);
    opts.say(`building the base image ${hostRef} from this host's Node ${process.versions.node} instead`);
  }
  await buildHostBase(runtime, {
    nodeBin: process.execPath, busybox: '/bin/busybox', caBundle: config.caBundle, ref: hostRef,
    onProgress: (l) => opts.say(`  ${l}`),
  });
  return { ref: hostRef, how: 'host-built' };
}
