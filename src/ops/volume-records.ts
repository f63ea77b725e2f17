// clawpod's own record of the volumes it created: one file per volume in dataDir/volumes-made
// (0700 folder, 0600 files), written when `clawpod run` creates a workspace volume and removed
// when clawpod removes it. Labels on a volume cannot say who made it (anyone with engine access
// sets any label); this record can, because only the user running clawpod writes dataDir.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

export interface VolumeRecord { readonly agent: string; readonly instance: string; readonly createdAt: string }

/** Engine volume names: what Podman and Docker accept, and so never a path outside the folder. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

const folder = (config: Config) => join(config.dataDir, 'volumes-made');
const fileOf = (config: Config, volume: string) => join(folder(config), `${volume}.json`);
const SINCE = '.since';

/** Creates the folder and notes when record keeping began (volumes made before are judged without a record). */
function ensureFolder(config: Config): void {
  mkdirSync(folder(config), { recursive: true, mode: 0o700 });
  const since = join(folder(config), SINCE);
  if (!existsSync(since)) writeFileSync(since, `${new Date().toISOString()}\n`, { mode: 0o600, flag: 'wx' });
}

/** When this data folder began keeping records (now, if it had not: nothing made later goes unrecorded). */
export function recordsSince(config: Config): Date {
  try { ensureFolder(config); } catch { /* a concurrent first writer: read its date */ }
  const d = new Date(readFileSync(join(folder(config), SINCE), 'utf8').trim());
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

export function recordMadeVolume(config: Config, volume: string, who: { agent: string; instance: string }): void {
  if (!VOLUME_NAME.test(volume)) return;
  try { ensureFolder(config); } catch { /* see recordsSince */ }
  const rec: VolumeRecord = { ...who, createdAt: new Date().toISOString() };
  writeFileSync(fileOf(config, volume), `${JSON.stringify(rec)}\n`, { mode: 0o600 });
}

/** The record of a volume clawpod made, or undefined. */
export function madeVolume(config: Config, volume: string): VolumeRecord | undefined {
  if (!VOLUME_NAME.test(volume)) return undefined;
  try { return JSON.parse(readFileSync(fileOf(config, volume), 'utf8')) as VolumeRecord; } catch { return undefined; }
}

export function forgetMadeVolume(config: Config, volume: string): void {
  if (VOLUME_NAME.test(volume)) rmSync(fileOf(config, volume), { force: true });
}
