// What a control plane does at start with what its previous run left: session containers it
// labelled are removed, their sessions ended (tokens revoked), and messages that were in flight go
// back to the queue (or fail after their last attempt) — so after a crash nothing is lost and no
// container is left without a session.
import { rmSync } from 'node:fs';
import type { Runtime } from '../runtime/runtime.js';
import { LABELS } from '../spec/defaults.js';
import type { MessageRow, Store } from './store.js';

export interface RecoveryDeps {
  readonly rt: Runtime;
  readonly store: Store;
  /** The label value this control plane puts on its session containers. */
  readonly controlId: string;
  /** Host folder of the sessions' follow-up folders: emptied. */
  readonly ipcRoot: string;
  readonly say: (line: string) => void;
  readonly record: (sessionId: string | null, messageId: string | null, type: string, data: unknown) => void;
  readonly interrupted: (m: MessageRow, why: string) => void;
}

export async function recover(d: RecoveryDeps): Promise<void> {
  const left = await d.rt.listContainers({ labels: { [LABELS.role]: 'session', [LABELS.control]: d.controlId } });
  for (const c of left) {
    d.say(`removing ${c.name}, left running by the previous control plane (session ${c.labels[LABELS.session] ?? '?'})`);
    await d.rt.removeContainer(c.id, { force: true });
  }
  rmSync(d.ipcRoot, { recursive: true, force: true });
  d.store.transaction(() => {
    for (const s of d.store.openSessions()) {
      d.store.revokeTokens({ session: s.id }, 'its session ended with a control plane restart');
      d.store.endSession(s.id, 'the control plane stopped while this session ran');
      d.record(s.id, null, 'session_ended', { reason: 'control plane restart' });
    }
    for (const m of d.store.inFlight()) d.interrupted(m, 'the control plane stopped while it ran');
  });
}
