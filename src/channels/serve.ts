// `clawpod serve`'s channels: resolves each channel's credentials (they stay in this process, never
// in a container, and the redactor learns them), builds its adapter (a platform's code loads only
// when a channel uses it), seeds the file's bindings and hands all of it to the router.
import type { Config } from '../config.js';
import type { ControlPlane } from '../control/config.js';
import type { Daemon } from '../control/daemon.js';
import type { Store } from '../control/store.js';
import { resolveRef } from '../secrets/resolve.js';
import { ChannelRouter, type FreshStart } from './router.js';
import type { ChannelSpec } from './schema.js';
import { ChannelStore } from './store.js';
import type { AdapterInit, ChannelAdapter } from './types.js';

const FACTORIES: Record<ChannelSpec['kind'], () => Promise<(init: AdapterInit) => ChannelAdapter>> = {
  telegram: () => import('./telegram.js').then((m) => m.createTelegram),
  slack: () => import('./slack.js').then((m) => m.createSlack),
  webhook: () => import('./webhook.js').then((m) => (init: AdapterInit) => m.createWebhook(init)),
};

export interface ChannelParts { readonly router: ChannelRouter; readonly channels: ChannelStore }

/** Adapters with their credentials, before the daemon exists: `attach` makes the router. */
export interface PreparedChannels { attach(daemon: Daemon, store: Store, memory?: FreshStart): ChannelParts }

/** Resolves every channel's secrets and builds its adapter. Called before anything is started: a
 *  secret that cannot be resolved stops `clawpod serve` with an error naming the channel and field,
 *  with nothing left open; a platform that refuses the credentials later only marks its channel down. */
export async function prepareChannels(o: { readonly config: Config; readonly cp: ControlPlane; readonly cpDir: string; readonly say: (line: string) => void }): Promise<PreparedChannels> {
  let daemon: Daemon | undefined;
  const adapters: { adapter: ChannelAdapter; spec: ChannelSpec }[] = [];
  for (const [i, spec] of o.cp.spec.channels.entries()) {
    const ctx = { specDir: o.cpDir, config: o.config };
    const secret = async (field: 'token' | 'signingSecret' | 'appToken') => {
      const s = spec[field];
      return s ? resolveRef(s.source, s.secretRef, `spec.channels[${i}].${field} (${spec.name}.${field})`, ctx) : undefined;
    };
    const [token, signingSecret, appToken] = [await secret('token'), await secret('signingSecret'), await secret('appToken')];
    const create = await FACTORIES[spec.kind]();
    const adapter = create({
      name: spec.name, say: o.say,
      ...(token ? { token } : {}), ...(signingSecret ? { signingSecret } : {}), ...(appToken ? { appToken } : {}),
      ...(spec.mode ? { mode: spec.mode } : {}), ...(spec.apiRoot ? { apiRoot: spec.apiRoot } : {}),
      ...(spec.callbackUrl ? { callbackUrl: spec.callbackUrl } : {}), ...(spec.publicUrl ? { publicUrl: spec.publicUrl } : {}),
      onRejected: rejectedNotes(spec.name, () => daemon),
    });
    adapters.push({ adapter, spec });
  }
  return {
    attach(d, store, memory) {
      daemon = d;
      const channels = new ChannelStore(store.db);
      channels.seedFromFile(o.cp.spec.bindings);
      const router = new ChannelRouter({ daemon: d, store, channels, adapters, say: o.say, memory: memory ?? d.memory });
      return { router, channels };
    },
  };
}

/** At most one channel_rejected event per channel every 10 s, with how many were refused since:
 *  a stranger posting forgeries must not grow the store with each one. */
export function rejectedNotes(channel: string, daemon: () => Daemon | undefined): (why: string) => void {
  let last = 0;
  let since = 0;
  return (why) => {
    since++;
    const now = Date.now();
    if (now - last < 10_000) return;
    daemon()?.note('channel_rejected', { channel, why, refused: since });
    last = now;
    since = 0;
  };
}
