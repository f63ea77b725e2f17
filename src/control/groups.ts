// Groups as the operator sees them: adding one or switching its model, deleting it, the gateway
// tokens of its agents (issued, revoked), and its model use against its budget. The daemon's
// scheduling lives in daemon.ts; this is the bookkeeping around it.
import { ClawpodError } from '../errors.js';
import { hashToken, issueToken } from './gateway/gateway.js';
import { periodStart } from './gateway/usage.js';
import type { ControlPlane } from './config.js';
import { GroupPolicy } from './policy.js';
import type { Store } from './store.js';

const noGroup = (group: string, hint: string) => new ClawpodError('NOT_FOUND', `no group named ${group}`, { hint });

export class Groups {
  readonly policy: GroupPolicy;
  /** The gateway's TCP address as bound (spec.gateway.listen may say port 0), when it has one. */
  gatewayListen: string | undefined;

  /**
   * @param busy whether the group has a session or queued messages
   * @param retire ends the group's session once it is idle (false: it has none)
   */
  constructor(private readonly cp: ControlPlane, private readonly store: Store, private readonly busy: (group: string) => boolean, private readonly retire: (group: string, reason: string) => boolean) {
    this.policy = new GroupPolicy(cp, store);
  }

  /** The ControlPlane file's groups, as the file says (at each start). */
  seedFromFile(): void {
    for (const g of this.cp.spec.groups) this.store.upsertGroup(g.name, g.model, g.system ?? null);
  }

  /** A gateway token for an agent of the group that is not a session (an OpenClaw gateway). */
  issueToken(group: string): string {
    if (!this.store.group(group)) throw noGroup(group, '`clawpod group add GROUP --model NAME` first');
    return issueToken(this.store, group, null);
  }

  /** What an agent outside sessions needs to call its group's model through the gateway's TCP listener. */
  wiring(group: string): { gatewayListen: string | null; model: { name: string; provider: string; model: string } } {
    const g = this.store.group(group);
    if (!g) throw noGroup(group, '`clawpod group add GROUP --model NAME` first');
    const m = this.cp.spec.models[g.model];
    if (!m) throw new ClawpodError('NOT_FOUND', `group ${group} uses model ${g.model}, which the ControlPlane file does not define`, { hint: 'add it under spec.models, or `clawpod group add GROUP --model NAME`' });
    return { gatewayListen: this.gatewayListen ?? null, model: { name: g.model, provider: m.provider, model: m.model } };
  }

  /** Revokes one token (an agent's replaced one); false when it was unknown or already revoked. */
  revokeToken(token: string, reason: string): boolean {
    return this.store.revokeTokens({ hash: hashToken(token) }, reason) > 0;
  }

  /** Revokes the gateway tokens of a group's sessions: their next model call is refused. */
  revoke(group: string, reason: string): number {
    if (!this.store.group(group)) throw noGroup(group, '`clawpod group ls` lists the groups');
    return this.store.revokeTokens({ group }, reason);
  }

  /** The group's model use in the current period, and its budget. */
  usage(group: string) {
    const periodMs = this.policy.periodMsOf(group);
    const start = periodStart(Date.now(), periodMs);
    const u = this.store.usage(group, start);
    const b = this.policy.budget(group);
    return {
      group, periodStart: start, periodEnd: new Date(Date.parse(start) + periodMs).toISOString(),
      requests: u.requests, inputTokens: u.input_tokens, outputTokens: u.output_tokens,
      budget: b ? { ...(b.tokens !== undefined ? { tokens: b.tokens } : {}), ...(b.requests !== undefined ? { requests: b.requests } : {}) } : null,
    };
  }

  /** Adds a group or switches its model (and allowed models, budget) at once: the next session uses it. */
  add(name: string, model: string, system: string | null, policy: { models?: readonly string[]; budget?: object } = {}): void {
    for (const m of [model, ...(policy.models ?? [])]) {
      if (!this.cp.spec.models[m]) {
        throw new ClawpodError('NOT_FOUND', `no model named ${m}`, { hint: `models are defined under spec.models of the ControlPlane file: ${Object.keys(this.cp.spec.models).join(', ') || 'none yet'}` });
      }
    }
    const listed = this.cp.spec.groups.find((g) => g.name === name)?.models;
    if (listed && !listed.includes(model)) {
      throw new ClawpodError('USAGE', `group ${name} may use ${listed.join(', ')} (spec.groups[].models of the ControlPlane file), not ${model}`, { hint: `pick one of ${listed.join(', ')}, or add ${model} to its models in the file` });
    }
    const before = this.store.group(name)?.model;
    this.store.upsertGroup(name, model, system, policy);
    // a running session was given its model at start: it finishes its work with it (its token may
    // still use it), then ends, so the next message starts with the new one
    if (before && before !== model && this.retire(name, `its group's model was switched from ${before} to ${model}`)) this.policy.keepAllowing(name, before);
  }

  /** The group's session ended: a model it was still allowed after a switch is not any more. */
  sessionEnded(group: string): void { this.policy.stopAllowing(group); }

  /** Removes a group (a deleted tenant's): refused while it has a session or queued messages. */
  delete(name: string): boolean {
    if (!this.store.group(name)) return false;
    // a group of the ControlPlane file comes back at the next start: deleting it would only reset its budget
    if (this.cp.spec.groups.some((g) => g.name === name)) throw new ClawpodError('USAGE', `group ${name} is defined in the ControlPlane file`, { hint: 'remove it from spec.groups and restart clawpod serve' });
    if (this.busy(name)) throw new ClawpodError('IN_USE', `group ${name} has a running session or queued messages`, { hint: `wait for them, or \`clawpod group revoke ${name}\` and retry` });
    this.store.deleteGroup(name);
    return true;
  }
}
