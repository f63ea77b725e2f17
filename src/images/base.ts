// Chooses the base image of an agent image: an explicit one, an official Node image
// (local or pulled), or — when no registry answers — one built from a Node binary we have:
// the host's own when its major version fits, else the official build from the npm registry.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Images } from '../runtime/runtime.js';
import { isClawpodError, messageOf } from '../errors.js';
import { buildHostBase } from './host-base.js';
import { cachedNodeVersions, latestNodeVersion, nodeBinary } from './node-dist.js';

/** The Node major the reference runner targets (the host's, in practice). */
export const DEFAULT_NODE_MAJOR = 20;

export function officialNodeBase(major: number): string {
  return `docker.io/library/node:${major}-bookworm-slim`;
}
export const OFFICIAL_NODE_BASE = officialNodeBase(DEFAULT_NODE_MAJOR);

export function hostBaseRef(nodeVersion = process.versions.node): string {
  return `localhost/clawpod-node-base:${nodeVersion}`;
}

export interface BaseChoice {
  readonly ref: string;
  readonly how: 'explicit' | 'local' | 'pulled' | 'host-built';
}

const majorOf = (v: string) => Number(v.split('.')[0]);

export async function resolveBase(runtime: Images, config: Config, opts: { base?: string; nodeMajor?: number; say: (s: string) => void }): Promise<BaseChoice> {
  const major = opts.nodeMajor ?? DEFAULT_NODE_MAJOR;
  const hostFits = majorOf(process.versions.node) === major;
  // CLAWPOD_BASE_IMAGE names the reference runner's base; other Node lines need --base
  const explicit = opts.base ?? (major === DEFAULT_NODE_MAJOR ? config.baseImage : undefined);
  if (explicit) return { ref: explicit, how: 'explicit' };
  const official = officialNodeBase(major);
  if (await runtime.inspectImage(official)) return { ref: official, how: 'local' };
  const cache = join(config.dataDir, 'cache');
  const cachedVersion = hostFits ? process.versions.node : cachedNodeVersions(cache).filter((v) => majorOf(v) === major).pop();
  const have = cachedVersion ? hostBaseRef(cachedVersion) : undefined;
  if (have && (await runtime.inspectImage(have))) {
    opts.say(`using ${have} (built earlier from a Node ${major} binary; no registry image is present)`);
    return { ref: have, how: 'local' };
  }
  try {
    opts.say(`pulling ${official}`);
    await runtime.pullImage(official, { timeoutMs: 30_000, onProgress: (l) => opts.say(`  ${l}`) });
    return { ref: official, how: 'pulled' };
  } catch (e) {
    const why = isClawpodError(e) ? e.message : messageOf(e);
    opts.say(`no registry answered (${why.slice(0, 160)})`);
  }
  let nodeBin = process.execPath;
  let version = process.versions.node;
  if (!hostFits) {
    version = cachedVersion ?? (await latestNodeVersion(major));
    nodeBin = await nodeBinary(version, cache, opts.say);
  }
  const ref = hostBaseRef(version);
  opts.say(`building the base image ${ref} from ${hostFits ? "this host's" : 'the official'} Node ${version} instead`);
  await buildHostBase(runtime, { nodeBin, busybox: '/bin/busybox', caBundle: config.caBundle, ref, onProgress: (l) => opts.say(`  ${l}`) });
  return { ref, how: 'host-built' };
}
