// The dashboard's shell: the login form, the header (navigation by the token's scope, live status,
// log out) and a hash router that shows one page at a time. A page's module is loaded when it is
// first shown (the first paint waits for one page, not all of them). Each page gets an AbortSignal
// that ends its streams and listeners when another page is shown.
import { api, explain, token, UNAUTHORIZED } from './api.js';
import { field, h, uid } from './dom.js';
import { connect } from './live.js';

const $ = (id) => document.getElementById(id);
const view = $('view');

/** Pages by hash; `who` says which scopes see the page in the navigation. */
const page = (file, name) => () => import(`./pages/${file}.js`).then((m) => m[name]);
const PAGES = [
  { path: /^#\/agents$/, page: page('agents', 'agentsPage'), nav: 'Agents', href: '#/agents' },
  { path: /^#\/tenants$/, page: page('agents', 'tenantsPage'), nav: 'Tenants', href: '#/tenants', who: ['admin', 'tenant'] },
  { path: /^#\/groups$/, page: page('groups', 'groupsPage'), nav: 'Groups', href: '#/groups' },
  { path: /^#\/tokens$/, page: page('tokens', 'tokensPage'), nav: 'Tokens', href: '#/tokens', who: ['admin'] },
  { path: /^#\/groups\/([^/]+)\/chat$/, page: page('chat', 'chatPage') },
  { path: /^#\/groups\/([^/]+)\/sessions$/, page: page('sessions', 'sessionsPage') },
  { path: /^#\/agents\/([^/]+)\/logs$/, page: page('logs', 'logsPage') },
];

let me;
let pageAbort = new AbortController();
let liveAbort = new AbortController();

/** Shows an error in the alert region (role=alert: read out at once); '' clears it. */
export function report(e) {
  $('alert').textContent = e ? explain(e) : '';
}

function loginForm(message) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: false });
  const error = h('p', { id: 'login-error', class: 'error', attrs: { role: 'alert' } }, message ?? '');
  const form = h('form', { class: 'login', attrs: { 'aria-labelledby': 'login-title' } },
    h('h1', { id: 'login-title' }, 'Log in to clawpod'),
    h('p', {}, 'Paste an API token: the admin token from the control plane\'s data folder (control/token), or one made with ', h('code', {}, 'clawpod token create'), '. It is kept in this tab only.'),
    field('API token', input),
    h('button', { type: 'submit' }, 'Log in'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      me = await api('GET', '/v1/whoami', undefined, { bearer: input.value.trim() });
      token.set(input.value.trim(), me);
      start();
    } catch (e) {
      error.textContent = e.status === 401 ? 'This token was refused: it is wrong, revoked, or for another control plane.' : explain(e);
      input.select();
    }
  });
  return form;
}

function showLogin(message) {
  token.clear();
  me = undefined;
  pageAbort.abort();
  liveAbort.abort();
  $('nav').replaceChildren();
  $('who').textContent = '';
  $('live').textContent = '';
  $('logout').hidden = true;
  report('');
  view.replaceChildren(loginForm(message));
  $('token').focus();
}

function nav() {
  const items = PAGES.filter((p) => p.nav && (!p.who || p.who.includes(me.kind)));
  $('nav').replaceChildren(h('ul', {}, items.map((p) => h('li', {}, h('a', { href: p.href, attrs: { 'data-nav': p.nav } }, p.nav)))));
}

async function route() {
  if (!me) return;
  pageAbort.abort();
  const shown = (pageAbort = new AbortController());
  report('');
  const hash = location.hash || (me.kind === 'admin' ? '#/agents' : '#/groups');
  const hit = PAGES.find((p) => p.path.test(hash));
  for (const a of $('nav').querySelectorAll('a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (!hit || (hit.who && !hit.who.includes(me.kind))) {
    view.replaceChildren(h('h1', {}, 'Not here'), h('p', {}, 'No such page for this token. ', h('a', { href: '#/groups' }, 'Groups')));
    return;
  }
  const params = hit.path.exec(hash).slice(1).map(decodeURIComponent);
  let render;
  try { render = await hit.page(); } catch (e) { report(e); return; }
  // another page was asked for while this one loaded
  if (shown.signal.aborted) return;
  view.replaceChildren();
  render(view, { me, params, signal: shown.signal, report, uid });
}

function start() {
  $('who').textContent = me.kind === 'admin' ? 'admin' : `${me.kind} ${me.name}`;
  $('logout').hidden = false;
  liveAbort = new AbortController();
  nav();
  void route();
  // live updates can wait for the first page to draw: the stream's set-up would compete with it
  const signal = liveAbort.signal;
  requestIdleCallback(() => connect(signal, $('live')), { timeout: 1000 });
  view.focus();
}

$('logout').addEventListener('click', () => showLogin());
addEventListener(UNAUTHORIZED, () => showLogin('The control plane no longer accepts this token (revoked?). Log in again.'));
addEventListener('hashchange', () => void route());

// a reload: the page's own calls check the token (a 401 brings the login form back)
if (token.get() && token.me()) {
  me = token.me();
  start();
} else {
  showLogin();
}
