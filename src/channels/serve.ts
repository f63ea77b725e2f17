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

export interface ChannelPartsOptions {
  readonly config: Config; readonly cp: ControlPlane; readonly cpDir: string;
  readonly daemon: Daemon; readonly store: Store; readonly say: (line: string) => void;
  /** What `/new` marks; default: the daemon's own memory of conversations. */
  readonly memory?: FreshStart;
}

/** A secret that cannot be resolved stops the start (a configuration error, named); a platform that
 *  refuses the credentials later only marks its channel down. */
export async function channelParts(o: ChannelPartsOptions): Promise<ChannelParts> {
  const channels = new ChannelStore(o.store.db);
  channels.seedFromFile(o.cp.spec.bindings);
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
      onRejected: (why) => o.daemon.note('channel_rejected', { channel: spec.name, why }),
    });
    adapters.push({ adapter, spec });
  }
  const router = new ChannelRouter({ daemon: o.daemon, store: o.store, channels, adapters, say: o.say, memory: o.memory ?? o.daemon.memory });
  return { router, channels };
}
