// One GET /v1/stream per tab: status changes (messages, sessions, lifecycle events) re-dispatched
// as DOM events on `live`, which pages listen to for as long as they are shown. A dropped stream
// is opened again after 1 s, 2 s, ... up to 15 s; the header says whether it is live.
import { stream } from './api.js';

export const live = new EventTarget();

export function connect(signal, status) {
  let wait = 1000;
  const open = async () => {
    while (!signal.aborted) {
      try {
        await stream('GET', '/v1/stream', {
          signal,
          onEvent: (type, data) => {
            if (type === 'hello') { status.textContent = '● live'; status.className = 'live on'; wait = 1000; }
            live.dispatchEvent(new CustomEvent(type, { detail: data }));
          },
        });
      } catch (e) {
        if (signal.aborted || e.status === 401) return;
      }
      status.textContent = '○ reconnecting';
      status.className = 'live off';
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 15_000);
    }
  };
  void open();
}
