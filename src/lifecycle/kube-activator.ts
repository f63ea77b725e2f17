// The activator for tenants in a cluster (`clawpod activator`, deploy/activator/): a front proxy
// (src/lifecycle/proxy.ts) in front of tenant StatefulSets. A request whose Host is in the routing
// table (src/lifecycle/kube-routes.ts, a ConfigMap of the activator's own namespace) goes to the
// tenant's Pod; a StatefulSet at 0 replicas is scaled to 1 while the request is held, and the
// request forwarded once the Pod is Ready. A route idle for its stop tier is scaled to 0 again;
// its claims stay. Kubernetes has no pause: pause tiers are skipped, and said so once per route.
// It acts only on what the table names (namespace, StatefulSet, its Pod NAME-0 owned by it), never
// on labels or annotations in tenant namespaces, which a tenant's own tooling could write.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ClawpodError, isClawpodError, messageOf } from '../errors.js';
import { apiError, httpCode, type Cluster } from '../kube/cluster.js';
import type { RunState } from './policy.js';
import { Traffic, WakeTimes, type WakeResult } from './traffic.js';
import { createFront } from './proxy.js';
import { hostKey, parseRoutes, ROUTES_CONFIGMAP, stopAfterMs, type ParsedRoute } from './kube-routes.js';

export interface ActivatorOptions {
  readonly cluster: Cluster;
  /** Namespace of the routes ConfigMap (the activator's own). */
  readonly namespace: string;
  readonly configMap?: string;
  /** Progress and log lines. */
  readonly say: (line: string) => void;
  /** How long a wake may take before it fails (default 5 min: an image pull, a claim attach). */
  readonly wakeBudgetMs?: number;
  /** Poll interval of a wake (≤ 250 ms). */
  readonly pollMs?: number;
}

