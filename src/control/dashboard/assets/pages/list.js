// What the list pages share: a labelled filter box (debounced, the filter runs on the server) and
// the visual column header over a virtualized list.
import { field, h, uid } from '../dom.js';

export function filterBox(label, signal, onChange, ...after) {
  const input = h('input', { id: uid('filter'), type: 'search', autocomplete: 'off' });
  let timer;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => onChange(input.value.trim()), 200); }, { signal });
  return h('div', { class: 'toolbar' }, field(label, input), ...after);
}

export function listHead(names, kind) {
  return h('div', { class: `cols head ${kind}`, attrs: { 'aria-hidden': 'true' } }, names.map((n) => h('span', {}, n)));
}
