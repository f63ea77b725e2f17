// Names and sizes of the files that travel with messages (src/agent/attachments.ts on the
// runner, src/control/message-files.ts on the host): the same rules on both sides, no I/O here.
// A name is reduced to one plain path segment, so it can never point anywhere but where it is put.
/** What one message may carry either way (the host's CHANNEL_DEFAULTS.maxFileBytes is the same 10 MiB). */
export const FILE_LIMITS = Object.freeze({ maxFiles: 10, maxFileBytes: 10 * 1024 * 1024, maxNameChars: 100 });

/** Characters base64 needs for `bytes` bytes (with padding). */
export const base64Chars = (bytes: number): number => Math.ceil(bytes / 3) * 4;

// C0/C1 controls, and bidi overrides that make a name read differently from what it is
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A name that is one plain path segment: the last segment of what was given (either slash), no
 * control characters, no `..`, no leading dot or dash (hidden files, options), at most 100
 * characters (the extension kept); "file" when nothing is left.
 */
export function safeFileName(given: string): string {
  const segs = String(given).normalize('NFC').replace(UNSAFE, '').split(/[\\/]/).map((s) => s.trim()).filter(Boolean);
  let name = (segs.at(-1) ?? '').replace(/\.{2,}/g, '.').replace(/^[.\-\s]+/, '').trim();
  if (!name) name = 'file';
  return fit(name, FILE_LIMITS.maxNameChars);
}

/** `name` cut to `max` characters (code points, never half a surrogate pair), keeping a short extension. */
function fit(name: string, max: number): string {
  const chars = [...name];
  if (chars.length <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? [...name.slice(dot)] : [];
  if (ext.length > 0 && ext.length <= 16) return chars.slice(0, max - ext.length).join('') + ext.join('');
  return chars.slice(0, max).join('');
}

/** The n-th variant of a name: report.txt, report-2.txt, report-3.txt … (still within the length limit). */
export function numbered(name: string, n: number): string {
  if (n <= 1) return name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const suffix = `-${n}${ext}`;
  return fit(stem, Math.max(1, FILE_LIMITS.maxNameChars - [...suffix].length)) + suffix;
}

/** Safe names for a list of given names, a repeated one numbered (-2, -3 …) so none collide. */
export function uniqueNames(given: readonly string[]): string[] {
  const taken = new Set<string>();
  return given.map((g) => {
    const base = safeFileName(g);
    let n = 1;
    while (taken.has(numbered(base, n))) n++;
    const name = numbered(base, n);
    taken.add(name);
    return name;
  });
}

/** A base64 text's decoded length, or undefined when it is not canonical padded base64. */
export function base64Length(data: string): number | undefined {
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return undefined;
  const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - pad;
}

/** The longest `file` frame a runner may write (one file at the limit, base64, and its fields). */
export const FILE_FRAME_CHARS = base64Chars(FILE_LIMITS.maxFileBytes) + 64 * 1024;
/** The longest Inbound line (stdin) or follow-up file: a message's text and all its files at the limit. */
export const INBOUND_LINE_CHARS = FILE_LIMITS.maxFiles * (base64Chars(FILE_LIMITS.maxFileBytes) + 4096) + 1024 * 1024;

type Fields = Record<string, unknown>;

/** A `file` frame the host can take: a safe name, a size within the limit that matches its base64 data. */
export function fileFrameOk(e: Fields): boolean {
  return typeof e.messageId === 'string' && typeof e.name === 'string' && e.name !== '' && safeFileName(e.name) === e.name
    && Number.isInteger(e.size) && (e.size as number) >= 0 && (e.size as number) <= FILE_LIMITS.maxFileBytes
    && typeof e.data === 'string' && e.data.length <= base64Chars(FILE_LIMITS.maxFileBytes) && base64Length(e.data) === e.size;
}

/** A message's files as the host hands them over (StartDoc.message.files, Inbound.files): a list of { name, data (base64) } within the limits. */
export function inboundFilesOk(v: unknown): boolean {
  return Array.isArray(v) && v.length <= FILE_LIMITS.maxFiles
    && v.every((f: unknown) => typeof f === 'object' && f !== null && typeof (f as Fields).name === 'string' && typeof (f as Fields).data === 'string'
      && base64Length((f as Fields).data as string) !== undefined && (base64Length((f as Fields).data as string) as number) <= FILE_LIMITS.maxFileBytes);
}
