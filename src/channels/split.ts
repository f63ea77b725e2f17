// Long answers split at the platform's limit: at a paragraph break if one is near the end of the
// chunk, else at a line break, else at a space, else hard (a 5,000-character URL has no better place).

/** Splits `text` into chunks of at most `max` characters (UTF-16 units, as Telegram and Slack count). */
export function splitText(text: string, max: number): string[] {
  if (max < 1) throw new RangeError(`max must be at least 1, got ${max}`);
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    // only breaks in the chunk's second half: an early break would make many tiny messages
    const floor = Math.floor(max / 2);
    let cut = -1;
    for (const sep of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(sep);
      if (at >= floor) { cut = at + sep.length; break; }
    }
    if (cut <= 0) {
      cut = max;
      // never split a surrogate pair: half an emoji is a broken character on both sides
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    out.push(rest.slice(0, cut).trimEnd() || rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || out.length === 0) out.push(rest);
  return out;
}
