// A group's chat: the last messages with their answers (replayed from their stored events), and a
// form whose message is sent with Accept: text/event-stream, so the answer streams into the page
// as the runner writes it: text as it comes, each tool call with its input, then its result.
import { api, stream } from '../api.js';
import { enc, field, h } from '../dom.js';

const SHOWN = 10;
const STATUS = { queued: 'queued', delivered: 'delivered', session_starting: 'starting a container', waking: 'waking the container', start: 'answering', done: 'done', retry: 'retrying', wake_failed: 'runtime unavailable: kept, will retry' };

export function chatPage(view, ctx) {
  const [group] = ctx.params;
  const transcript = h('ol', { class: 'transcript', attrs: { 'aria-label': `Conversation with ${group}` } });
  const text = h('textarea', { id: ctx.uid('message'), rows: 3, required: true });
  const send = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { class: 'composer' }, field('Message', text), send);
  view.append(h('h1', {}, `Chat with ${group}`),
    h('p', { class: 'crumbs' }, h('a', { href: '#/groups' }, 'Groups'), ' · ', h('a', { href: `#/groups/${enc(group)}/sessions` }, 'Sessions')),
    transcript, form);

  // Enter sends, Shift+Enter is a new line
  text.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); } });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const words = text.value.trim();
    if (!words) return;
    text.value = '';
    send.disabled = true;
    const t = turn(words);
    t.el.classList.add('new');
    transcript.append(t.el);
    try {
      await stream('POST', `/v1/groups/${enc(group)}/messages`, { body: { text: words }, signal: ctx.signal, onEvent: t.onEvent });
    } catch (e) { if (!ctx.signal.aborted) { t.onEvent('failed', { reason: e.message }); ctx.report(e); } }
    send.disabled = false;
    text.focus();
  });

  api('GET', `/v1/groups/${enc(group)}/messages`, undefined, { signal: ctx.signal }).then((ms) => {
    // a finished message's stream ends after its stored events; an unfinished one's stays open, and
    // a browser has six connections to the host: only the newest unfinished one is followed live
    const live = ms.find((m) => m.status !== 'done' && m.status !== 'failed');
    for (const m of ms.slice(0, SHOWN).reverse()) {
      const t = turn(m.text);
      // oldest first, and before any turn sent since the page opened
      transcript.insertBefore(t.el, transcript.querySelector('.turn.new'));
      if (m !== live && m.status !== 'done' && m.status !== 'failed') { t.onEvent(m.status === 'queued' ? 'queued' : 'delivered', {}); continue; }
      stream('GET', `/v1/messages/${enc(m.id)}/events`, { signal: ctx.signal, onEvent: t.onEvent }).catch((e) => { if (!ctx.signal.aborted) ctx.report(e); });
    }
  }, (e) => ctx.report(e));
  text.focus();
}

/** One message and its answer; onEvent(type, data) adds what each event says. */
function turn(words) {
  const status = h('span', { class: 'status' }, 'sending');
  const answer = h('div', { class: 'answer', attrs: { 'aria-live': 'polite', 'aria-busy': 'true' } });
  const el = h('li', { class: 'turn' }, h('div', { class: 'you' }, h('span', { class: 'who' }, 'You'), words), h('div', { class: 'bot' }, h('span', { class: 'who' }, 'Agent'), status, answer));
  let para; // the text block deltas go to; a tool call starts a new one, so the order stays as it happened
  const tools = new Map();
  const onEvent = (type, d) => {
    if (STATUS[type]) status.textContent = STATUS[type];
    if (type === 'text') {
      if (!para) { para = h('p', { class: 'text' }); answer.append(para); }
      para.append(d.delta);
    } else if (type === 'tool_call') {
      para = undefined;
      const box = h('div', { class: 'tool', attrs: { 'data-tool': d.name } },
        h('div', { class: 'tool-head' }, `tool call: ${d.name}`),
        h('pre', { class: 'tool-input' }, typeof d.input?.command === 'string' ? d.input.command : JSON.stringify(d.input, null, 2)));
      tools.set(d.id, box);
      answer.append(box);
    } else if (type === 'tool_result') {
      const box = tools.get(d.id) ?? answer;
      box.append(h('div', { class: 'tool-head' }, d.isError ? 'result (error)' : 'result'), h('pre', { class: `tool-output${d.isError ? ' error' : ''}` }, d.output));
    } else if (type === 'error') {
      answer.append(h('p', { class: 'error' }, d.message));
    } else if (type === 'failed') {
      status.textContent = `failed: ${d.reason}`;
      status.classList.add('error');
    }
    if (type === 'done' || type === 'failed') answer.setAttribute('aria-busy', 'false');
  };
  return { el, onEvent };
}
