// The ways an agent gets to its first reply, each as a pair timed round by round: clawpod's way and
// the raw engine's way to the same reply from the same container (same image, hardening, limits,
// id map, OCI runtime: engine-args.ts). Everything a pair makes is registered for removal first.
import { spawnSync } from 'node:child_process';
import type { Config } from '../config.js';
import { ClawpodError } from '../errors.js';
import { startAgent, removeAgent } from '../ops/lifecycle.js';
import { createAgent } from '../ops/run.js';
import type { EngineRuntime, IsolationTier, Runtime } from '../runtime/runtime.js';
import { loadAgents } from '../spec/load.js';
import type { Cleanup } from './cleanup.js';
import { engineRunArgs, type Engine } from './engine-args.js';
import { RawEngine } from './raw-engine.js';
import { timeProcess } from './spawn-timing.js';
import { EXEC_REPLY, plannedContainer, REPLY_AND_STAY, REPLY_ONCE, writeSubject, type Subject } from './subject.js';

export type PathName = 'cold' | 'wake from pause' | 'wake from stop' | 'warm';

export interface Pair {
  readonly path: PathName;
  readonly tier: IsolationTier;
  /** What each side does, for the table's notes and the JSON. */
  readonly clawpodDoes: string;
  readonly rawDoes: string;
  /** Untimed, before each round (pause or stop the containers, refill the pool). */
  prepare?(): Promise<void>;
  /** Milliseconds to the first reply. */
  clawpod(): Promise<number>;
  raw(): Promise<number>;
}

export interface BenchEnv {
  readonly rt: EngineRuntime;
  readonly raw: RawEngine;
  readonly config: Config;
  readonly engine: { readonly kind: Engine; readonly bin: string; readonly env: NodeJS.ProcessEnv };
  /** How this clawpod is started as a child: node, its entry script and the options before the verb (--host: the engine the bench measures). */
  readonly cli: { readonly node: string; readonly script: string; readonly globals: readonly string[]; readonly env: NodeJS.ProcessEnv };
  readonly dir: string;
  /** Prefix of every name the bench gives (agents, pools, raw containers): `bench-XXXX-`. */
  readonly prefix: string;
  readonly cleanup: Cleanup;
  readonly signal: AbortSignal;
}

