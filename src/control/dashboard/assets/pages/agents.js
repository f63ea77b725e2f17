// Agents (and Tenants: the same list, only tenants' agents): state, tenant, idle time, the next
// lifecycle step; stop/start and logs for whoever sees the agent, upgrade and delete for an admin.
// The list is virtualized and paged on the server (?q=&limit=&offset=); lifecycle events on the
// live stream refresh the rows in view.
import { api, apiPage, explain, stream } from '../api.js';
import { ago, append, enc, field, h } from '../dom.js';
import { live } from '../live.js';
import { vlist } from '../vlist.js';
import { filterBox, listHead } from './list.js';

export const agentsPage = (view, ctx) => agentList(view, ctx, { title: 'Agents', tenants: false });
export const tenantsPage = (view, ctx) => agentList(view, ctx, { title: 'Tenants', tenants: true });

function agentList(view, ctx, { title, tenants }) {
  const admin = ctx.me.kind === 'admin';
  const count = h('span', { class: 'count' });
  const note = h('span', { class: 'note', attrs: { role: 'status' } });
  const panel = h('section', { class: 'panel', hidden: true, attrs: { 'aria-label': 'Agent action' } });
  let q = '';
  const create = admin && !tenants ? h('button', { type: 'button', attrs: { 'data-key': 'new' }, on: { click: () => createPanel(panel, ctx, () => list.refresh()) } }, 'New agent') : null;
  append(view, [h('h1', {}, title), create,
    tenants ? h('p', { class: 'muted' }, 'Each tenant\'s agent, with its state. Plans, versions and fleet upgrades will be shown here too; today they are in `clawpod tenant ls` and `clawpod fleet upgrade`.') : null,
    filterBox(`Filter ${title.toLowerCase()}`, ctx.signal, (v) => { q = v; list.reset(); }, count, note),
    listHead(['Name', 'State', 'Tenant', 'Idle', 'Next step', 'Actions'], 'agents')]);

  const act = async (btn, what, fn) => {
    btn.disabled = true;
    try { await fn(); ctx.report(''); note.textContent = what; } catch (e) { ctx.report(e); } finally { btn.disabled = false; list.refresh(); }
  };
  const row = (a) => {
    const running = a.state === 'running' || a.state === 'paused';
    const toggle = h('button', { type: 'button', attrs: { 'data-key': 'toggle', 'aria-label': `${running ? 'Stop' : 'Start'} ${a.name}` } }, running ? 'Stop' : 'Start');
    toggle.addEventListener('click', () => act(toggle, `${a.name} ${running ? 'stopped' : 'started'}`, () => api('POST', `/v1/agents/${enc(a.name)}/${running ? 'stop' : 'start'}`)));
    return h('div', { class: 'cols agents', attrs: { 'data-name': a.name } },
      h('span', { class: 'name' }, a.name),
      h('span', { class: `state ${a.state}` }, a.state, a.held ? ` (held: ${a.held.reason})` : ''),
      h('span', {}, a.tenant ?? '—'),
      h('span', {}, ago(a.idleSeconds)),
      h('span', {}, a.next ? `${a.next.action} in ${ago(a.next.inSeconds)}` : '—'),
      h('span', { class: 'actions' }, toggle,
        h('a', { href: `#/agents/${enc(a.name)}/logs`, attrs: { 'data-key': 'logs', 'aria-label': `Logs of ${a.name}` } }, 'Logs'),
        admin ? h('button', { type: 'button', attrs: { 'data-key': 'upgrade', 'aria-label': `Upgrade ${a.name}` }, on: { click: () => upgradePanel(panel, a.name, ctx) } }, 'Upgrade') : null,
        admin ? h('button', { type: 'button', class: 'danger', attrs: { 'data-key': 'delete', 'aria-label': `Delete ${a.name}` }, on: { click: () => deletePanel(panel, a.name, ctx, () => list.refresh()) } }, 'Delete') : null));
  };
  const list = vlist(view, {
    label: title, signal: ctx.signal, row,
    load: (offset, limit) => apiPage(`/v1/agents?limit=${limit}&offset=${offset}&q=${enc(q)}${tenants ? '&tenants=1' : ''}`, ctx.signal),
    onTotal: (n) => { count.textContent = `${n} ${n === 1 ? 'agent' : 'agents'}`; },
    onError: (e) => ctx.report(e),
  });
  view.append(panel);
  let timer;
  live.addEventListener('lifecycle', () => { clearTimeout(timer); timer = setTimeout(() => list.refresh(), 250); }, { signal: ctx.signal });
}

