// The web dashboard's files at /ui/ (docs/dashboard.md): a static HTML shell, ES modules and CSS,
// no build step. They are read into memory once, so only the files that ship are ever served
// (no path from a URL reaches the file system). Every answer carries a strict Content Security
// Policy (own origin only, no inline script or style), refuses framing and sends no referrer.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env, Hono } from 'hono';
import { errorBody } from '../routes/common.js';

export const DASHBOARD_PATH = '/ui/';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  // a new clawpod must not run with the last one's modules: the browser asks each time (ETag)
  'cache-control': 'no-cache',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
};

/**
 * Where the files are, first match wins: next to a bundle (dist/bundle → dist/dashboard, where
 * `npm run build` copies them), next to tsc's output (dist/src/control/dashboard → dist/dashboard),
 * and the sources themselves (running from src/ under vitest or tsx).
 */
const CANDIDATES = ['../dashboard/', '../../../dashboard/', './assets/'];

export function dashboardDir(): string | undefined {
  return CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((d) => existsSync(join(d, 'index.html')));
}

interface Asset { readonly body: Buffer; readonly type: string; readonly etag: string }

function load(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const f = join(d, n);
      if (statSync(f).isDirectory()) { walk(f); continue; }
      const type = TYPES[extname(n)];
      if (!type) continue;
      const body = readFileSync(f);
      out.set(relative(dir, f).split('\\').join('/'), { body, type, etag: `"${body.length.toString(36)}-${statSync(f).mtimeMs.toString(36)}"` });
    }
  };
  walk(dir);
  return out;
}

/** Serves the dashboard on `app` at /ui/ (and sends / there). Returns a warning when its files are missing. */
export function mountDashboard<E extends Env>(app: Hono<E>, dir = dashboardDir()): string | undefined {
  const files = dir ? load(dir) : new Map<string, Asset>();
  app.get('/', (c) => c.redirect(DASHBOARD_PATH, 302));
  app.get('/ui', (c) => c.redirect(DASHBOARD_PATH, 301));
  app.get('/ui/*', (c) => {
    const path = c.req.path.slice(DASHBOARD_PATH.length) || 'index.html';
    const a = files.get(path);
    if (!a) {
      return c.json(errorBody('NOT_FOUND', `no dashboard file ${path}`, files.size ? `the dashboard is at ${DASHBOARD_PATH}` : 'the dashboard\'s files were not found: run `npm run build` (it copies them to dist/dashboard)'), 404, SECURITY_HEADERS);
    }
    if (c.req.header('if-none-match') === a.etag) return c.body(null, 304, { ...SECURITY_HEADERS, etag: a.etag });
    return c.body(new Uint8Array(a.body), 200, { ...SECURITY_HEADERS, 'content-type': a.type, etag: a.etag });
  });
  return dir ? undefined : `warning: the dashboard's files are not in ${CANDIDATES.join(', ')} (next to ${fileURLToPath(import.meta.url)}); /ui/ answers 404 until \`npm run build\` copies them`;
}