interface Scale { spec?: { replicas?: number }; status?: { replicas?: number } }
interface PodObj {
  metadata?: { name?: string; deletionTimestamp?: string; ownerReferences?: { kind?: string; name?: string; controller?: boolean }[] };
  status?: {
    phase?: string; podIP?: string; conditions?: { type?: string; status?: string }[];
    containerStatuses?: { name?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
    initContainerStatuses?: { name?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

/** A container waiting for one of these will not get Ready without someone's help. */
const BROKEN = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError'];
/** A wake from 0 replicas takes about this long before any was measured. */
const FIRST_GUESS_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The lifecycle createFront needs, for routes of the table: names are hosts. `tick()` reloads the
 * table and scales idle routes to 0; `start(intervalMs)` runs it on a timer.
 */
export class KubeActivator extends Traffic {
  private routes = new Map<string, ParsedRoute>();
  private problemsSaid = new Set<string>();
  private pauseSaid = new Set<string>();
  private readonly waking = new Map<string, Promise<WakeResult>>();
  private readonly replicas = new Map<string, number>();
  private readonly wakeTimes = new WakeTimes(FIRST_GUESS_MS);
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly o: ActivatorOptions) { super(); }

  protected mono(): number { return performance.now(); }

  private get cm(): string { return this.o.configMap ?? ROUTES_CONFIGMAP; }

  /** The route of a Host header, or undefined. */
  route(host: string | undefined): ParsedRoute | undefined { return this.routes.get(hostKey(host)); }
  get size(): number { return this.routes.size; }

  /** Reads the table again (at most once a second when asked for an unknown host). */
  async reload(force = true): Promise<void> {
    if (!force && performance.now() - this.loadedAt < 1000) return this.loading;
    this.loading ??= this.load().finally(() => { this.loading = undefined; });
    return this.loading;
  }

  private async load(): Promise<void> {
    const c = this.o.cluster;
    let data: Record<string, string> | undefined;
    try {
      data = (await c.api.getPath<{ data?: Record<string, string> }>(`/api/v1/namespaces/${this.o.namespace}/configmaps/${this.cm}`)).data;
    } catch (e) {
      // none yet: no routes (tenant apply makes it with the first tenant whose plan has idle tiers)
      if (httpCode(e) !== 404) throw apiError(e, { ...c, namespace: this.o.namespace }, { action: 'get', object: `configmap/${this.cm}` });
    }
    this.loadedAt = performance.now();
    const { routes, problems } = parseRoutes(data, `configmap/${this.cm}`);
    for (const p of problems) if (!this.problemsSaid.has(p)) { this.problemsSaid.add(p); this.o.say(`activator: ${p} — row skipped`); }
    const next = new Map(routes.map((r) => [r.host, r]));
    for (const r of routes) {
      const old = this.routes.get(r.host);
      if (!old) this.o.say(`activator: ${r.host} → statefulset ${r.namespace}/${r.statefulset} port ${r.port}${stopAfterMs(r) !== undefined ? `, scaled to 0 after ${r.idle.find((t) => t.action === 'stop')!.after} idle` : ', never scaled down'}`);
      else if (old.namespace !== r.namespace || old.statefulset !== r.statefulset || old.port !== r.port) this.endpoints.delete(r.host);
      if (r.tiers.some((t) => t.action === 'pause') && !this.pauseSaid.has(r.host)) {
        this.pauseSaid.add(r.host);
        this.o.say(`activator: ${r.host}: pause tier skipped: Kubernetes has no pause (a Pod cannot be frozen and kept); only its stop tier applies (scale to 0, claims kept)`);
      }
    }
    for (const h of this.routes.keys()) if (!next.has(h)) { this.endpoints.delete(h); this.o.say(`activator: ${h}: route removed`); }
    this.routes = next;
  }

  async start(intervalMs: number): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => { void this.tick(); }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }


  /** The median of the last wakes measured (from 0 replicas to a Ready Pod). */
  expectedWakeMs(_from?: 'paused' | 'stopped'): number {
    return this.wakeTimes.median();
  }

  async stateOf(host: string): Promise<RunState | undefined> {
    const r = this.routes.get(host);
    if (!r) return undefined;
    const s = await this.scale(r).catch(() => undefined);
    return s === undefined ? undefined : (s.spec?.replicas ?? 0) === 0 ? 'stopped' : 'running';
  }

  /** One pass: the table again, then every route idle past its stop tier scaled to 0. Never two at once. */
  tick(): Promise<void> {
    this.ticking ??= this.pass().catch((e: unknown) => this.o.say(`activator: ${messageOf(e)}`)).finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    await this.reload();
    const now = performance.now();
    for (const r of this.routes.values()) {
      const after = stopAfterMs(r);
      if (after === undefined || this.waking.has(r.host)) continue;
      if (this.open.has(r.host)) { this.touch(r.host); continue; }
      let replicas: number;
      try { replicas = (await this.scale(r)).spec?.replicas ?? 0; } catch (e) {
        this.o.say(`activator: ${r.host}: ${messageOf(e)}`);
        continue;
      }
      const prev = this.replicas.get(r.host);
      this.replicas.set(r.host, replicas);
      if (replicas === 0) { this.endpoints.delete(r.host); continue; }
      // first sight, or scaled up by someone else since: its idle time starts now
      if (!this.activity.has(r.host) || prev === 0) this.touch(r.host);
      const idle = now - this.activity.get(r.host)!;
      if (idle < after) continue;
      this.endpoints.delete(r.host);
      try {
        await this.setReplicas(r, 0);
        this.replicas.set(r.host, 0);
        this.o.say(`activator: ${r.host}: idle for ${Math.round(idle / 1000)} s → statefulset ${r.namespace}/${r.statefulset} scaled to 0 (its claims stay)`);
      } catch (e) {
        this.o.say(`activator: ${r.host}: scaling to 0 failed, tried again at the next check: ${messageOf(e)}`);
      }
    }
  }

  /** Brings the route's StatefulSet to 1 replica (shared by concurrent callers) and says where its Pod answers. */
  wake(host: string): Promise<WakeResult> {
    let p = this.waking.get(host);
    if (!p) {
      p = this.doWake(host).finally(() => this.waking.delete(host));
      this.waking.set(host, p);
    }
    return p;
  }

  private async doWake(host: string): Promise<WakeResult> {
    let r = this.routes.get(host);
    if (!r) { await this.reload(false); r = this.routes.get(host); }
    if (!r) throw new ClawpodError('NOT_FOUND', `no tenant answers at ${host}`, { hint: `its row is missing from configmap ${this.o.namespace}/${this.cm} (clawpod tenant apply --kube writes it for plans with lifecycle.idle)` });
    const t0 = performance.now();
    this.touch(host);
    const replicas = (await this.scale(r)).spec?.replicas ?? 0;
    const from: RunState = replicas === 0 ? 'stopped' : 'running';
    if (replicas === 0) {
      await this.setReplicas(r, 1);
      this.replicas.set(host, 1);
      this.o.say(`activator: ${host}: a request → statefulset ${r.namespace}/${r.statefulset} scaled 0 → 1`);
    }
    const ip = await this.podReady(r, t0);
    const ms = performance.now() - t0;
    if (from === 'stopped') {
      this.wakeTimes.add(ms);
      this.o.say(`activator: ${host}: woken in ${Math.round(ms)} ms (pod ${r.statefulset}-0 Ready at ${ip})`);
    }
    this.touch(host);
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${r.port}`;
    const w: WakeResult = { name: host, from, ms, url, ports: [{ containerPort: r.port, url }] };
    this.endpoints.set(host, w);
    return w;
  }

  /** Polls Pod NAME-0 of the StatefulSet (≤ 250 ms) until it is Ready; a container broken for good fails at once. */
  private async podReady(r: ParsedRoute, t0: number): Promise<string> {
    const pod = `${r.statefulset}-0`;
    const path = `/api/v1/namespaces/${r.namespace}/pods/${pod}`;
    const budget = this.o.wakeBudgetMs ?? 300_000;
    const poll = Math.min(250, this.o.pollMs ?? 200);
    for (;;) {
      let p: PodObj | undefined;
      try { p = await this.o.cluster.api.getPath<PodObj>(path); } catch (e) {
        if (httpCode(e) !== 404) throw this.err(e, r, 'get', `pod/${pod}`);
      }
      const owned = p?.metadata?.ownerReferences?.some((o) => o.controller && o.kind === 'StatefulSet' && o.name === r.statefulset);
      if (p && owned && !p.metadata?.deletionTimestamp) {
        const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (ready && p.status?.podIP) return p.status.podIP;
        for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
          const w = s.state?.waiting;
          if (w?.reason && BROKEN.includes(w.reason)) {
            throw new ClawpodError('UNHEALTHY', `${r.host}: pod ${r.namespace}/${pod}: container ${s.name ?? '?'} ${w.reason}${w.message ? `: ${w.message}` : ''}`, { hint: `kubectl -n ${r.namespace} describe pod ${pod}` });
          }
        }
        if (p.status?.phase === 'Failed') throw new ClawpodError('UNHEALTHY', `${r.host}: pod ${r.namespace}/${pod} failed`, { hint: `kubectl -n ${r.namespace} describe pod ${pod}` });
      }
      if (performance.now() - t0 > budget) {
        throw new ClawpodError('UNHEALTHY', `${r.host}: pod ${r.namespace}/${pod} is not Ready ${Math.round(budget / 1000)} s after the wake`, { hint: `kubectl -n ${r.namespace} describe pod ${pod}` });
      }
      await sleep(poll);
    }
  }

  private async scale(r: ParsedRoute): Promise<Scale> {
    try { return await this.o.cluster.api.getPath<Scale>(this.scalePath(r)); } catch (e) {
      if (httpCode(e) === 404) throw new ClawpodError('NOT_FOUND', `${r.host}: statefulset ${r.namespace}/${r.statefulset} does not exist`, { hint: `the row ${r.source} of configmap ${this.o.namespace}/${this.cm} names it; was the tenant deleted?` });
      throw this.err(e, r, 'get', `statefulset/${r.statefulset}/scale`);
    }
  }

  private async setReplicas(r: ParsedRoute, n: number): Promise<void> {
    try { await this.o.cluster.api.mergePatch(this.scalePath(r), { spec: { replicas: n } }); } catch (e) {
      throw this.err(e, r, 'patch', `statefulset/${r.statefulset}/scale`);
    }
  }

  private scalePath(r: ParsedRoute): string { return `/apis/apps/v1/namespaces/${r.namespace}/statefulsets/${r.statefulset}/scale`; }

  private err(e: unknown, r: ParsedRoute, action: string, object: string): ClawpodError {
    if (isClawpodError(e)) return e;
    const x = apiError(e, { ...this.o.cluster, namespace: r.namespace }, { action, object });
    // 503: the proxy answers with Retry-After, the API server may be back by then
    return httpCode(e) === undefined ? new ClawpodError('RUNTIME_UNAVAILABLE', x.message, { hint: x.hint }) : x;
  }
}

/**
 * The activator's HTTP server: a request (or WebSocket) whose Host is in the table goes through
 * createFront for that route; any other host gets 404 JSON. /healthz answers for the kubelet.
 */
export function activatorServer(a: KubeActivator, opts: { readonly wakeTimeoutMs: number }): http.Server {
  const fronts = new Map<string, ReturnType<typeof createFront>>();
  const frontOf = (host: string) => {
    let f = fronts.get(host);
    if (!f) { f = createFront({ lifecycle: a, domain: host, wakeTimeoutMs: opts.wakeTimeoutMs, fixed: { agent: host } }); fronts.set(host, f); }
    return f;
  };
  // a host not in the table yet may have just been added: read the table again (at most once a second)
  const lookup = async (host: string | undefined) => a.route(host) ?? (await a.reload(false).catch(() => undefined), a.route(host));
  const unknown = (host: string | undefined) => JSON.stringify({ error: { code: 'NOT_FOUND', message: `no tenant answers at ${hostKey(host) || '(no Host header)'}`, hint: 'send the Host header of a tenant whose plan has lifecycle.idle (its NAME.DOMAIN)' } });
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' && !a.route(req.headers.host)) { res.writeHead(200, { 'content-type': 'application/json' }).end(`{"ok":true,"routes":${a.size}}\n`); return; }
    void lookup(req.headers.host).then((r) => {
      if (r) return frontOf(r.host).request(req, res);
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${unknown(req.headers.host)}\n`);
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void lookup(req.headers.host).then((r) => {
      if (r) return frontOf(r.host).upgrade(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
  });
  return server;
}
