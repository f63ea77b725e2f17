// The lifecycle's part of `clawpod serve`: the Lifecycle itself (idle tiers, ttls, wakes), the
// front proxy's listeners, and the hooks the gateway calls (activity, spent budgets).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import { ClawpodError, messageOf } from '../errors.js';
import type { ControlPlane } from '../control/config.js';
import type { Daemon } from '../control/daemon.js';
import type { Store } from '../control/store.js';
import type { Runtime } from '../runtime/runtime.js';
import { validatedDurationMs } from '../spec/quantity.js';
import { EgressCollector } from '../egress/host-events.js';
import { onBudgetExhausted } from './budget.js';
import { trustedClock, type Clock } from './clock.js';
import { destroyAgent } from './destroy.js';
import { Lifecycle } from './manager.js';
import { createFront, type Route } from './proxy.js';
import { LifecycleStore } from './store.js';

export interface LifecycleParts {
  readonly lifecycle: Lifecycle;
  readonly gatewayHooks: { onCall: (group: string) => void; onExhausted: ReturnType<typeof onBudgetExhausted> };
  /** Starts the checks and the proxy's listeners; says where they listen. */
  start(): Promise<string[]>;
  stop(): Promise<void>;
}

export function lifecycleParts(o: { config: Config; rt: Runtime; cp: ControlPlane; store: Store; daemon: Daemon; say: (l: string) => void; clock?: Clock }): LifecycleParts {
  const store = new LifecycleStore(o.store.db);
  const egress = new EgressCollector(o.rt, {
    // where copying stopped before a restart: the newest refusal copied, or counted as dropped
    lastCopied: (agent) => {
      const times = [store.last(agent, 'egress_refused'), store.last(agent, 'egress_refused_dropped')]
        .flatMap((e) => { const d = e ? (JSON.parse(e.data) as { time?: string; until?: string }) : undefined; const t = d?.time ?? d?.until; return t ? [t] : []; });
      return times.sort().pop();
    },
    record: (agent, type, data) => lifecycle.event(agent, type, data),
  });
  const lifecycle: Lifecycle = new Lifecycle({
    rt: o.rt, config: o.config, store, clock: o.clock ?? trustedClock(), say: o.say,
    afterPass: (agents) => egress.collect(agents.flatMap((a) => (a.egressKey ? [{ name: a.name, key: a.egressKey }] : []))),
    destroy: (name) => destroyAgent({
      rt: o.rt, config: o.config, say: o.say,
      revokeToken: (t, why) => { o.daemon.groups.revokeToken(t, why); },
      dropGroup: async (tenant) => {
        o.store.forgetTurns(tenant);
        return o.daemon.groups.delete(`tenant-${tenant}`);
      },
    }, name),
    onEvent: (e) => o.daemon.bus.emit('lifecycle', e),
  });
  const servers: Server[] = [];
  const p = o.cp.spec.proxy;
  const listen = async (where: string, fixed?: Route): Promise<string> => {
    const front = createFront({ lifecycle, domain: p.domain, wakeTimeoutMs: validatedDurationMs(p.wakeTimeout), ...(fixed ? { fixed } : {}) });
    const s = createServer(front.request);
    s.on('upgrade', front.upgrade);
    s.on('connect', front.tunnel);
    const i = where.lastIndexOf(':');
    const host = where.slice(0, i).replace(/^\[|\]$/g, '');
    await new Promise<void>((res, rej) => s.once('error', (e: NodeJS.ErrnoException) => rej(new ClawpodError('PORT_TAKEN', `spec.proxy ${where}: ${e.code ?? messageOf(e)}`, { hint: 'pick a free port for the front proxy (spec.proxy.listen, spec.proxy.routes[].listen)' }))).listen(Number(where.slice(i + 1)), host, () => res()));
    servers.push(s);
    const a = s.address() as AddressInfo;
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  };
  return {
    lifecycle,
    gatewayHooks: { onCall: (g) => lifecycle.touchGroup(g), onExhausted: onBudgetExhausted(o.config, lifecycle, o.say) },
    async start() {
      await lifecycle.start(validatedDurationMs(o.cp.spec.lifecycle.interval));
      const said: string[] = [];
      try {
        if (p.listen) said.push(`front proxy on http://${await listen(p.listen)} (agents at http://NAME.${p.domain}:PORT/)`);
        for (const r of p.routes) said.push(`front proxy route http://${await listen(r.listen, { agent: r.agent, ...(r.port !== undefined ? { port: r.port } : {}) })} -> ${r.agent}`);
      } catch (e) {
        await this.stop();
        throw e;
      }
      return said;
    },
    async stop() {
      await lifecycle.stop();
      await Promise.all(servers.map((s) => new Promise<void>((res) => { s.closeAllConnections(); s.close(() => res()); })));
    },
  };
}
