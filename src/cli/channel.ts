// `clawpod channel ls|bind|unbind`: the chat channels of a running `clawpod serve` and which chat
// reaches which group (docs/channels.md). Through its HTTP API, like the group verbs.
import type { Ctx } from './context.js';
import { table } from './context.js';
import { ControlClient } from '../control/client.js';

interface BindingView { channel: string; chat: string; group: string; source: string }
interface ChannelView { name: string; kind: string; mode: string | null; state: string; since: string; error: { code: string; message: string; hint?: string } | null; bindings: BindingView[] }

const path = (channel: string, chat: string) => `/v1/channels/${encodeURIComponent(channel)}/bindings/${encodeURIComponent(chat)}`;

export async function list(ctx: Ctx): Promise<void> {
  const channels = await ControlClient.fromConfig(ctx.config).call<ChannelView[]>('GET', '/v1/channels');
  if (ctx.json) { ctx.printJson(channels); return; }
  if (channels.length === 0) { ctx.print('no channels: define them under spec.channels of the ControlPlane file (docs/channels.md)'); return; }
  ctx.print(table([['CHANNEL', 'KIND', 'STATE', 'CHAT', 'GROUP'],
    ...channels.flatMap((c) => {
      const state = c.error ? `${c.state}: ${c.error.message}` : c.state;
      const kind = c.mode ? `${c.kind} (${c.mode})` : c.kind;
      return c.bindings.length ? c.bindings.map((b, i) => [i ? '' : c.name, i ? '' : kind, i ? '' : state, b.chat, b.group]) : [[c.name, kind, state, '-', '-']];
    })]));
}

export async function bind(ctx: Ctx, channel: string, chat: string, group: string): Promise<void> {
  const b = await ControlClient.fromConfig(ctx.config).call<BindingView>('PUT', path(channel, chat), { group });
  if (ctx.json) ctx.printJson(b); else ctx.print(`chat ${b.chat} of channel ${b.channel} → group ${b.group}`);
}

export async function unbind(ctx: Ctx, channel: string, chat: string): Promise<void> {
  const r = await ControlClient.fromConfig(ctx.config).call<{ removed: boolean }>('DELETE', path(channel, chat));
  if (ctx.json) ctx.printJson(r); else ctx.print(r.removed ? `chat ${chat} of channel ${channel} unbound` : `chat ${chat} of channel ${channel} was not bound`);
}
