// What the benchmark runs: a hardened agent with clawpod's defaults (image, user, limits, no network,
// read-only root) and only its command and isolation tier set, as a spec file for the CLI and as the
// ContainerSpec clawpod plans for it, which the raw engine's run is derived from (engine-args.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planContainer } from '../plan/plan.js';
import type { ContainerSpec, IsolationTier } from '../runtime/runtime.js';
import { DEFAULTS } from '../spec/defaults.js';
import { parseAgents } from '../spec/parse.js';

/** Prints its first reply and exits: a cold start's whole life. */
export const REPLY_ONCE = ['/bin/echo', 'ready'] as const;
/** Prints its first reply and stays (a PID 1 ends on SIGTERM only with a handler: removal needs no 10 s grace): what a wake or a claim brings back. */
export const REPLY_AND_STAY = ['/bin/sh', '-c', 'trap "exit 0" TERM; echo ready; sleep infinity & wait'] as const;
/** What an exec in a running agent answers with. */
export const EXEC_REPLY = ['/bin/echo', 'ready'] as const;

export interface Subject {
  /** The agent's name (metadata.name): instance 0 of it is the container clawpod makes. */
  readonly name: string;
  readonly file: string;
  readonly text: string;
}

export function writeSubject(dir: string, name: string, tier: IsolationTier, command: readonly string[]): Subject {
  const text = [
    'apiVersion: clawpod.dev/v1alpha1', 'kind: Agent', `metadata: {name: ${name}}`, 'spec:',
    `  image: ${DEFAULTS.image}`, `  command: ${JSON.stringify(command)}`, `  isolation: ${tier}`, '  workspace: {enabled: false}', '',
  ].join('\n');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return { name, file, text };
}

/** The container clawpod plans for the subject, named `containerName` (the raw engine's twin of it). */
export function plannedContainer(s: Subject, containerName: string): ContainerSpec {
  const { agent, dir } = parseAgents(s.text, s.file)[0]!;
  return planContainer(agent, { instanceName: containerName, index: 0, ports: [], mounts: [], secretEnv: {}, secretsHostDir: undefined, specDir: dir, now: new Date() });
}
