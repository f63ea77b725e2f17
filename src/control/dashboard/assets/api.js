// Every call the dashboard makes to the control plane. The token lives in sessionStorage (this tab
// only, gone when it closes) and travels as `Authorization: Bearer` on each fetch; no cookie is
// ever set or sent (credentials: 'omit'), so no other site can make the browser act with it (no
// CSRF). Event streams are read with fetch and a ReadableStream: EventSource cannot send a header.
const KEY = 'clawpod.token';
const ME = 'clawpod.me';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  /** Who the token is (GET /v1/whoami), kept with it: a reload shows its page without asking first. */
  me: () => JSON.parse(sessionStorage.getItem(ME) ?? 'null'),
  set: (t, me) => { sessionStorage.setItem(KEY, t); sessionStorage.setItem(ME, JSON.stringify(me)); },
  clear: () => { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ME); },
};

/** The control plane's {error: {code, message, hint, details}} as an exception. */
export class ApiError extends Error {
  constructor(status, code, message, hint, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

/** Fired on window when the token is refused (wrong, revoked): the app goes back to the login form. */
export const UNAUTHORIZED = 'clawpod:unauthorized';

async function request(method, path, { body, headers = {}, signal, bearer = token.get() } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method, signal, credentials: 'omit', cache: 'no-store',
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'RUNTIME_UNAVAILABLE', 'the control plane does not answer', 'is `clawpod serve` still running?');
  }
  if (res.ok) return res;
  const e = (await res.json().catch(() => ({}))).error ?? {};
  const err = new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.hint, Array.isArray(e.details) ? e.details : []);
  if (res.status === 401 && bearer === token.get()) dispatchEvent(new CustomEvent(UNAUTHORIZED, { detail: err }));
  throw err;
}

export async function api(method, path, body, opts = {}) {
  return (await request(method, path, { body, ...opts })).json();
}

/** A page of a list route: its rows and X-Total-Count. */
export async function apiPage(path, signal) {
  const res = await request('GET', path, { signal });
  return { rows: await res.json(), total: Number(res.headers.get('x-total-count') ?? 0) };
}

/** Reads a Server-Sent Events answer, calling onEvent(type, data, id) for each event, until it ends or `signal` aborts. */
export async function stream(method, path, { body, signal, onEvent }) {
  const res = await request(method, path, { body, signal, headers: { accept: 'text/event-stream' } });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let type = 'message';
        let id;
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          else if (line.startsWith('id:')) id = line.slice(3).trim();
        }
        // comment lines (": ping") carry no data
        if (data.length) onEvent(type, JSON.parse(data.join('\n')), id);
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** A caught error, as one line a person can act on. */
export function explain(e) {
  if (e instanceof ApiError) return `${e.message}${e.details.length ? `: ${e.details.join('; ')}` : ''}${e.hint ? ` — ${e.hint}` : ''} (${e.code})`;
  return String(e?.message ?? e);
}
