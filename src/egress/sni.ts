// Reads the server name (SNI) from the first TLS record a client sends through a CONNECT tunnel,
// without terminating TLS: the proxy compares it with the CONNECT host (domain fronting).
// Bounds are checked at every step; anything unexpected is "not a ClientHello we can read".

export type ClientHelloPeek =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'hello'; readonly serverName: string | undefined };

/** The largest first record the proxy waits for (a ClientHello with many extensions, post-quantum key shares). */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

export function peekClientHello(buf: Buffer): ClientHelloPeek {
  if (buf.length < 1) return { kind: 'need-more' };
  if (buf[0] !== 0x16) return { kind: 'not-tls' }; // handshake record
  if (buf.length < 5) return { kind: 'need-more' };
  if (buf[1] !== 0x03) return { kind: 'not-tls' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return buf.length >= MAX_HELLO_BYTES ? { kind: 'not-tls' } : { kind: 'need-more' };
  // A ClientHello split over several records is legal but rare; the proxy treats it as unreadable (refused).
  const r = buf.subarray(5, 5 + recordLen);
  let p = 0;
  const need = (n: number): boolean => p + n <= r.length;
  if (!need(4) || r[0] !== 0x01) return { kind: 'not-tls' }; // client_hello
  const helloLen = r.readUIntBE(1, 3);
  p = 4;
  if (!need(helloLen)) return { kind: 'not-tls' };
  const end = p + helloLen;
  p += 2 + 32; // version, random
  if (p + 1 > end) return { kind: 'not-tls' };
  p += 1 + r[p]!; // session id
  if (p + 2 > end) return { kind: 'not-tls' };
  p += 2 + r.readUInt16BE(p); // cipher suites
  if (p + 1 > end) return { kind: 'not-tls' };
  p += 1 + r[p]!; // compression methods
  if (p === end) return { kind: 'hello', serverName: undefined }; // no extensions
  if (p + 2 > end) return { kind: 'not-tls' };
  const extEnd = p + 2 + r.readUInt16BE(p);
  p += 2;
  if (extEnd > end) return { kind: 'not-tls' };
  let serverName: string | undefined;
  let seen = false;
  while (p + 4 <= extEnd) {
    const type = r.readUInt16BE(p);
    const len = r.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return { kind: 'not-tls' };
    if (type === 0x0000) {
      // two server_name extensions: which one the server believes is anyone's guess
      if (seen) return { kind: 'not-tls' };
      seen = true;
      const names = readHostNames(r.subarray(p, p + len));
      if (names === undefined || names.length > 1) return { kind: 'not-tls' };
      serverName = names[0];
    }
    p += len;
  }
  if (p !== extEnd) return { kind: 'not-tls' };
  return { kind: 'hello', serverName };
}

function readHostNames(ext: Buffer): string[] | undefined {
  if (ext.length < 2 || ext.readUInt16BE(0) !== ext.length - 2) return undefined;
  const names: string[] = [];
  let p = 2;
  while (p + 3 <= ext.length) {
    const type = ext[p]!;
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + len > ext.length) return undefined;
    const name = ext.subarray(p, p + len).toString('latin1');
    // a host name is printable ASCII; a NUL or control byte is a trick, not a name
    if (type !== 0 || !/^[\x21-\x7e]+$/.test(name)) return undefined;
    names.push(name);
    p += len;
  }
  return p === ext.length ? names : undefined;
}
