// The browser sidecar's container, planned from its agent's: headless Chromium in the agent's
// network namespace, so its DevTools endpoint (CDP) listens on a loopback only that agent shares.
// Pure: the image is built and the container created elsewhere (src/browser/run.ts).
import { LABELS } from '../spec/defaults.js';
import type { ContainerSpec } from '../runtime/runtime.js';
import { CHROMIUM_BIN } from './image-ref.js';

export const CDP_PORT = 9222;
/** What the agent connects to: its own loopback, which only its sidecar shares. */
export const CDP_URL = `http://127.0.0.1:${CDP_PORT}`;
/** The variable that tells the reference runner (and a payload) where the browser is. */
export const BROWSER_ENV = 'CLAWPOD_BROWSER_CDP';
/** On a sidecar: the agent instance it belongs to (a sidecar is not an agent: no dev.clawpod.managed). */
export const BROWSER_OF_LABEL = 'dev.clawpod.browser-of';
const TMP_BYTES = 256 * 1_048_576;

export function sidecarName(instance: string): string {
  return `${instance}-browser`;
}

/** The proxy the agent's egress goes through (src/egress sets it), which the browser must use too. */
export function proxyOf(env: Readonly<Record<string, string>>): string | undefined {
  return env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy;
}

/**
 * Chromium's flags. --no-sandbox: Chromium's own sandbox needs user namespaces or a setuid helper,
 * which the hardened container does not give (no capabilities, no-new-privileges); the container is
 * the sandbox (docs/browser.md). The DevTools endpoint binds 127.0.0.1 (Chromium's default).
 */
export function chromiumArgs(proxy: string | undefined): string[] {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    '--disable-crash-reporter', '--crash-dumps-dir=/tmp/crash', '--log-level=2',
    '--user-data-dir=/tmp/profile', `--remote-debugging-port=${CDP_PORT}`,
    ...(proxy ? [`--proxy-server=${proxy}`] : []),
    'about:blank',
  ];
}

/** tini as PID 1: it reaps Chromium's helper processes and exits with the browser, so the engine's restart policy sees a crash. */
export function sidecarCommand(proxy: string | undefined): string[] {
  return ['/usr/bin/tini', '--', CHROMIUM_BIN, ...chromiumArgs(proxy)];
}

export interface SidecarInputs {
  readonly image: string;
  readonly memoryBytes: number;
  readonly pids: number;
}

/** The sidecar of `agent` (its planned container): hardened like it, joined to its network, restarted when it crashes. */
export function planSidecar(agent: ContainerSpec, inp: SidecarInputs): ContainerSpec {
  const instance = agent.labels[LABELS.instance] ?? agent.name;
  return {
    name: sidecarName(agent.name),
    image: inp.image,
    command: sidecarCommand(proxyOf(agent.env)),
    env: {},
    user: '1000:1000',
    labels: {
      [BROWSER_OF_LABEL]: instance,
      [LABELS.role]: 'browser',
    },
    mounts: [{ kind: 'tmpfs', target: '/tmp', sizeBytes: TMP_BYTES }],
    ports: [],
    resources: { cpus: agent.resources.cpus, memoryBytes: inp.memoryBytes, pids: inp.pids },
    network: agent.network,
    networkOf: agent.name,
    restart: 'always',
    isolation: 'runc',
    security: { readOnlyRootfs: true, dropAllCapabilities: true, noNewPrivileges: true, userNamespace: true },
  };
}
