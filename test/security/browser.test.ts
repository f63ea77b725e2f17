// Attack: reach another agent's browser. A browser sidecar's DevTools endpoint (CDP: full control of
// the browser, its cookies and pages) must answer its own agent only: not another container on the
// same bridge, not the host. The sidecar is hardened like an agent, and a `network: none` agent's
// browser shares its namespace, so it reaches nothing beyond loopback either.
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentYaml, cleanup, clawpod, IDLE_COMMAND, podman, scratchEnv, tmpDir, uniquePrefix, writeSpec } from '../helpers/cli.js';
import { IN_CI } from '../helpers/prereq.js';

const P = uniquePrefix('brs');
const A = `${P}-a`; // bridge
const B = `${P}-b`; // network: none
const env = scratchEnv();
const haveChromium = existsSync('/usr/lib/chromium/chromium');
let page: Server;
let port = 0;

/** What a fetch of url from inside `container` gives: the browser's name, or the error code. */
const FETCH = (url: string) => `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(4000) }).then(r => r.json()).then(j => console.log(j.Browser || 'answered'), e => console.log('ERR ' + (e.cause?.code || e.name)))`;
const fromAgent = (name: string, url: string) => podman(['exec', name, 'node', '-e', FETCH(url)]).stdout.trim();

beforeAll(async () => {
  if (!haveChromium && IN_CI) throw new Error('chromium is missing: run ./scripts/setup.sh (it installs Debian\'s chromium)');
  if (!haveChromium) return;
  page = createServer((_q, res) => res.end('host page'));
  await new Promise<void>((r) => page.listen(0, '0.0.0.0', r));
  port = (page.address() as AddressInfo).port;
  const dir = tmpDir();
  for (const [name, net] of [[A, 'bridge'], [B, 'none']] as const) {
    const r = await clawpod(['run', '-d', '-f', writeSpec(dir, `${name}.yaml`, agentYaml(name, `network: ${net}\n${IDLE_COMMAND}\nbrowser: { enabled: true }`))], { env, timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`clawpod run ${name} failed:\n${r.stderr}`);
  }
}, 400_000);

afterAll(() => { cleanup(P); page?.close(); });

describe.skipIf(!haveChromium)('browser sidecar: CDP only for its agent', () => {
  it('the agent reaches its browser on its loopback; another container on the bridge and the host do not', async () => {
    // the sidecar may still be starting: its own agent polls as the browser tool does
    let own = '';
    for (let i = 0; i < 40 && !own.startsWith('Chrome/'); i++) { own = fromAgent(A, 'http://127.0.0.1:9222/json/version'); if (!own.startsWith('Chrome/')) await new Promise((r) => setTimeout(r, 250)); }
    expect(own).toMatch(/^Chrome\//);
    const ip = podman(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', A]).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // another agent on the same bridge, aiming at A's address
    const other = podman(['run', '--rm', '--network', 'bridge', '--user', '1000:1000', 'localhost/clawpod-agent:latest', 'node', '-e', FETCH(`http://${ip}:9222/json/version`)]).stdout.trim();
    expect(other).toBe('ERR ECONNREFUSED');
    // B's browser is on B's loopback, not A's
    expect(fromAgent(A, 'http://127.0.0.1:9222/json/version')).toMatch(/^Chrome\//);
    expect(podman(['exec', B, 'node', '-e', FETCH(`http://${ip}:9222/json/version`)]).stdout.trim()).toMatch(/^ERR /);
    // the host: A's address, and the host's own loopback (the browser never binds there)
    const host = async (url: string) => fetch(url, { signal: AbortSignal.timeout(4000) }).then(async (r) => ((await r.json()) as { Browser?: string }).Browser ?? 'answered', (e: { cause?: { code?: string } }) => `ERR ${e.cause?.code ?? 'timeout'}`);
    expect(await host(`http://${ip}:9222/json/version`)).toBe('ERR ECONNREFUSED');
    expect(await host('http://127.0.0.1:9222/json/version')).toMatch(/^ERR /);
  }, 60_000);

  it('a network: none agent\'s browser has its own loopback only: the host is unreachable from its namespace', () => {
    let own = '';
    for (let i = 0; i < 40 && !own.startsWith('Chrome/'); i++) own = fromAgent(B, 'http://127.0.0.1:9222/json/version');
    expect(own).toMatch(/^Chrome\//);
    // the agent and its browser share one namespace: what the agent cannot reach, the browser cannot
    expect(fromAgent(B, `http://host.containers.internal:${port}/`)).toMatch(/^ERR (ENOTFOUND|EAI_AGAIN|ENETUNREACH)/);
    expect(fromAgent(B, `http://10.88.0.1:${port}/`)).toMatch(/^ERR (ENETUNREACH|EHOSTUNREACH|TimeoutError)/);
  }, 60_000);

  it('the sidecar is hardened like an agent: read-only root, no capabilities, no-new-privileges, limits, a user namespace, no ports', () => {
    const d = JSON.parse(podman(['inspect', `${A}-browser`]).stdout)[0] as {
      Config: { User: string }; HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[]; Memory: number; PidsLimit: number; RestartPolicy: { Name: string }; NetworkMode: string; PortBindings?: Record<string, unknown> };
      State: { Pid: number };
    };
    expect(d.Config.User).toBe('1000:1000');
    expect(d.HostConfig.ReadonlyRootfs).toBe(true);
    expect(d.HostConfig.CapDrop.length).toBeGreaterThan(10); // Podman lists every capability dropped
    expect(d.HostConfig.SecurityOpt.join(',')).toContain('no-new-privileges');
    expect(d.HostConfig.Memory).toBe(1024 * 1_048_576);
    expect(d.HostConfig.PidsLimit).toBe(512);
    expect(d.HostConfig.RestartPolicy.Name).toBe('always');
    expect(d.HostConfig.NetworkMode).toMatch(/^container:/);
    expect(Object.keys(d.HostConfig.PortBindings ?? {})).toEqual([]);
    // Chromium (tini's child) runs as a host id no account has: the agents' user-namespace range
    const kids = readFileSync(`/proc/${d.State.Pid}/task/${d.State.Pid}/children`, 'utf8').trim().split(/\s+/);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${kids[0]}/status`, 'utf8'))![1]);
    expect(uid).toBe(0x70000000 + 1000);
  });
});
