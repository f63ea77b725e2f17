// GroupQueue's decisions as a pure function: given who waits and what runs, what to do next.
// Rules: at most `limit` session containers at once (closing ones still count: their memory is
// not free yet; one whose process has exited and is only being removed does not, but its group
// waits for the removal, since the next container takes the same name); one container per group; per-group FIFO; a waiting group may preempt an idle
// container of another group; a group's messages go to its running container as follow-ups.

export type SessionPhase = 'starting' | 'busy' | 'idle' | 'closing' | 'removing';

export interface QueueState {
  readonly limit: number;
  /** Queued messages, oldest first. */
  readonly queued: readonly { readonly id: string; readonly group: string }[];
  readonly sessions: readonly { readonly group: string; readonly phase: SessionPhase; readonly idleSince?: number }[];
}

export type Action =
  | { readonly kind: 'deliver'; readonly group: string; readonly messageId: string }
  | { readonly kind: 'start'; readonly group: string }
  | { readonly kind: 'preempt'; readonly group: string };

export function decide(s: QueueState): Action[] {
  const actions: Action[] = [];
  const byGroup = new Map(s.sessions.map((x) => [x.group, x]));
  const waiting: string[] = [];
  for (const m of s.queued) {
    const session = byGroup.get(m.group);
    if (session && (session.phase === 'busy' || session.phase === 'idle')) actions.push({ kind: 'deliver', group: m.group, messageId: m.id });
    else if (!session && !waiting.includes(m.group)) waiting.push(m.group);
    // a starting session gets its messages once it is up; a closing one, after it is gone
  }
  let running = s.sessions.filter((x) => x.phase !== 'removing').length;
  const delivered = new Set(actions.map((a) => a.group));
  // idle sessions that nothing is about to use, longest idle first
  const preemptable = s.sessions
    .filter((x) => x.phase === 'idle' && !delivered.has(x.group))
    .sort((a, b) => (a.idleSince ?? 0) - (b.idleSince ?? 0));
  const closing = s.sessions.filter((x) => x.phase === 'closing').length;
  let freeing = closing;
  for (const group of waiting) {
    if (running < s.limit) {
      actions.push({ kind: 'start', group });
      running++;
    } else if (freeing > 0) {
      freeing--; // a slot is already being freed for this one
    } else {
      const victim = preemptable.shift();
      if (!victim) break;
      actions.push({ kind: 'preempt', group: victim.group });
    }
  }
  return actions;
}
