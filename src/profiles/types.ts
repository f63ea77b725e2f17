// A payload profile bundles what one kind of agent needs: image recipe, ports and their spacing,
// probes, config rendering, where secrets go and where state lives. Profiles are data and pure
// functions only; the machinery that builds, seeds, waits and upgrades is in src/images and src/ops.
import type { StartDoc } from '../agent/protocol.js';
import type { AgentInput } from '../spec/schema.js';

export type SpecDefaults = NonNullable<AgentInput['spec']>;
export type SpecTier = NonNullable<SpecDefaults['isolation']>;

/** An HTTP probe on the agent's own port whose JSON body says whether it is up. */
export interface JsonProbe {
  readonly path: string;
  /** The body must be JSON and pass this; an HTML page answering 200 (a UI's catch-all) does not. */
  readonly ok: (body: unknown) => boolean;
}

export interface ProfileProbes {
  /** Container port the probes are served on (one of the spec's ports). */
  readonly port: number;
  /** Polled first, until ok; then health. */
  readonly startup?: JsonProbe;
  readonly health: JsonProbe;
  /** Kubernetes readiness; default: health. */
  readonly ready?: JsonProbe;
}

export interface ContextFile {
  readonly to: string;
  readonly candidates: readonly string[];
  /** Said when no candidate exists. */
  readonly hint: string;
  readonly mode?: number;
}

export interface ProfileImage {
  /** Folder under images/ holding the Containerfile (ARG BASE first). */
  readonly dir: string;
  /** Node major the payload needs; selects the base image. */
  readonly nodeMajor: number;
  tag(version: string): string;
  buildArgs(version: string): Readonly<Record<string, string>>;
  /** Host files or folders copied into the build context (a static init, a built runner); the first existing candidate wins. */
  contextFiles?(packageRoot: string): readonly ContextFile[];
}

/** Values only clawpod knows when an instance is created; config rendering reads them. */
export interface RenderContext {
  readonly instance: string;
  /** Where file secrets appear inside the container. */
  readonly secretsDir: string;
  /** clawpod's LLM gateway as the agent reaches it, when the instance is wired to it. */
  readonly llm?: { readonly baseUrl: string; readonly api: 'anthropic' | 'openai'; readonly model: string; readonly tokenFile: string };
  /**
   * Where the instance's ports are published on this machine (local runtimes, known once ports are
   * allocated): a payload's browser UI must accept these origins. Undefined in a cluster.
   */
  readonly published?: readonly { readonly containerPort: number; readonly hostPort: number; readonly hostIP: string }[];
  /** spec.browser: the sidecar's DevTools endpoint on the agent's loopback (docs/browser.md), for the payload's browser tool. */
  readonly browserCdpUrl?: string;
  /** spec.tools.shell as the reference runner reads it (key and known_hosts as /run/secrets files). */
  readonly shell?: NonNullable<StartDoc['tools']>['shell'];
}

/** A secret clawpod generates per instance, keeps in the vault and delivers as a file. */
export interface GeneratedSecret {
  readonly name: string;
  /** Vault entry name for an instance. */
  vaultName(instance: string): string;
  /** Shown once, when first generated. */
  readonly label: string;
  /** The payload's UI takes it from the URL fragment under this key (`#token=…`): the URL printed once carries it. */
  readonly urlFragment?: string;
}

export interface Profile {
  readonly name: string;
  readonly summary: string;
  /** The payload version built when none is asked for (pinned). */
  readonly defaultVersion: string;
  readonly image: ProfileImage;
  /** Spec fields the profile fills in; the user's spec wins field by field (arrays whole). */
  specDefaults(version: string): SpecDefaults;
  /** Host ports of instance i are base + portStep·i (room for a payload's derived ports). */
  readonly portStep: number;
  readonly probes?: ProfileProbes;
  /** Startup budget for the probes, as a duration ("5m"). */
  readonly startupBudget?: string;
  /** The payload's config file, rendered from the spec and seeded onto the state volume. */
  readonly config?: {
    /** Path relative to the state volume (spec.workspace.mountPath). */
    readonly file: string;
    render(ctx: RenderContext): Record<string, unknown>;
  };
  readonly generatedSecrets?: readonly GeneratedSecret[];
  /** Where spec.bundle is copied, relative to the state volume (default: its root). */
  readonly bundleDir?: string;
  /** Log lines by which the payload says it applied (or refused) a config change without restarting. */
  readonly hotReload?: { readonly applied: RegExp; readonly refused: RegExp };
  /** What it may reach in a cluster: everything (default for network bridge), or only DNS, the gateway and HTTPS. */
  readonly egress?: 'all' | 'https';
  /**
   * Config paths (dotted, in the config file) that carry the model provider, its base URL and keys, or
   * clawpod's own wiring: a tenant may not override them (src/fleet/forced.ts).
   */
  readonly forcedConfig?: readonly string[];
  /** A long-running service: `clawpod run` starts it in the background and waits for its probes. */
  readonly service?: boolean;
  /**
   * Env the payload needs under one isolation tier only: settings for a kernel that lacks what the
   * payload would use. Added after the user's spec is merged (a variable the spec names wins), so
   * every driver and `kube export` get it.
   */
  readonly tierEnv?: Partial<Record<SpecTier, readonly { readonly name: string; readonly value: string }[]>>;
}
