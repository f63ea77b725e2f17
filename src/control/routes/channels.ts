// Chat channels (src/channels): their state, which chat reaches which group (`clawpod channel
// bind|ls|unbind`, admin), and the platforms' own webhook requests, which carry no clawpod token:
// each adapter checks its platform's signature or secret instead.
import { createRoute, z } from '@hono/zod-openapi';
import { ClawpodError } from '../../errors.js';
import type { ChannelRouter } from '../../channels/router.js';
import type { ChannelStore, BindingRow } from '../../channels/store.js';
import type { Daemon } from '../daemon.js';
import type { Store } from '../store.js';
import { adminOnly, errors, json, NameParam, routes, type App } from './common.js';

export interface ChannelOps { readonly router: ChannelRouter; readonly channels: ChannelStore }

const Binding = z.object({ channel: z.string(), chat: z.string(), group: z.string(), source: z.enum(['file', 'api']), createdAt: z.string() }).openapi('ChannelBinding');
const Channel = z.object({
  name: z.string(), kind: z.enum(['telegram', 'slack', 'webhook']), mode: z.string().nullable(),
  state: z.enum(['starting', 'up', 'down']), since: z.string(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
  bindings: z.array(Binding),
  events: z.array(z.object({ type: z.string(), data: z.record(z.string(), z.unknown()), ts: z.string() })).openapi({ description: 'its recent events, newest first: channel_up, channel_down, channel_unbound, channel_rate_limited, channel_rejected' }),
}).openapi('Channel');
const ChatParam = NameParam.extend({ chat: z.string().min(1).max(200).openapi({ param: { name: 'chat', in: 'path' }, example: '-1001234567890' }) });
const tag = ['channels'];

const view = (b: BindingRow) => ({ channel: b.channel, chat: b.chat, group: b.group_name, source: b.source, createdAt: b.created_at });

/** The routes answer 503 without channels (a daemon started with none configured still lists an empty set). */
export function channelRoutes(daemon: Daemon, store: Store, ops: ChannelOps | undefined): App {
  const app = routes();
  const known = () => ops?.router.status().map((s) => s.name) ?? [];
  const channel = (name: string) => {
    if (!ops?.router.adapter(name)) {
      throw new ClawpodError('NOT_FOUND', `no channel named ${name}`, { hint: known().length ? `channels: ${known().join(', ')}` : 'channels are defined under spec.channels of the ControlPlane file (docs/channels.md)' });
    }
  };

  app.openapi(createRoute({ middleware: [adminOnly('listing channels')] as const, method: 'get', path: '/v1/channels', tags: tag, summary: 'Chat channels: state (up, down with the reason) and bound chats (admin)',
    responses: { 200: json(z.array(Channel), 'the channels'), ...errors(403) } }), (c) => {
    const list = ops?.router.status() ?? [];
    return c.json(list.map((s) => ({
      name: s.name, kind: s.kind as 'telegram' | 'slack' | 'webhook', mode: s.mode ?? null, state: s.state.state, since: s.state.since, error: s.state.error ?? null,
      bindings: ops!.channels.bindings().filter((b) => b.channel === s.name).map(view),
      events: ops!.channels.events(s.name),
    })), 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('binding a chat')] as const, method: 'put', path: '/v1/channels/{name}/bindings/{chat}', tags: tag, summary: 'Bind a chat of the channel to a group: its messages reach the group\'s agent (admin)',
    request: { params: ChatParam, body: { content: { 'application/json': { schema: z.object({ group: z.string().min(1) }) } }, required: true } },
    responses: { 200: json(Binding, 'the binding'), ...errors(400, 403, 404) } }), (c) => {
    const { name, chat } = c.req.valid('param');
    const { group } = c.req.valid('json');
    channel(name);
    if (!store.group(group)) throw new ClawpodError('NOT_FOUND', `no group named ${group}`, { hint: `groups: ${store.groups().map((g) => g.name).join(', ') || 'none yet'}; add one with \`clawpod group add ${group} --model NAME\`` });
    ops!.channels.bind(name, chat, group, 'api');
    daemon.note('channel_bound', { channel: name, chat, group });
    return c.json(view(ops!.channels.binding(name, chat)!), 200);
  });

  app.openapi(createRoute({ middleware: [adminOnly('unbinding a chat')] as const, method: 'delete', path: '/v1/channels/{name}/bindings/{chat}', tags: tag, summary: 'Unbind a chat: its next message gets the "not connected" answer (admin)',
    request: { params: ChatParam }, responses: { 200: json(z.object({ removed: z.boolean() }), 'whether it was bound'), ...errors(403, 404) } }), (c) => {
    const { name, chat } = c.req.valid('param');
    channel(name);
    const removed = ops!.channels.unbind(name, chat);
    if (removed) daemon.note('channel_unbound_chat', { channel: name, chat });
    return c.json({ removed }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/v1/channels/{name}/hook', tags: tag, security: [],
    summary: 'A platform\'s webhook (Telegram webhook mode, Slack Events API, the signed webhook channel): no clawpod token; the platform\'s signature or secret is checked',
    request: { params: NameParam },
    responses: { 200: { description: 'taken (the platform\'s own answer format)' }, 202: { description: 'taken (webhook channel)' }, 401: { description: 'the signature or secret does not check out' }, 404: { description: 'no such channel, or one without webhooks' } } }),
  async (c) => {
    const { name } = c.req.valid('param');
    const adapter = ops?.router.adapter(name);
    // the same answer for a channel that does not exist and one that takes no webhooks: nothing to learn here
    if (!adapter?.handle) return c.json({ error: { code: 'NOT_FOUND', message: `no channel ${name} takes webhooks` } }, 404);
    return adapter.handle(c.req.raw) as unknown as ReturnType<typeof c.json>;
  });

  return app;
}
