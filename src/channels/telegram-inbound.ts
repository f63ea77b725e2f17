// Telegram updates → the router's Inbound (pure): which updates are messages, their text, files and
// commands addressed to this bot.
import type { Inbound, InboundFile } from './types.js';

/** The parts of a Bot API Update this adapter reads (https://core.telegram.org/bots/api#update). */
export interface TgUpdate {
  readonly update_id: number;
  readonly message?: TgMessage;
}
interface TgMessage {
  readonly message_id: number;
  readonly chat: { readonly id: number; readonly type: string };
  readonly from?: { readonly id: number; readonly username?: string };
  readonly text?: string;
  readonly caption?: string;
  readonly document?: { readonly file_id: string; readonly file_unique_id: string; readonly file_name?: string; readonly file_size?: number };
  readonly photo?: readonly { readonly file_id: string; readonly file_unique_id: string; readonly width: number; readonly height: number; readonly file_size?: number }[];
}

/** Downloads a file by its file_id (getFile, then the file URL). */
export type FetchFile = (fileId: string) => Promise<Buffer>;

/**
 * The message an update carries, or undefined for what the router never sees: edited messages,
 * channel posts, joins, stickers and anything else without text or a file.
 */
export function toInbound(u: TgUpdate, botUsername: string, fetchFile: FetchFile): Inbound | undefined {
  const m = u.message;
  if (!m) return undefined;
  const files: InboundFile[] = [];
  if (m.document) {
    const d = m.document;
    files.push({ name: d.file_name ?? `document-${d.file_unique_id}`, size: d.file_size, fetch: () => fetchFile(d.file_id) });
  }
  if (m.photo && m.photo.length > 0) {
    // Telegram sends every size it made; the largest is the original
    const p = m.photo.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    files.push({ name: `photo-${p.file_unique_id}.jpg`, size: p.file_size, fetch: () => fetchFile(p.file_id) });
  }
  const text = stripMention(m.text ?? m.caption ?? '', botUsername);
  if (!text && files.length === 0) return undefined;
  return {
    key: String(u.update_id),
    chat: String(m.chat.id),
    user: m.from ? (m.from.username ?? String(m.from.id)) : undefined,
    text,
    ...(files.length > 0 ? { files } : {}),
  };
}

/** "/new@thebot args" → "/new args" (groups address commands to one bot); other bots' commands stay as they are. */
export function stripMention(text: string, botUsername: string): string {
  const m = /^(\/[A-Za-z0-9_]+)@([A-Za-z0-9_]+)(?=\s|$)/.exec(text);
  if (!m || m[2]!.toLowerCase() !== botUsername.toLowerCase()) return text;
  return m[1]! + text.slice(m[0].length);
}
