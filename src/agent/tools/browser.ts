// browser_open: the agent's headless Chromium (clawpod's browser sidecar, spec.browser) opens a
// page and hands back its title and text. The sidecar shares the agent's loopback; its address
// comes in CLAWPOD_BROWSER_CDP, and the tool exists only when that is set.
import { capOutput } from './output.js';
import { CdpConnection } from './cdp.js';
import { arg, type Tool } from './toolbox.js';

export interface BrowserOptions {
  /** The DevTools HTTP endpoint, e.g. http://127.0.0.1:9222. */
  readonly cdpUrl: string;
  readonly maxOutputBytes: number;
  /** How long a page may take to load (default 20 s). */
  readonly loadTimeoutMs?: number;
  /** How long to wait for the browser itself, which may be starting or restarting after a crash (default 15 s). */
  readonly connectTimeoutMs?: number;
}

interface Page { title: string; url: string; text: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The browser's WebSocket endpoint, asked until the deadline: a sidecar that just (re)started is not listening yet. */
async function browserEndpoint(cdpUrl: string, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (!signal.aborted) {
    try {
      const r = await fetch(`${cdpUrl}/json/version`, { signal: AbortSignal.timeout(2000) });
      const v = (await r.json()) as { webSocketDebuggerUrl?: string };
      if (v.webSocketDebuggerUrl) return v.webSocketDebuggerUrl;
      last = 'no webSocketDebuggerUrl in /json/version';
    } catch (e) { last = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message; }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  throw new Error(`the browser at ${cdpUrl} did not answer within ${timeoutMs} ms (${last}); it restarts by itself after a crash, so try again shortly`);
}

export function checkUrl(raw: string): URL {
  let u: URL;
  try { u = new URL(raw); } catch { throw new Error(`"${raw.slice(0, 200)}" is not a URL; give an absolute http:// or https:// URL`); }
  // file:, chrome:, javascript: and the like would read the browser's own files or settings
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`only http:// and https:// URLs can be opened, not ${u.protocol}`);
  return u;
}

export async function openPage(o: BrowserOptions, url: string, signal: AbortSignal): Promise<Page> {
  const loadMs = o.loadTimeoutMs ?? 20_000;
  const conn = await CdpConnection.open(await browserEndpoint(o.cdpUrl, o.connectTimeoutMs ?? 15_000, signal), 5000);
  const onAbort = (): void => conn.close();
  signal.addEventListener('abort', onAbort);
  let targetId: string | undefined;
  try {
    ({ targetId } = await conn.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' }));
    const { sessionId } = await conn.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    await conn.send('Page.enable', {}, sessionId);
    const loaded = conn.once('Page.loadEventFired', sessionId, loadMs, `${url} did not finish loading within ${loadMs} ms`);
    loaded.catch(() => undefined); // awaited below only when navigation started
    const nav = await conn.send<{ errorText?: string }>('Page.navigate', { url }, sessionId);
    if (nav.errorText) throw new Error(`${url} could not be opened: ${nav.errorText} (the browser reaches only what the agent's network and egress list allow)`);
    await loaded;
    const r = await conn.send<{ result: { value?: Page }; exceptionDetails?: unknown }>('Runtime.evaluate', {
      expression: '({ title: document.title, url: location.href, text: document.body ? document.body.innerText : "" })', returnByValue: true,
    }, sessionId);
    if (!r.result.value) throw new Error(`${url} loaded, but its content could not be read`);
    return r.result.value;
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (targetId) await conn.send('Target.closeTarget', { targetId }).catch(() => undefined);
    conn.close();
  }
}

export function browserTools(o: BrowserOptions): Tool[] {
  return [{
    spec: {
      name: 'browser_open',
      description: 'Open a web page in a headless browser and return its title, final URL and visible text. The browser has the same network access as you.',
      inputSchema: { type: 'object', properties: { url: { type: 'string', description: 'an absolute http:// or https:// URL' } }, required: ['url'] },
    },
    run: async (input, signal) => {
      const url = checkUrl(arg('browser_open', input, 'url', 'string')!);
      const page = await openPage(o, url.href, signal);
      const head = `Title: ${page.title}\nURL: ${page.url}\n\n`;
      return { output: head + capOutput(Buffer.from(page.text), Math.max(0, o.maxOutputBytes - Buffer.byteLength(head))), isError: false };
    },
  }];
}