const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Stops a container (no grace) and waits until the engine says it exited, so the timed start finds it settled. */
async function stopAndSettle(rt: Runtime, id: string): Promise<void> {
  await rt.stopContainer(id, 0);
  for (let i = 0; i < 250; i++) {
    const d = await rt.inspectContainer(id);
    if (!d || d.state === 'exited') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new ClawpodError('RUNTIME_ERROR', `${id} did not settle as exited within 5 s of its stop`, { hint: `${rt.kind} inspect ${id}` });
}

/** Milliseconds from t0 to the first output of an exec of the reply command, through clawpod's runtime driver. */
async function execFirstOutput(rt: Runtime, id: string, t0: bigint): Promise<number> {
  let first: number | undefined;
  await rt.exec(id, { cmd: EXEC_REPLY, onOutput: () => { first ??= since(t0); } });
  if (first === undefined) throw new ClawpodError('RUNTIME_ERROR', `exec ${EXEC_REPLY.join(' ')} in ${id} printed nothing`, { hint: `clawpod exec ${id} ${EXEC_REPLY.join(' ')}` });
  return first;
}

function firstOutputOf(t: { firstOutputMs: number | undefined }, what: string): number {
  if (t.firstOutputMs === undefined) throw new ClawpodError('RUNTIME_ERROR', `${what} printed nothing`, { hint: 'run it by hand to see why' });
  return t.firstOutputMs;
}

function clawpodCli(env: BenchEnv, args: readonly string[]) {
  return timeProcess(env.cli.node, [env.cli.script, ...env.cli.globals, ...args], env.cli.env, env.signal);
}

/** A raw container started detached by the engine's own CLI, removed at the end. */
function rawDetached(env: BenchEnv, s: Subject, name: string): Promise<unknown> {
  env.cleanup.add(`container ${name}`, () => env.rt.removeContainer(name, { force: true }));
  return timeProcess(env.engine.bin, engineRunArgs(plannedContainer(s, name), env.engine.kind, { detach: true }), env.engine.env, env.signal);
}

/** Cold: `clawpod run --rm` (the whole CLI, spec cached) against `ENGINE run --rm` with the same flags; each prints its reply and exits. */
export function coldPair(env: BenchEnv, tier: IsolationTier): Pair {
  const s = writeSubject(env.dir, `${env.prefix}cold-${tier}`, tier, REPLY_ONCE);
  let round = 0;
  return {
    path: 'cold', tier,
    clawpodDoes: `clawpod run --rm -f SPEC (a new process; the reply: ${REPLY_ONCE.join(' ')})`,
    rawDoes: `${env.engine.kind} run --rm with the same flags (a new process)`,
    clawpod: async () => firstOutputOf(await clawpodCli(env, ['run', '--rm', '-f', s.file]), 'clawpod run'),
    raw: async () => {
      const name = `${s.name}-raw${round++}`;
      return firstOutputOf(await timeProcess(env.engine.bin, engineRunArgs(plannedContainer(s, name), env.engine.kind), env.engine.env, env.signal), `${env.engine.kind} run`);
    },
  };
}

/**
 * Wakes of one running agent and its raw twin, both printing their reply at start and staying:
 * from pause (unpause, then an exec's first output) and from stop (start, the container's first output).
 */
export async function wakePairs(env: BenchEnv, tier: IsolationTier): Promise<Pair[]> {
  const s = writeSubject(env.dir, `${env.prefix}wake-${tier}`, tier, REPLY_AND_STAY);
  const loaded = (await loadAgents(s.file, undefined))[0]!;
  env.cleanup.add(`agent ${s.name}`, async () => { await removeAgent(env.rt, env.config, s.name, { force: true, volumes: true }); });
  const r = await createAgent(env.rt, env.config, loaded, { say: () => undefined });
  await env.rt.startContainer(r.id);
  const rawName = `${s.name}-raw`;
  await rawDetached(env, s, rawName);
  const both = (f: (id: string) => Promise<void>) => async () => { await f(r.id); await f(rawName); };
  const clawpodExec = (id: string, t0: bigint) => execFirstOutput(env.rt, id, t0);
  const pause: Pair = {
    path: 'wake from pause', tier,
    clawpodDoes: `unpause through clawpod's runtime driver, then exec ${EXEC_REPLY.join(' ')} → first output`,
    rawDoes: `${env.engine.kind} API: POST unpause, exec create + start → first output`,
    prepare: both((id) => env.rt.pauseContainer(id)),
    clawpod: async () => {
      const t0 = process.hrtime.bigint();
      await env.rt.unpauseContainer(r.id);
      return clawpodExec(r.id, t0);
    },
    raw: async () => { const t0 = process.hrtime.bigint(); await env.raw.unpauseAndExec(rawName, EXEC_REPLY); return since(t0); },
  };
  const stop: Pair = {
    path: 'wake from stop', tier,
    clawpodDoes: `clawpod's start (its instance record, mounts re-checked, secrets re-delivered), then exec ${EXEC_REPLY.join(' ')} → first output`,
    rawDoes: `${env.engine.kind} API: POST start, exec create + start → first output`,
    prepare: both((id) => stopAndSettle(env.rt, id)),
    clawpod: async () => {
      const t0 = process.hrtime.bigint();
      await startAgent(env.rt, env.config, s.name);
      return clawpodExec(r.id, t0);
    },
    raw: async () => { const t0 = process.hrtime.bigint(); await env.raw.startAndExec(rawName, EXEC_REPLY); return since(t0); },
  };
  return [pause, stop];
}

/**
 * Warm: `clawpod run -d` claiming a member of a filled pool, then an exec's first output, against
 * the raw engine's way to the same reply, which has no pool: `ENGINE run -d`, then the exec.
 * Between rounds the claimed agent is removed and the pool refilled (untimed).
 */
export async function warmPair(env: BenchEnv, tier: IsolationTier): Promise<Pair> {
  const s = writeSubject(env.dir, `${env.prefix}warm-${tier}`, tier, REPLY_AND_STAY);
  const cli = async (args: readonly string[]) => {
    const r = spawnSync(env.cli.node, [env.cli.script, ...env.cli.globals, ...args], { env: env.cli.env, encoding: 'utf8' });
    if (r.status !== 0) throw new ClawpodError('RUNTIME_ERROR', `clawpod ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`, { hint: 'run it by hand to see why' });
  };
  let claimed: string | undefined;
  let rawName: string | undefined;
  let round = 0;
  const removeClaimed = async () => { if (claimed) await removeAgent(env.rt, env.config, claimed, { force: true, volumes: true }); claimed = undefined; };
  env.cleanup.add(`warm pool ${s.name}`, () => cli(['pool', 'rm', s.name]));
  env.cleanup.add(`the agent claimed from ${s.name}`, removeClaimed);
  return {
    path: 'warm', tier,
    clawpodDoes: `clawpod run -d -f SPEC claiming a warm member (a new process), then exec ${EXEC_REPLY.join(' ')} → first output`,
    rawDoes: `${env.engine.kind} run -d with the same flags (a new process; the engine has no pool), then the exec`,
    prepare: async () => {
      await removeClaimed();
      if (rawName) await env.rt.removeContainer(rawName, { force: true });
      // waits for the refill the last claim started (the pool's lock), then tops the pool up
      await cli(['pool', 'fill', '--spec', s.file, '--size', '1']);
      rawName = `${s.name}-raw${round++}`;
    },
    clawpod: async () => {
      const t0 = process.hrtime.bigint();
      const out = JSON.parse((await clawpodCli(env, ['--json', 'run', '-d', '-f', s.file])).stdout) as { name: string; claimed: string | null };
      claimed = out.name;
      if (!out.claimed) throw new ClawpodError('RUNTIME_ERROR', `clawpod run -d -f ${s.file} started ${out.name} cold: the warm pool ${s.name} had no member ready`, { hint: `clawpod pool ls ${s.name}` });
      return execFirstOutput(env.rt, out.name, t0);
    },
    raw: async () => {
      const t0 = process.hrtime.bigint();
      await rawDetached(env, s, rawName!);
      await env.raw.exec(rawName!, EXEC_REPLY);
      return since(t0);
    },
  };
}
