// API tokens (admin): who holds which scope, when each was last used; make one (its value is shown
// this once, then only its hash is kept) and revoke one.
import { api } from '../api.js';
import { enc, field, h } from '../dom.js';

export function tokensPage(view, ctx) {
  const scope = h('input', { id: ctx.uid('scope'), class: 'scope', required: true, placeholder: 'admin, metrics, group:NAME or tenant:NAME', autocomplete: 'off' });
  const name = h('input', { id: ctx.uid('name'), placeholder: 'who holds it', autocomplete: 'off' });
  const made = h('div', { class: 'made', attrs: { role: 'status' } });
  const body = h('tbody');
  const form = h('form', { class: 'inline' }, h('h2', {}, 'New token'), field('Scope', scope), field('Name', name), h('button', { type: 'submit' }, 'Create token'));
  view.append(h('h1', {}, 'API tokens'), form, made,
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Name', 'Scope', 'Id', 'Created', 'Last used', 'Revoked', ''].map((c) => h('th', { scope: 'col' }, c)))),
      body));

  const load = () => api('GET', '/v1/api-tokens', undefined, { signal: ctx.signal }).then((ts) => {
    body.replaceChildren(...ts.map((t) => h('tr', { attrs: { 'data-id': t.id } },
      h('td', {}, t.name), h('td', {}, t.scope), h('td', { class: 'mono' }, t.id), h('td', {}, day(t.createdAt)), h('td', {}, day(t.lastUsedAt)), h('td', {}, day(t.revokedAt)),
      h('td', {}, t.revokedAt ? '' : h('button', { type: 'button', class: 'danger', attrs: { 'aria-label': `Revoke ${t.name} (${t.id})` }, on: { click: () => revoke(t) } }, 'Revoke')))));
  }, (e) => ctx.report(e));

  const revoke = async (t) => {
    try { await api('DELETE', `/v1/api-tokens/${enc(t.id)}`); made.replaceChildren(`Revoked ${t.name} (${t.id}): its next call is refused.`); ctx.report(''); } catch (e) { ctx.report(e); }
    void load();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await api('POST', '/v1/api-tokens', { scope: scope.value.trim(), ...(name.value.trim() ? { name: name.value.trim() } : {}) });
      const value = h('input', { id: ctx.uid('value'), readOnly: true, value: t.token, class: 'mono wide' });
      made.replaceChildren(h('p', {}, `Token ${t.name} (${t.scope}) made. Copy it now: it is not shown again.`), field('New token value', value),
        h('button', { type: 'button', on: { click: () => made.replaceChildren() } }, 'Done'));
      value.select();
      scope.value = '';
      name.value = '';
      ctx.report('');
    } catch (e) { ctx.report(e); }
    void load();
  });
  void load();
}

const day = (iso) => (iso ? new Date(iso).toLocaleString() : '');
