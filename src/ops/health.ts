// Waits until a payload says it is up: its startup probe, then its health probe, each a JSON body
// that must pass the profile's check (a UI that answers every path with 200 and HTML does not).
// Shows progress, gives up at the budget, and on failure shows the payload's last log lines.
import { get as httpGet } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClawpodError } from '../errors.js';
import { profileOf } from '../profiles/index.js';
import type { JsonProbe, ProfileProbes } from '../profiles/types.js';
import type { PortBinding, Runtime } from '../runtime/runtime.js';
import { redactor } from '../secrets/redact.js';
import type { LoadedAgent } from '../spec/parse.js';
import { validatedDurationMs } from '../spec/quantity.js';

export interface HealthTarget {
  readonly id: string;
  readonly name: string;
  /** Where the probe port is published on this host, e.g. http://127.0.0.1:18789 */
  readonly baseUrl: string;
}

type ProbeResult = { ok: true } | { ok: false; why: string };

/**
 * One GET through node:http, not fetch: fetch's socket does not hold the process open, and a
 * userland port proxy (Docker's docker-proxy) accepts the connection and then holds it while the
 * payload is not listening yet, so a CLI waiting on fetch alone just exited with status 0.
 */
function get(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('probe timed out'), { cause: { code: 'TIMEOUT' } })));
    req.on('error', (e) => reject(Object.assign(e, { cause: { code: (e as NodeJS.ErrnoException).code ?? (e as { cause?: { code?: string } }).cause?.code } })));
  });
}

async function probeOnce(url: string, probe: JsonProbe): Promise<ProbeResult> {
  try {
    const res = await get(url, 2000);
    const text = res.text;
    let body: unknown;
    try { body = JSON.parse(text); } catch { return { ok: false, why: `HTTP ${res.status}, not JSON (${text.slice(0, 40).replace(/\s+/g, ' ')}…)` }; }
    if (probe.ok(body)) return { ok: true };
    return { ok: false, why: `HTTP ${res.status} ${JSON.stringify(body).slice(0, 120)}` };
  } catch (e) {
    const c = (e as { cause?: { code?: string } }).cause?.code;
    return { ok: false, why: c ?? (e as Error).name };
  }
}

/** The last lines of a container's output, redacted, for error messages. */
export async function lastLogLines(rt: Runtime, id: string, n = 15): Promise<string[]> {
  const chunks: Buffer[] = [];
  try { for await (const c of rt.logs(id, { tail: n })) chunks.push(c.data); } catch { return []; }
  return redactor.redact(Buffer.concat(chunks).toString('utf8')).split('\n').filter((l) => l.trim()).slice(-n);
}

export async function waitHealthy(rt: Runtime, t: HealthTarget, probes: ProfileProbes, opts: { budgetMs: number; say: (s: string) => void; intervalMs?: number }): Promise<void> {
  const t0 = Date.now();
  const steps: { label: string; probe: JsonProbe }[] = [...(probes.startup ? [{ label: 'started', probe: probes.startup }] : []), { label: 'healthy', probe: probes.health }];
  const unhealthy = async (message: string) => new ClawpodError('UNHEALTHY', message, {
    details: await lastLogLines(rt, t.id), hint: `the lines above are its last output; \`clawpod logs ${t.name}\` shows all of it`,
  });
  let lastSaid = 0;
  for (const step of steps) {
    for (;;) {
      const r = await probeOnce(t.baseUrl + step.probe.path, step.probe);
      const elapsed = Date.now() - t0;
      if (r.ok) { opts.say(`${t.name}: ${step.probe.path} ok (${(elapsed / 1000).toFixed(1)} s)`); break; }
      const state = (await rt.inspectContainer(t.id))?.state;
      if (state !== 'running' && state !== 'created') throw await unhealthy(`${t.name} stopped (${state ?? 'removed'}) before ${step.probe.path} said ${step.label}`);
      if (elapsed > opts.budgetMs) throw await unhealthy(`${t.name} is not ${step.label} after ${Math.round(elapsed / 1000)} s (${step.probe.path}: ${r.why})`);
      if (elapsed - lastSaid >= 5000) { lastSaid = elapsed; opts.say(`${t.name}: waiting for ${step.probe.path} (${Math.round(elapsed / 1000)} s, ${r.why})`); }
      await sleep(opts.intervalMs ?? 250);
    }
  }
}

export const DEFAULT_STARTUP_BUDGET = '5m';

/** Where a published port answers on this machine: a wildcard binding is reached on loopback. */
export function publishedUrl(p: { hostIP: string; hostPort: number }): string {
  const host = p.hostIP === '0.0.0.0' ? '127.0.0.1' : p.hostIP;
  return `http://${host.includes(':') ? `[${host}]` : host}:${p.hostPort}`;
}

/** Waits for a started container's probes; the published port of the probe port is where it asks. */
export async function waitForService(rt: Runtime, loaded: LoadedAgent, r: { readonly id: string; readonly name: string; readonly ports: readonly Pick<PortBinding, 'containerPort' | 'hostPort' | 'hostIP'>[] }, say: (s: string) => void, budgetMs?: number): Promise<string | undefined> {
  const profile = profileOf(loaded.agent);
  if (!profile?.probes) return undefined;
  const port = r.ports.find((p) => p.containerPort === profile.probes!.port);
  if (!port) {
    throw new ClawpodError('USAGE', `${r.name}: the ${profile.name} probes are served on container port ${profile.probes.port}, which spec.ports does not publish`, { hint: `keep a spec.ports entry with containerPort: ${profile.probes.port}` });
  }
  const baseUrl = publishedUrl(port);
  await waitHealthy(rt, { id: r.id, name: r.name, baseUrl }, profile.probes, {
    budgetMs: budgetMs ?? validatedDurationMs(profile.startupBudget ?? DEFAULT_STARTUP_BUDGET), say,
  });
  return `${baseUrl}/`;
}
