// What clawpod itself knows of an instance it created: the container's id, the spec it ran, its
// workspace volume and the secret values the agent was given, in dataDir/instances/NAME.json
// (0600, folder 0700). A container's labels (a Job's annotations) are written by whoever creates
// the container or patches the Job, so they are for display only: everything clawpod later acts
// on (re-delivering secrets, upgrade, restore, removing Podman secrets, redacting output) comes
// from this record, and only while its id is the container's (a namesake is not the instance).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import type { ContainerDetails } from '../runtime/runtime.js';
import type { Agent } from '../spec/schema.js';
import { claimedSpec } from './claims.js';

export interface InstanceRecord {
  /** The runtime's id of the container this record describes. */
  readonly id: string;
  readonly agent: Agent;
  /** The folder the spec came from: relative secret paths resolve against it. */
  readonly specDir: string;
  readonly volume?: string;
  /** Every secret value the agent was given, by the name it has there: what `logs` and `exec` redact. */
  readonly secrets: readonly { readonly name: string; readonly value: string }[];
  /** When this instance was first run: a ttl counts from here (an upgrade or a re-run of the name keeps it; `rm` ends it). */
  readonly bornAt?: string;
  /** Set while this container is an unclaimed warm-pool member (src/ops/pool.ts); a claim records the instance without it. */
  readonly member?: WarmMark;
}

/** Which pool a member belongs to and the hash of the spec it was made from (src/ops/pool-spec.ts). */
export interface WarmMark { readonly pool: string; readonly hash: string }

/** Container names are one path component; anything else is never a record of ours. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

function recordFile(config: Config, name: string): string | undefined {
  return NAME.test(name) ? join(config.dataDir, 'instances', `${name}.json`) : undefined;
}

export function recordInstance(config: Config, name: string, rec: InstanceRecord): void {
  const file = recordFile(config, name);
  if (!file) throw new ClawpodError('NAME_INVALID', `"${name}" is not a container name clawpod keeps records for`, { hint: 'use letters, digits, "_", "." and "-", starting with a letter or digit' });
  mkdirSync(join(config.dataDir, 'instances'), { recursive: true, mode: 0o700 });
  let bornAt = rec.bornAt;
  try { bornAt ??= (JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord).bornAt; } catch { /* the first run of the name */ }
  rmSync(file, { force: true }); // a fresh 0600 file, whatever mode an older one had
  writeFileSync(file, JSON.stringify({ ...rec, bornAt: bornAt ?? new Date().toISOString() }), { mode: 0o600 });
}

/** Names with a record that start with `prefix` (a warm pool's members), without asking the engine. */
export function recordedNames(config: Config, prefix: string): string[] {
  let files: string[] = [];
  try { files = readdirSync(join(config.dataDir, 'instances')); } catch { /* nothing recorded yet */ }
  return files.filter((f) => f.startsWith(prefix) && f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
}

/** The record kept under NAME, whichever container it describes (check its id before acting on one). */
export function recordOf(config: Config, name: string): InstanceRecord | undefined {
  const file = recordFile(config, name);
  if (!file) return undefined;
  try { return JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord; } catch { return undefined; }
}

/** The record of this very container, or undefined (made by another tool, or before records existed). */
export function instanceRecord(config: Config, d: Pick<ContainerDetails, 'id' | 'name'>): InstanceRecord | undefined {
  const rec = recordOf(config, d.name);
  return rec?.id === d.id ? rec : undefined;
}

/** Adds values given to the agent again (re-delivered after a reboot: a rotated secret's new value too). */
export function recordValues(config: Config, d: Pick<ContainerDetails, 'id' | 'name'>, values: InstanceRecord['secrets']): void {
  const rec = instanceRecord(config, d);
  if (!rec) return;
  const seen = new Set(rec.secrets.map((s) => `${s.name}\0${s.value}`));
  recordInstance(config, d.name, { ...rec, secrets: [...rec.secrets, ...values.filter((s) => !seen.has(`${s.name}\0${s.value}`))] });
}

/**
 * The pool mark of an unclaimed warm-pool member this data dir made, from its record (never its
 * labels): pools, idle tiers and ttls leave other containers and claimed members to their verbs.
 */
export function warmMember(config: Config, d: Pick<ContainerDetails, 'id' | 'name'>): WarmMark | undefined {
  return instanceRecord(config, d)?.member;
}

export function forgetInstance(config: Config, name: string): void {
  const file = recordFile(config, name);
  if (file) rmSync(file, { force: true });
}

/**
 * The spec clawpod ran for this container (a claimed warm-pool member's claim record, else its own
 * record), only when clawpod has a record of this very container.
 */
export function trustedSpec(config: Config, d: Pick<ContainerDetails, 'id' | 'name'>): { agent: Agent; specDir: string } | undefined {
  const rec = instanceRecord(config, d);
  return rec ? claimedSpec(config, d.name) ?? rec : undefined;
}

/** The refusal for an action that needs to know what clawpod ran, on a container it has no record of. */
export function noRecord(name: string, action: string): ClawpodError {
  return new ClawpodError('NOT_FOUND', `clawpod has no record of running ${name}, so it will not ${action} (its labels are not trusted: anyone who can create a container can write them)`, {
    hint: `if clawpod made it before records were kept, re-create it from its spec: clawpod rm -f ${name} && clawpod run -d -f SPEC (the workspace volume is kept)`,
  });
}

/**
 * The spec recorded for NAME whose container is gone (a destroy resumed after a crash): only to
 * clean up what that run made (its Podman secrets); never to act on a container.
 */
export function leftoverSpec(config: Config, name: string): Agent | undefined {
  const file = recordFile(config, name);
  if (!file) return undefined;
  try { return (JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord).agent; } catch { return undefined; }
}

/**
 * When the agent in this container began, for its ttl: the claim of a warm-pool member (its time
 * in the pool does not count), else its record's first run, else the engine's creation time.
 */
export function bornAt(config: Config, d: Pick<ContainerDetails, 'id' | 'name' | 'createdAt'>): number {
  const claimed = claimedSpec(config, d.name) as { at?: string } | undefined;
  const t = Date.parse(claimed?.at ?? instanceRecord(config, d)?.bornAt ?? d.createdAt);
  return Number.isFinite(t) ? t : Date.parse(d.createdAt);
}
