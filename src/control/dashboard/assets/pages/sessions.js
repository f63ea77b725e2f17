// A group's sessions (newest first): container, status, when, why it ended; each one's events can
// be opened, stored ones first, then live until the session ends.
import { api, stream } from '../api.js';
import { enc, h } from '../dom.js';

const SHOWN = 50;

export function sessionsPage(view, ctx) {
  const [group] = ctx.params;
  const body = h('tbody');
  view.append(h('h1', {}, `Sessions of ${group}`),
    h('p', { class: 'crumbs' }, h('a', { href: '#/groups' }, 'Groups'), ' · ', h('a', { href: `#/groups/${enc(group)}/chat` }, 'Chat')),
    h('table', { class: 'table' },
      h('caption', { class: 'muted' }, `The last ${SHOWN} sessions`),
      h('thead', {}, h('tr', {}, ['Session', 'Status', 'Started', 'Ended', 'Reason', 'Follow-ups', 'Events'].map((c) => h('th', { scope: 'col' }, c)))),
      body));
  api('GET', `/v1/groups/${enc(group)}/sessions`, undefined, { signal: ctx.signal }).then((ss) => {
    if (!ss.length) body.append(h('tr', {}, h('td', { colSpan: 7 }, 'No session yet: send a message from the chat.')));
    for (const s of ss.slice(0, SHOWN)) {
      const log = h('pre', { class: 'log', hidden: true, attrs: { role: 'log', 'aria-label': `Events of session ${s.id}` } });
      const open = h('button', { type: 'button', attrs: { 'aria-expanded': 'false', 'aria-label': `Events of session ${s.id}` } }, 'Show');
      let following;
      open.addEventListener('click', () => {
        const shown = log.hidden;
        log.hidden = !shown;
        open.setAttribute('aria-expanded', String(shown));
        open.textContent = shown ? 'Hide' : 'Show';
        if (!shown || following) return;
        following = stream('GET', `/v1/sessions/${enc(s.id)}/events`, { signal: ctx.signal, onEvent: (type, d, id) => log.append(`${id ?? ''} ${type} ${summary(type, d)}\n`) })
          .catch((e) => { if (!ctx.signal.aborted) ctx.report(e); });
      });
      body.append(
        h('tr', {}, h('td', { class: 'mono' }, s.id), h('td', {}, s.status), h('td', {}, when(s.started_at)), h('td', {}, when(s.ended_at)), h('td', {}, s.end_reason ?? ''), h('td', {}, s.followups), h('td', {}, open)),
        h('tr', {}, h('td', { colSpan: 7 }, log)));
    }
  }, (e) => ctx.report(e));
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/** One line of what an event says: its text, tool, reason; not the whole JSON. */
function summary(type, d) {
  if (type === 'text') return JSON.stringify(d.delta);
  if (type === 'tool_call') return `${d.name} ${JSON.stringify(d.input)}`;
  if (type === 'tool_result') return JSON.stringify(d.output.slice(0, 200));
  if (d.reason) return d.reason;
  if (d.message) return d.message;
  return '';
}
