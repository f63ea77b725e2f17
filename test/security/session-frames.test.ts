// A session's runner speaks only for the messages it was given. A malicious agent that learned
// another group's message id (40 random bits; defence in depth) writes text, tool calls and an
// `end` for it: every such frame is refused as malformed and nothing reaches the daemon's events.
import { describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/agent/protocol.js';
import { Session } from '../../src/control/session.js';

describe('S1 frames for a message the session is not working on', () => {
  it('are refused as malformed; frames for its own message pass', () => {
    const passed: RunnerEvent[] = [];
    const refused: string[] = [];
    const s = new Session({} as never, {} as never, { id: 's1', group: 'a', ipcRoot: '/nonexistent' } as never, {
      onEvent: (_s, e) => passed.push(e),
      onBadOutput: (_s, kind, detail) => refused.push(`${kind}: ${detail}`),
      onExpired: () => undefined, onExit: () => undefined,
    });
    s.inflight.add('m_own');
    const event = (e: RunnerEvent) => (s as unknown as { event(e: RunnerEvent): void }).event(e);
    event({ type: 'text', messageId: 'm_other_group', delta: 'INJECTED' });
    event({ type: 'tool_call', messageId: 'm_other_group', id: 't', name: 'bash', input: {} });
    event({ type: 'end', messageId: 'm_other_group', stopReason: 'end_turn' });
    event({ type: 'text', messageId: 'm_own', delta: 'mine' });
    expect(passed).toEqual([{ type: 'text', messageId: 'm_own', delta: 'mine' }]);
    expect(refused).toHaveLength(3);
    expect(refused[0]).toBe('malformed: a text frame for message m_other_group, which this session is not working on');
  });
});
