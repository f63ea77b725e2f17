// The chat commands every channel understands. Parsing is pure; what they do is the router's.

export type Command =
  | { readonly kind: 'new' } | { readonly kind: 'status' } | { readonly kind: 'stop' }
  | { readonly kind: 'model'; readonly name: string | undefined } | { readonly kind: 'help' };

const KNOWN = new Set(['new', 'status', 'stop', 'model', 'help', 'start']);

/** `/new`, `/model NAME`; anything else (also `/unknown`) is a message. `/new@SomeBot` is a
 *  command for another bot in the same group: the Telegram adapter strips our own name first. */
export function parseCommand(text: string): Command | undefined {
  const m = /^\/([a-z]+)(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m || !KNOWN.has(m[1]!)) return undefined;
  const arg = m[2]?.trim() || undefined;
  switch (m[1]) {
    case 'new': return { kind: 'new' };
    case 'status': return { kind: 'status' };
    case 'stop': return { kind: 'stop' };
    case 'model': return { kind: 'model', name: arg };
    default: return { kind: 'help' };
  }
}

export const HELP_TEXT = [
  'I answer every message in this chat with this group\'s agent.',
  '/new — start a fresh conversation',
  '/status — what the agent is doing',
  '/stop — stop the current answer',
  '/model NAME — switch to another allowed model',
].join('\n');

export const UNBOUND_TEXT = 'Hello! This chat is not connected to an agent yet. An operator can connect it with `clawpod channel bind CHANNEL CHAT GROUP`.';
