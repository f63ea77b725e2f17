// Replaces every known secret value in text with `[REDACTED:name]`: the value itself and the
// forms it travels in (base64 standard/url-safe at any byte alignment, URL-encoded, JSON-escaped).
// Rules and limits are in docs/secrets.md.

/** Shorter values are not registered: they would redact ordinary words ("admin", "12345"). */
export const MIN_SECRET_LENGTH = 6;

/** A derived form (a base64 middle part) shorter than this is too likely to occur by chance. */
const MIN_FORM_LENGTH = 6;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function urlSafe(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * The base64 text that a value produces wherever it sits in an encoded stream. Base64 maps
 * 3 bytes to 4 characters, so the characters depend on where the value starts modulo 3: for each
 * offset p in 0, 1, 2, encode p filler bytes + the value and keep only the characters whose 6
 * bits all come from the value. That middle part appears in any encoding that contains the value
 * at such an offset (e.g. `Basic base64(user:SECRET)`); the 1–2 boundary characters that mix the
 * value's bits with its neighbours' stay visible. The value encoded on its own (offset 0, with
 * its last characters and padding) is returned too, so a whole encoded secret disappears entirely.
 */
export function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>();
  const whole = bytes.toString('base64');
  forms.add(whole);
  forms.add(whole.replace(/=+$/, ''));
  for (let p = 0; p < 3; p++) {
    const encoded = Buffer.concat([Buffer.alloc(p), bytes]).toString('base64');
    const start = Math.ceil((8 * p) / 6);
    const end = Math.floor((8 * (p + bytes.length)) / 6);
    const middle = encoded.slice(start, end);
    if (middle.length >= MIN_FORM_LENGTH) forms.add(middle);
  }
  for (const f of [...forms]) forms.add(urlSafe(f));
  return [...forms];
}

/** Every form of one value that is worth matching, the raw value first. */
export function formsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  const uri = encodeURIComponent(value);
  forms.add(uri);
  forms.add(uri.replace(/%20/g, '+')); // application/x-www-form-urlencoded
  forms.add(JSON.stringify(value).slice(1, -1)); // inside a JSON string literal
  for (const f of base64Forms(value)) forms.add(f);
  return [...forms];
}

/**
 * Known secret values and one RegExp over all their forms, rebuilt only when a value is added.
 * Longer forms come first in the alternation, so at a given position the longest one wins.
 */
export class Redactor {
  /** form → the name shown in `[REDACTED:name]`; the first name registered for a form keeps it. */
  private readonly forms = new Map<string, string>();
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;

  /** Registers a value under `name`. Returns false (and does nothing) for values shorter than MIN_SECRET_LENGTH. */
  add(name: string, value: string): boolean {
    if (value.length < MIN_SECRET_LENGTH) return false;
    if (this.values.has(value)) return true;
    this.values.add(value);
    for (const f of formsOf(value)) {
      if (f.length >= MIN_FORM_LENGTH && !this.forms.has(f)) this.forms.set(f, name);
    }
    this.pattern = undefined;
    return true;
  }

  /** Forgets a value (a revoked session token: its forms would otherwise pile up for the process's life). */
  remove(value: string): void {
    if (!this.values.delete(value)) return;
    for (const f of formsOf(value)) this.forms.delete(f);
    this.pattern = undefined;
  }

  /** Number of registered values. */
  get size(): number {
    return this.values.size;
  }

  clear(): void {
    this.forms.clear();
    this.values.clear();
    this.pattern = undefined;
  }

  redact(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_FORM_LENGTH) return text;
    if (!this.pattern) {
      const sorted = [...this.forms.keys()].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
    }
    return text.replace(this.pattern, (m) => `[REDACTED:${this.forms.get(m) ?? 'secret'}]`);
  }

  /** A copy of a JSON-able value with every string (object keys included) redacted. */
  redactDeep<T>(value: T): T {
    return this.deep(value, new WeakSet()) as T;
  }

  private deep(v: unknown, seen: WeakSet<object>): unknown {
    if (typeof v === 'string') return this.redact(v);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.map((x) => this.deep(x, seen));
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        // Dates, Buffers and class instances: what JSON.stringify would write
        const json = (v as { toJSON?: () => unknown }).toJSON;
        return typeof json === 'function' ? this.deep(json.call(v), seen) : this.deepObject(v, seen);
      }
      return this.deepObject(v, seen);
    } finally {
      seen.delete(v);
    }
  }

  private deepObject(v: object, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[this.redact(k)] = this.deep(x, seen);
    return out;
  }
}

/** The process-wide redactor: resolveRef registers every value it resolves here. */
export const redactor = new Redactor();
