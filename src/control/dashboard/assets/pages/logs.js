// An agent's logs, secrets redacted by the server: the last N lines, then new ones as they come
// (follow). At most MAX lines stay in the page; the view keeps to the bottom unless scrolled up.
import { stream } from '../api.js';
import { enc, field, h } from '../dom.js';

const MAX = 5000;

export function logsPage(view, ctx) {
  const [name] = ctx.params;
  const tail = h('select', { id: ctx.uid('tail') }, [100, 500, 2000].map((n) => h('option', { value: String(n) }, String(n))));
  const follow = h('input', { id: ctx.uid('follow'), type: 'checkbox', checked: true });
  const state = h('span', { class: 'note', attrs: { role: 'status' } });
  const out = h('pre', { class: 'log tall', attrs: { role: 'log', 'aria-label': `Logs of ${name}`, tabindex: '0' } });
  view.append(h('h1', {}, `Logs of ${name}`),
    h('p', { class: 'crumbs' }, h('a', { href: '#/agents' }, 'Agents')),
    h('div', { class: 'toolbar' }, field('Lines', tail), field('Follow', follow), state), out);

  let abort = new AbortController();
  const open = () => {
    abort.abort();
    abort = new AbortController();
    const signal = AbortSignal.any([ctx.signal, abort.signal]);
    out.replaceChildren();
    state.textContent = follow.checked ? 'following' : 'loading';
    const add = (kind, text) => {
      const bottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(h('span', { class: kind }, text));
      while (out.childNodes.length > MAX) out.firstChild.remove();
      if (bottom) out.scrollTop = out.scrollHeight;
    };
    stream('GET', `/v1/agents/${enc(name)}/logs?tail=${tail.value}&follow=${follow.checked ? 1 : 0}`, {
      signal,
      onEvent: (type, d) => { if (type === 'end') state.textContent = follow.checked ? 'the container stopped' : 'complete'; else if (type === 'failed') ctx.report(Object.assign(new Error(d.message), d)); else add(type, d.text); },
    }).catch((e) => { if (!signal.aborted) { state.textContent = ''; ctx.report(e); } });
  };
  tail.addEventListener('change', open, { signal: ctx.signal });
  follow.addEventListener('change', open, { signal: ctx.signal });
  open();
}