function upgradePanel(panel, name, ctx) {
  const version = h('input', { id: ctx.uid('version'), placeholder: 'e.g. 2026.10.1' });
  const image = h('input', { id: ctx.uid('image'), placeholder: 'or an image, e.g. localhost/me:2' });
  const out = h('pre', { class: 'log', attrs: { role: 'log', 'aria-label': `Upgrade of ${name}` } });
  const form = h('form', {}, h('h2', {}, `Upgrade ${name}`), field('Version', version), field('Image', image),
    h('button', { type: 'submit' }, 'Upgrade'), h('button', { type: 'button', on: { click: () => { panel.hidden = true; } } }, 'Close'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const say = (line) => out.append(`${line}\n`);
    form.querySelector('button[type=submit]').disabled = true;
    try {
      await stream('POST', `/v1/agents/${enc(name)}/upgrade`, {
        body: { ...(version.value ? { version: version.value } : {}), ...(image.value ? { image: image.value } : {}) },
        signal: ctx.signal,
        onEvent: (type, d) => say(type === 'progress' ? d.line : type === 'done' ? `upgraded: ${d.from} → ${d.to} in ${d.seconds.toFixed(1)} s` : `failed: ${explain(Object.assign(new Error(d.message), d))}`),
      });
    } catch (e) { say(`failed: ${explain(e)}`); } finally { form.querySelector('button[type=submit]').disabled = false; }
  });
  panel.replaceChildren(form);
  panel.hidden = false;
  version.focus();
}

function deletePanel(panel, name, ctx, done) {
  const volumes = h('input', { id: ctx.uid('volumes'), type: 'checkbox' });
  const form = h('form', {}, h('h2', {}, `Delete ${name}?`),
    h('p', {}, 'Its container is removed, running or not. Its workspace volume is kept unless you tick the box.'),
    field('Also remove its volume', volumes),
    h('button', { type: 'submit', class: 'danger' }, `Delete ${name}`), h('button', { type: 'button', on: { click: () => { panel.hidden = true; } } }, 'Cancel'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('DELETE', `/v1/agents/${enc(name)}${volumes.checked ? '?volumes=1' : ''}`); panel.hidden = true; ctx.report(''); } catch (e) { ctx.report(e); }
    done();
  });
  panel.replaceChildren(form);
  panel.hidden = false;
  form.querySelector('button.danger').focus();
}

// An Agent spec typed or pasted, as `clawpod run -d -f` takes it; a refusal lists every problem
// of the spec with its path and the fix.
function createPanel(panel, ctx, done) {
  const spec = h('textarea', { id: ctx.uid('spec'), rows: 12, spellcheck: false,
    placeholder: 'apiVersion: clawpod.dev/v1alpha1\nkind: Agent\nmetadata: {name: hello}\nspec:\n  image: localhost/clawpod-agent:latest' });
  const name = h('input', { id: ctx.uid('name'), placeholder: 'optional: instead of metadata.name' });
  const out = h('p', { class: 'note', attrs: { role: 'status', 'aria-label': 'New agent result' } });
  const specField = field('Agent spec (YAML)', spec);
  specField.classList.add('spec');
  const form = h('form', {}, h('h2', {}, 'New agent'), specField, field('Name', name),
    h('button', { type: 'submit' }, 'Create and start'), h('button', { type: 'button', on: { click: () => { panel.hidden = true; } } }, 'Close'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    out.textContent = 'creating…';
    try {
      const r = await api('POST', '/v1/agents', { spec: spec.value, ...(name.value ? { name: name.value } : {}) });
      out.textContent = `${r.name} created and started${r.ports.length ? ` (${r.ports.join(', ')})` : ''}`;
      done();
    } catch (e) { out.textContent = `refused: ${explain(e)}`; } finally { submit.disabled = false; }
  });
  panel.replaceChildren(form);
  panel.hidden = false;
  spec.focus();
}
