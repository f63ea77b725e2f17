// File bytes → text for the files a user writes (specs, manifests). Kept apart from the YAML
// parser so the cached-spec path (src/spec/load.ts) can read a file without loading yaml.
import { ClawpodError } from '../errors.js';

/** Offset of the first byte that is not UTF-8: where a U+FFFD appears that the file did not spell out. */
function firstBadByte(bytes: Uint8Array): number {
  let off = 0;
  for (const ch of Buffer.from(bytes).toString('utf8')) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0xfffd && !(bytes[off] === 0xef && bytes[off + 1] === 0xbf && bytes[off + 2] === 0xbd)) return off;
    off += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return off;
}

/** Bytes of a file → text, a leading BOM dropped; a file that is not UTF-8 is refused at its first bad byte (Node would put U+FFFD in silently). */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstBadByte(bytes);
    const before = Buffer.from(bytes.subarray(0, bad)).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    throw new ClawpodError('YAML_MALFORMED', `${file} is not UTF-8 text`, {
      details: [`${file}:${line}:${col} byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} is not UTF-8`],
      hint: `save the file as UTF-8 (e.g. \`iconv -f LATIN1 -t UTF-8 ${file}\`)`,
    });
  }
}
