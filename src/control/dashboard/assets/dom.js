// Building DOM without HTML strings: text always goes in as text (textContent, text nodes), so
// nothing an agent, a model or a tool wrote can become markup or script in the dashboard.

/**
 * h('button', { class: 'x', attrs: { 'aria-label': 'Stop web' }, on: { click }, type: 'button' }, 'Stop')
 * props: class, attrs (set as attributes), on (listeners), anything else set as a property.
 * children: nodes, strings (as text) or null/undefined/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = v;
    else if (k === 'attrs') for (const [a, x] of Object.entries(v)) { if (x !== undefined && x !== null && x !== false) el.setAttribute(a, String(x)); }
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el[k] = v;
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** A labelled control: the label's `for` names the input's id, so every input has an accessible name. */
export function field(label, input) {
  return h('span', { class: 'field' }, h('label', { htmlFor: input.id }, label), input);
}

let ids = 0;
export const uid = (p) => `${p}-${++ids}`;

/** "3m", "2h 5m", "40s": a duration a person reads at a glance. */
export function ago(seconds) {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

export const enc = encodeURIComponent;
