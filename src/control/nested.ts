// Nested sandboxes (docs/mcp.md): a group whose ControlPlane entry has `sandboxes` gets, for each
// session, a `sandbox:GROUP` API token no wider than the session's own container (count, cpus,
// memory, pids; a sandbox token never gets network, mounts, ports or secrets), delivered as the
// tmpfs file /run/secrets/CLAWPOD_SANDBOX_TOKEN, and an MCP server entry that reaches clawpod's
// /mcp on the gateway socket the container already has. The container keeps no network and no
// engine socket. The token is revoked and the group's sandboxes killed when the session ends.
import type { McpServerEntry } from '../agent/protocol.js';
import { messageOf } from '../errors.js';
import { redactor } from '../secrets/redact.js';
import { parseLimits, type SandboxLimits } from '../sandbox/limits.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import { formatBytes, parseCpu, parseMemory } from '../spec/quantity.js';
import type { Agent } from '../spec/schema.js';
import type { ApiTokens } from './auth.js';
import type { ControlPlane } from './config.js';
import type { Store } from './store.js';

export const SANDBOX_TOKEN_FILE = 'CLAWPOD_SANDBOX_TOKEN';
/** API tokens minted for sessions are named so; one still valid at start-up is a previous run's. */
const TOKEN_NAME = 'nested sandboxes of session ';

type Wanted = NonNullable<ControlPlane['spec']['groups'][number]['sandboxes']>;

const cores = (q: string | number): number => { const r = parseCpu(q); return r.ok ? r.value : 0; };
const bytes = (q: string | number): number => { const r = parseMemory(q); return r.ok ? r.value : 0; };

/** What the group asked for, cut down to the session container's own resources. */
export function nestedLimits(wanted: Wanted, parent: Agent['spec']['resources']): SandboxLimits {
  const cpus = Math.min(wanted.cpu === undefined ? Infinity : cores(wanted.cpu), cores(parent.cpu));
  const memory = Math.min(wanted.memory === undefined ? Infinity : bytes(wanted.memory), bytes(parent.memory));
  return parseLimits({ maxSandboxes: wanted.max, cpus, memory: formatBytes(memory), pids: Math.min(wanted.pids ?? Infinity, parent.pids) });
}

export interface NestedSession {
  readonly mcpServers: Readonly<Record<string, McpServerEntry>>;
  readonly secretFiles: readonly { name: string; value: string }[];
}

/** Kills and forgets the sandboxes of one owner (src/sandbox); the session's end awaits it. */
export type KillOwned = (owner: string) => Promise<void>;

export class NestedSandboxes {
  /** Session id → its token's id, while it runs. */
  private readonly live = new Map<string, { id: string; group: string; token: string }>();

  constructor(private readonly cp: ControlPlane, private readonly store: Store, private readonly tokens: ApiTokens, private readonly parent: Agent['spec']['resources'], private readonly killOwned: KillOwned, private readonly say: (l: string) => void) {}

  /** Tokens of sessions the previous run did not end: revoked before any new session starts. */
  revokeLeftovers(): void {
    for (const t of this.store.apiTokens()) if (!t.revoked_at && t.scope.startsWith('sandbox:') && t.name.startsWith(TOKEN_NAME)) this.store.revokeApiToken(t.id);
  }

  /** A new token for the session when its group has sandboxes; undefined otherwise. */
  forSession(group: string, sessionId: string): NestedSession | undefined {
    const wanted = this.cp.spec.groups.find((g) => g.name === group)?.sandboxes;
    if (!wanted) return undefined;
    const { row, token } = this.tokens.create(`sandbox:${group}`, `${TOKEN_NAME}${sessionId}`, nestedLimits(wanted, this.parent));
    redactor.add(`sandbox token of session ${sessionId}`, token);
    this.live.set(sessionId, { id: row.id, group, token });
    return {
      secretFiles: [{ name: SANDBOX_TOKEN_FILE, value: token }],
      mcpServers: { clawpod: { url: 'http://clawpod/mcp', socketPath: `${CONTROL_DEFAULTS.gatewayMountPath}/llm.sock`, tokenFile: `/run/secrets/${SANDBOX_TOKEN_FILE}` } },
    };
  }

  /** The session ended (or never started): its token is refused from now on, its group's sandboxes are killed. */
  ended(sessionId: string): void {
    const t = this.live.get(sessionId);
    if (!t) return;
    this.live.delete(sessionId);
    this.store.revokeApiToken(t.id);
    // worthless from now on: its forms need not weigh on every later redaction
    redactor.remove(t.token);
    const kill = this.killOwned(t.group).catch((e: unknown) => this.say(`warning: could not kill the sandboxes of group ${t.group} after its session ${sessionId}: ${messageOf(e)}`));
    this.killing.add(kill);
    void kill.finally(() => this.killing.delete(kill));
  }

  private readonly killing = new Set<Promise<void>>();

  /** Waits for the kills under way: `clawpod serve` stops only once its sessions' sandboxes are gone. */
  async settled(): Promise<void> {
    while (this.killing.size) await Promise.all([...this.killing]);
  }
}
