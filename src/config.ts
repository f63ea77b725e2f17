// The only module that reads process.env. Everything else receives a frozen Config.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Environment variables clawpod reads (documented in docs/configuration.md):
 * CLAWPOD_RUNTIME, CONTAINER_HOST, DOCKER_HOST, CLAWPOD_CONFIG_DIR, CLAWPOD_DATA_DIR,
 * CLAWPOD_PODMAN, CLAWPOD_DEBUG, CLAWPOD_API (or CLAWPOD_URL), CLAWPOD_TOKEN, CLAWPOD_TRACE, CONTAINERS_CONF, CLAWPOD_BASE_IMAGE, CLAWPOD_CA_BUNDLE / NODE_EXTRA_CA_CERTS,
 * CLAWPOD_VAULT, CLAWPOD_VAULT_PASSPHRASE, CLAWPOD_VAULT_KEY_FILE, CLAWPOD_RUN_DIR,
 * KUBECONFIG, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME, HOME, PATH, and OpenTelemetry's
 * OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_SERVICE_NAME, OTEL_SDK_DISABLED (docs/tracing.md).
 */
export interface Config {
  /** 'podman' | 'docker' when the user pinned a runtime; undefined to discover. */
  readonly runtime: string | undefined;
  readonly containerHost: string | undefined;
  readonly dockerHost: string | undefined;
  readonly home: string;
  readonly uid: number;
  readonly xdgRuntimeDir: string | undefined;
  /** Holds mount-allowlist.json; never mountable into an agent. */
  readonly configDir: string;
  /** Holds clawpod state (secret files under runDir, caches). */
  readonly dataDir: string;
  /**
   * Host tmpfs folder for per-container secret files: RUN/secrets, where RUN is CLAWPOD_RUN_DIR
   * (default /dev/shm/clawpod as root, $XDG_RUNTIME_DIR/clawpod otherwise). Both are created 0700
   * and refused when someone else owns them (src/secrets/deliver.ts).
   */
  readonly secretsDir: string;
  readonly podmanBin: string;
  /** containers.conf handed to a Podman service clawpod starts itself. */
  readonly containersConf: string | undefined;
  /** Overrides the base image of the agent image (skips the registry probe). */
  readonly baseImage: string | undefined;
  readonly caBundle: string | undefined;
  readonly path: string;
  /** Root of the clawpod checkout/package (images/ lives here). */
  readonly packageRoot: string;
  /** CLAWPOD_DEBUG=1 prints stack traces of unexpected errors. */
  readonly debug: boolean;
  /** The control plane's URL and token for send/chat (default: what `clawpod serve` wrote in dataDir/control). */
  readonly apiUrl: string | undefined;
  readonly apiToken: string | undefined;
  /** KUBECONFIG, for the kubernetes secret source (and, later, the cluster driver). */
  readonly kubeconfig: string | undefined;
  /** CLAWPOD_TRACE=1 prints phase and API call timings on stderr. */
  readonly trace: boolean;
  /** The encrypted secrets vault (src/secrets/vault.ts): CLAWPOD_VAULT, default dataDir/vault.json. */
  readonly vaultFile: string;
  /** CLAWPOD_VAULT_PASSPHRASE: the vault is locked with a passphrase (scrypt) instead of a key file. */
  readonly vaultPassphrase: string | undefined;
  /** CLAWPOD_VAULT_KEY_FILE: the vault's key file; default configDir/vault.key, created on first `secret set`. */
  readonly vaultKeyFile: string | undefined;
  /** The environment, read only by the `env` secret source and `clawpod secret` (--from-env, --new-passphrase-env). */
  readonly secretEnv: Readonly<Record<string, string | undefined>>;
  /** OpenTelemetry's own variables, as set (src/otel/settings.ts decides what they mean). */
  readonly otel: OtelEnv;
}

/** The OTEL_* variables clawpod reads itself; the SDK reads its tuning ones (OTEL_BSP_*, headers) on its own. */
export interface OtelEnv {
  readonly endpoint: string | undefined;
  readonly tracesEndpoint: string | undefined;
  readonly protocol: string | undefined;
  readonly serviceName: string | undefined;
  readonly disabled: boolean;
}

const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

type Env = Readonly<Record<string, string | undefined>>;

export function packageRoot(): string {
  // dist/src/config.js → package root is two levels above dist/src
  const here = fileURLToPath(new URL('.', import.meta.url));
  return join(here, '..', '..');
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const home = env.HOME ?? homedir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 1000;
  const xdgConfig = env.XDG_CONFIG_HOME ?? join(home, '.config');
  const xdgData = env.XDG_DATA_HOME ?? join(home, '.local', 'share');
  const root = packageRoot();
  const localConf = join(root, '.clawpod', 'containers.conf');
  const dataDir = env.CLAWPOD_DATA_DIR ?? join(xdgData, 'clawpod');
  const runBase = env.CLAWPOD_RUN_DIR ? resolve(env.CLAWPOD_RUN_DIR) : (uid === 0 ? '/dev/shm/clawpod' : join(env.XDG_RUNTIME_DIR ?? `/run/user/${uid}`, 'clawpod'));
  const cfg: Config = {
    runtime: env.CLAWPOD_RUNTIME || undefined,
    containerHost: env.CONTAINER_HOST || undefined,
    dockerHost: env.DOCKER_HOST || undefined,
    home,
    uid,
    xdgRuntimeDir: env.XDG_RUNTIME_DIR || undefined,
    configDir: env.CLAWPOD_CONFIG_DIR ?? join(xdgConfig, 'clawpod'),
    dataDir,
    secretsDir: join(runBase, 'secrets'),
    podmanBin: env.CLAWPOD_PODMAN ?? 'podman',
    containersConf: env.CONTAINERS_CONF ?? (existsSync(localConf) ? localConf : undefined),
    baseImage: env.CLAWPOD_BASE_IMAGE || undefined,
    // the host's bundle goes into a base built from the host, so HTTPS works inside agents
    caBundle: env.CLAWPOD_CA_BUNDLE ?? env.NODE_EXTRA_CA_CERTS ?? (existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined),
    path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    packageRoot: root,
    debug: env.CLAWPOD_DEBUG === '1',
    trace: env.CLAWPOD_TRACE === '1',
    kubeconfig: env.KUBECONFIG || undefined,
    // CLAWPOD_URL is the name the SDK (packages/sdk) reads: one setting serves both
    apiUrl: env.CLAWPOD_API || env.CLAWPOD_URL || undefined,
    apiToken: env.CLAWPOD_TOKEN || undefined,
    vaultFile: env.CLAWPOD_VAULT || join(dataDir, 'vault.json'),
    vaultPassphrase: env.CLAWPOD_VAULT_PASSPHRASE || undefined,
    vaultKeyFile: env.CLAWPOD_VAULT_KEY_FILE || undefined,
    secretEnv: env,
    otel: {
      endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
      tracesEndpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined,
      protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || undefined,
      serviceName: env.OTEL_SERVICE_NAME || undefined,
      disabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
    },
    ...overrides,
  };
  return Object.freeze(cfg);
}
