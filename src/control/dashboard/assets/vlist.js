// A virtualized list: only the rows in view (and a few either side) are in the DOM, and only the
// pages of rows those are on are asked of the server (`load(offset, limit)` → {rows, total}).
// 1,000 agents cost about 30 row elements and one request of 50 rows; scrolling fetches the next page.
// Rows have one fixed height (CSS --row), positioned by CSSOM (allowed by a strict CSP).
import { h } from './dom.js';

const OVERSCAN = 6;

/**
 * vlist(host, { label, rowHeight, pageSize, load, row, onTotal, onError, signal })
 * row(item, index) builds a row element; it is rebuilt only when the item's JSON changes, and a
 * control that had the focus gets it back in the rebuilt row (same data-key).
 */
export function vlist(host, o) {
  const rowHeight = o.rowHeight ?? 44;
  const pageSize = o.pageSize ?? 50;
  const box = h('div', { class: 'vlist', attrs: { role: 'list', 'aria-label': o.label } });
  const spacer = h('div', { class: 'vlist-spacer' });
  box.append(spacer);
  host.append(box);
  let total = 0;
  let known = false; // total is the server's, not the start's 0
  let gen = 0;
  const pages = new Map(); // page number → rows, or 'loading'
  const shown = new Map(); // index → { el, json }
  let frame = 0;

  const fetchPage = (p) => {
    if (pages.get(p) === 'loading' || Array.isArray(pages.get(p))) return;
    const g = gen;
    pages.set(p, 'loading');
    o.load(p * pageSize, pageSize).then(({ rows, total: t }) => {
      if (g !== gen) return;
      pages.set(p, rows);
      if (t !== total || !known) { total = t; known = true; o.onTotal?.(t); }
      draw();
    }, (e) => { if (g === gen) { pages.delete(p); o.onError?.(e); } });
  };

  function place(i, item) {
    const el = o.row(item, i);
    el.classList.add('vrow');
    el.setAttribute('role', 'listitem');
    el.setAttribute('aria-posinset', String(i + 1));
    el.setAttribute('aria-setsize', String(total));
    el.style.top = `${i * rowHeight}px`;
    return el;
  }

  function draw() {
    spacer.style.height = `${total * rowHeight}px`;
    const first = Math.max(0, Math.floor(box.scrollTop / rowHeight) - OVERSCAN);
    const last = Math.min(total - 1, Math.ceil((box.scrollTop + box.clientHeight) / rowHeight) + OVERSCAN);
    for (const [i, r] of shown) if (i < first || i > last) { r.el.remove(); shown.delete(i); }
    for (let i = first; i <= last; i++) {
      const rows = pages.get(Math.floor(i / pageSize));
      if (!Array.isArray(rows)) { fetchPage(Math.floor(i / pageSize)); continue; }
      const item = rows[i % pageSize];
      const old = shown.get(i);
      if (!item) { old?.el.remove(); shown.delete(i); continue; }
      const json = JSON.stringify(item);
      if (old?.json === json) continue;
      const el = place(i, item);
      const focusKey = old?.el.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
      if (old) old.el.replaceWith(el); else spacer.insertBefore(el, nextShown(i));
      shown.set(i, { el, json });
      if (focusKey) el.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
    }
    if (total === 0 && pages.size === 0) fetchPage(0);
    // what bench/dashboard.ts measures: the first rows are on screen
    if (shown.size && !performance.getEntriesByName('clawpod:list-painted').length) requestAnimationFrame(() => setTimeout(() => performance.mark('clawpod:list-painted'), 0));
  }

  // rows stay in the DOM in index order, so Tab goes down the list (scrolling up adds rows above)
  function nextShown(i) {
    let best;
    for (const [j, r] of shown) if (j > i && (best === undefined || j < best[0])) best = [j, r.el];
    return best ? best[1] : null;
  }

  const soon = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); }); };
  box.addEventListener('scroll', soon, { signal: o.signal });
  window.addEventListener('resize', soon, { signal: o.signal });
  fetchPage(0);

  return {
    /** Asks again for the pages in view (the data changed): rows stay until the new ones arrive. */
    refresh() {
      gen++;
      pages.clear();
      const first = Math.floor(box.scrollTop / rowHeight);
      fetchPage(Math.floor(first / pageSize));
    },
    /** A new query: back to the top, everything asked again. */
    reset() {
      gen++;
      pages.clear();
      for (const r of shown.values()) r.el.remove();
      shown.clear();
      box.scrollTop = 0;
      total = 0;
      known = false;
      draw();
    },
    get total() { return total; },
  };
}
