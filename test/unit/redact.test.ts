// The redactor: raw values, their encoded forms at any alignment, objects, and its limits.
import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, Redactor, base64Forms } from '../../src/secrets/redact.js';

const SECRET = 'sk-live-4f9Qz/+x~a b';

function r(): Redactor {
  const red = new Redactor();
  red.add('API_TOKEN', SECRET);
  return red;
}

describe('Redactor', () => {
  it('replaces the raw value wherever it appears', () => {
    expect(r().redact(`token=${SECRET}; again ${SECRET}.`)).toBe('token=[REDACTED:API_TOKEN]; again [REDACTED:API_TOKEN].');
  });

  it('forgets a removed value and all its forms, keeping the others', () => {
    const red = r();
    red.add('OTHER', 'other-secret-value');
    red.remove(SECRET);
    const b64 = Buffer.from(SECRET).toString('base64');
    expect(red.redact(`${SECRET} ${b64} other-secret-value`)).toBe(`${SECRET} ${b64} [REDACTED:OTHER]`);
    expect(red.size).toBe(1);
  });

  it('replaces base64 of the value, standard and url-safe, with and without padding', () => {
    const std = Buffer.from(SECRET).toString('base64');
    const url = Buffer.from(SECRET).toString('base64url');
    expect(std).toMatch(/=$/); // the test value must exercise padding
    for (const form of [std, std.replace(/=+$/, ''), url, `${url}==`.slice(0, std.length)]) {
      const out = r().redact(`x ${form} y`);
      expect(out).toBe('x [REDACTED:API_TOKEN] y');
    }
  });

  it('replaces the URL-encoded, form-encoded and JSON-escaped forms', () => {
    const v = 'p@ss "word" / 100%';
    const red = new Redactor();
    red.add('PW', v);
    expect(red.redact(`https://h/?pw=${encodeURIComponent(v)}&x=1`)).toBe('https://h/?pw=[REDACTED:PW]&x=1');
    expect(red.redact(`pw=${encodeURIComponent(v).replace(/%20/g, '+')}`)).toBe('pw=[REDACTED:PW]');
    expect(red.redact(JSON.stringify({ pw: v }))).toBe('{"pw":"[REDACTED:PW]"}');
  });

  it('catches the value inside base64 of a longer text at every byte alignment', () => {
    for (const prefix of ['', 'u', 'us', 'user:', 'admin:', 'x-y-z:']) {
      for (const suffix of ['', '!', '!!', '\n']) {
        const b64 = Buffer.from(`${prefix}${SECRET}${suffix}`).toString('base64');
        const out = r().redact(`Authorization: Basic ${b64}`);
        expect(out, `prefix ${JSON.stringify(prefix)} suffix ${JSON.stringify(suffix)}`).toContain('[REDACTED:API_TOKEN]');
        // what is left around the marker is at most 2 boundary characters plus the prefix's own characters
        const left = out.replace('Authorization: Basic ', '').replace('[REDACTED:API_TOKEN]', '');
        expect(left.replace(/=+$/, '').length).toBeLessThanOrEqual(Math.ceil((prefix.length * 4) / 3) + Math.ceil((suffix.length * 4) / 3) + 4);
      }
    }
  });

  it('the base64 middle parts come only from the value’s own bits', () => {
    const forms = base64Forms('abcdefghij');
    // 'abcdefghij' after 1 filler byte: bits 8..88 → characters 2..14 of base64("\0abcdefghij")
    const shifted = Buffer.from('\0abcdefghij').toString('base64').slice(2, 14);
    expect(forms).toContain(shifted);
    expect(Buffer.from(`Zabcdefghij`).toString('base64')).toContain(shifted);
  });

  it('prefers the longest value at a position', () => {
    const red = new Redactor();
    red.add('SHORT', 'abcdef12');
    red.add('LONG', 'abcdef1234567');
    expect(red.redact('a abcdef1234567 b abcdef12 c')).toBe('a [REDACTED:LONG] b [REDACTED:SHORT] c');
  });

  it(`ignores values shorter than ${MIN_SECRET_LENGTH} characters, so ordinary words survive`, () => {
    const red = new Redactor();
    expect(red.add('PIN', '1234')).toBe(false);
    expect(red.add('WORD', 'admin')).toBe(false);
    expect(red.size).toBe(0);
    expect(red.redact('admin 1234')).toBe('admin 1234');
  });

  it('escapes regular-expression characters in values', () => {
    const red = new Redactor();
    red.add('RX', 'a.b*c(d)[e]$^|\\');
    expect(red.redact('aXb*c(d)[e]$^|\\ and a.b*c(d)[e]$^|\\')).toBe('aXb*c(d)[e]$^|\\ and [REDACTED:RX]');
  });

  it('picks up values added after the first redact (the pattern is rebuilt on change)', () => {
    const red = r();
    expect(red.redact('new-secret-value')).toBe('new-secret-value');
    red.add('NEW', 'new-secret-value');
    expect(red.redact('new-secret-value')).toBe('[REDACTED:NEW]');
    red.clear();
    expect(red.redact(`new-secret-value ${SECRET}`)).toBe(`new-secret-value ${SECRET}`);
  });

  it('redactDeep redacts strings inside objects and arrays, keys included, without touching the input', () => {
    const input = { a: [SECRET, 1, null, { b: `x${SECRET}x`, [SECRET]: true }], c: false, d: new Date(0) };
    const out = r().redactDeep(input);
    expect(out).toEqual({ a: ['[REDACTED:API_TOKEN]', 1, null, { b: 'x[REDACTED:API_TOKEN]x', '[REDACTED:API_TOKEN]': true }], c: false, d: '1970-01-01T00:00:00.000Z' });
    expect(input.a[0]).toBe(SECRET);
    const cyclic: Record<string, unknown> = { s: SECRET };
    cyclic.self = cyclic;
    expect(r().redactDeep(cyclic)).toEqual({ s: '[REDACTED:API_TOKEN]', self: '[Circular]' });
  });

  it('stays fast with 100 secrets over a 64 KB string', () => {
    const red = new Redactor();
    const values = Array.from({ length: 100 }, (_, i) => `secret-${i}-${Math.random().toString(36).slice(2)}${'z'.repeat(i % 40)}`);
    values.forEach((v, i) => red.add(`S${i}`, v));
    const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(1500);
    const text = `${filler}${values[42]}${filler}${Buffer.from(`u:${values[7]}`).toString('base64')}`;
    red.redact('warm up');
    const t0 = performance.now();
    const out = red.redact(text);
    const ms = performance.now() - t0;
    expect(out).toContain('[REDACTED:S42]');
    expect(out).toContain('[REDACTED:S7]');
    expect(out).not.toContain(values[42]);
    expect(ms).toBeLessThan(250);
  });
});
