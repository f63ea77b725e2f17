// The part of payload.ts every `clawpod run` needs: how a run's outside changes are settled, and the
// nothing a spec without a profile prepares. Kept apart so such a run never loads payload.ts and
// what it brings (JSON5, tar, the vault: most of the code a cold `clawpod run` would load otherwise).
import type { Prepared } from './payload.js';
import type { Agent } from '../spec/schema.js';

/**
 * What a run changed outside the container (vault entries, gateway tokens), settled once its fate is
 * known: commit when the agent is up (an earlier model token is revoked only then, so a failed re-run
 * or upgrade never cuts off the running one), roll back when it is not.
 */
export interface PayloadFinish { commit(): Promise<void>; rollback(): Promise<void> }
export const NOTHING: PayloadFinish = { commit: async () => undefined, rollback: async () => undefined };

/** Whichever of commit and rollback comes first is the one that happens (a --rm after a good run rolls nothing back). */
export function settleOnce(f: PayloadFinish): PayloadFinish {
  let settled = false;
  const once = (step: () => Promise<void>) => async () => { if (settled) return; settled = true; await step(); };
  return { commit: once(() => f.commit()), rollback: once(() => f.rollback()) };
}

/** What an agent without a payload profile prepares: nothing. */
export function unprofiled(agent: Agent): Prepared {
  return { agent, profile: undefined, created: [], render: undefined, finish: NOTHING };
}
