// Groups: model, session, queue, and the budget period's use as a meter (requests, or tokens, out
// of the budget); an admin switches a group's model from the models the control plane has. Usage
// comes with each page of the list (?usage=1: one request, not one per row), and the rows in view
// are asked again when the live stream says a message or session of theirs changed.
import { api, apiPage } from '../api.js';
import { enc, h } from '../dom.js';
import { live } from '../live.js';
import { vlist } from '../vlist.js';
import { filterBox, listHead } from './list.js';

export function groupsPage(view, ctx) {
  const admin = ctx.me.kind === 'admin';
  const count = h('span', { class: 'count' });
  const note = h('span', { class: 'note', attrs: { role: 'status' } });
  const models = admin ? api('GET', '/v1/models', undefined, { signal: ctx.signal }).catch((e) => { ctx.report(e); return []; }) : Promise.resolve([]);
  let q = '';
  view.append(h('h1', {}, 'Groups'),
    filterBox('Filter groups', ctx.signal, (v) => { q = v; list.reset(); }, count, note),
    listHead(['Name', 'Model', 'Session', 'Queued', 'Usage this period', 'Open'], 'groups'));

  const modelCell = (g) => {
    if (!admin) return h('span', {}, g.model);
    const select = h('select', { attrs: { 'data-key': 'model', 'aria-label': `Model of ${g.name}` } }, h('option', { value: g.model, selected: true }, g.model));
    void models.then((ms) => select.replaceChildren(...ms.map((m) => h('option', { value: m.name, selected: m.name === g.model }, `${m.name} (${m.provider})`))));
    select.addEventListener('change', async () => {
      try {
        // PUT replaces the system prompt: send the one it has
        await api('PUT', `/v1/groups/${enc(g.name)}`, { model: select.value, ...(g.system ? { system: g.system } : {}) });
        note.textContent = `${g.name} now uses ${select.value}`;
        ctx.report('');
      } catch (e) { ctx.report(e); }
      list.refresh();
    });
    return select;
  };
  const row = (g) => h('div', { class: 'cols groups', attrs: { 'data-name': g.name } },
    h('span', { class: 'name' }, g.name),
    modelCell(g),
    h('span', {}, g.session ? g.session.phase : '—'),
    h('span', {}, String(g.queued)),
    h('span', { class: 'usage' }, meter(g.name, g.usage)),
    h('span', { class: 'actions' },
      h('a', { href: `#/groups/${enc(g.name)}/chat`, attrs: { 'data-key': 'chat', 'aria-label': `Chat with ${g.name}` } }, 'Chat'),
      h('a', { href: `#/groups/${enc(g.name)}/sessions`, attrs: { 'data-key': 'sessions', 'aria-label': `Sessions of ${g.name}` } }, 'Sessions')));

  const list = vlist(view, {
    label: 'Groups', signal: ctx.signal, row,
    load: (offset, limit) => apiPage(`/v1/groups?usage=1&limit=${limit}&offset=${offset}&q=${enc(q)}`, ctx.signal),
    onTotal: (n) => { count.textContent = `${n} ${n === 1 ? 'group' : 'groups'}`; },
    onError: (e) => ctx.report(e),
  });
  let timer;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => list.refresh(), 250);
  };
  live.addEventListener('message', changed, { signal: ctx.signal });
  live.addEventListener('session', changed, { signal: ctx.signal });
}

/** A meter of the budget the group spends fastest (requests or tokens), with the figures in words. */
function meter(name, u) {
  const tokens = u.inputTokens + u.outputTokens;
  const words = `${u.requests} requests, ${tokens} tokens`;
  const b = u.budget;
  const [value, max, unit] = b?.requests !== undefined ? [u.requests, b.requests, 'requests'] : b?.tokens !== undefined ? [tokens, b.tokens, 'tokens'] : [];
  if (max === undefined) return [h('span', { attrs: { 'data-usage': u.requests } }, `${words} (no budget)`)];
  return [
    h('meter', { min: 0, max, value, high: max * 0.8, attrs: { 'aria-label': `Usage of ${name}: ${value} of ${max} ${unit}` } }),
    h('span', { attrs: { 'data-usage': u.requests } }, ` ${value} / ${max} ${unit}`),
  ];
}
