import { describe, expect, it } from 'vitest';
import { decide, type QueueState } from '../../src/control/queue.js';

const q = (...ids: [string, string][]) => ids.map(([id, group]) => ({ id, group }));

describe('GroupQueue decisions', () => {
  it('starts one container per waiting group up to the limit, oldest group first', () => {
    const s: QueueState = { limit: 2, queued: q(['m1', 'a'], ['m2', 'b'], ['m3', 'a'], ['m4', 'c']), sessions: [] };
    expect(decide(s)).toEqual([{ kind: 'start', group: 'a' }, { kind: 'start', group: 'b' }]);
  });

  it('delivers to a running container as follow-ups, but not to one still starting', () => {
    const s: QueueState = { limit: 5, queued: q(['m1', 'a'], ['m2', 'b'], ['m3', 'a']), sessions: [{ group: 'a', phase: 'busy' }, { group: 'b', phase: 'starting' }] };
    expect(decide(s)).toEqual([{ kind: 'deliver', group: 'a', messageId: 'm1' }, { kind: 'deliver', group: 'a', messageId: 'm3' }]);
  });

  it('preempts the longest-idle container of another group when full', () => {
    const s: QueueState = {
      limit: 2, queued: q(['m1', 'c']),
      sessions: [{ group: 'a', phase: 'idle', idleSince: 200 }, { group: 'b', phase: 'idle', idleSince: 100 }],
    };
    expect(decide(s)).toEqual([{ kind: 'preempt', group: 'b' }]);
  });

  it('waits when every container is busy, and does not preempt twice for one waiting group', () => {
    expect(decide({ limit: 1, queued: q(['m1', 'b']), sessions: [{ group: 'a', phase: 'busy' }] })).toEqual([]);
    expect(decide({ limit: 2, queued: q(['m1', 'c']), sessions: [{ group: 'a', phase: 'closing' }, { group: 'b', phase: 'idle' }] })).toEqual([]);
  });

  it('does not preempt a container that is about to get a follow-up', () => {
    const s: QueueState = { limit: 1, queued: q(['m1', 'a'], ['m2', 'b']), sessions: [{ group: 'a', phase: 'idle' }] };
    expect(decide(s)).toEqual([{ kind: 'deliver', group: 'a', messageId: 'm1' }]);
  });

  it('six groups with a limit of five: the sixth waits', () => {
    const groups = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];
    const actions = decide({ limit: 5, queued: groups.map((g, i) => ({ id: `m${i}`, group: g })), sessions: [] });
    expect(actions.map((a) => a.kind === 'start' && a.group)).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
  });

  it('a container whose process has exited and is being removed frees its slot, but not for its own group', () => {
    const s: QueueState = { limit: 1, queued: q(['m1', 'a'], ['m2', 'b']), sessions: [{ group: 'a', phase: 'removing' }] };
    // b starts in the freed slot; a waits for the removal (its next container takes the same name), and gets nothing delivered
    expect(decide(s)).toEqual([{ kind: 'start', group: 'b' }]);
  });
});
