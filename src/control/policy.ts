// Per-group gateway policy from the ControlPlane file: which models a group's token may ask for,
// and its budget. Groups added through the API get their own model and the default budget.
import type { Budget, GatewayModel } from './gateway/gateway.js';
import { CONTROL_DEFAULTS } from '../spec/defaults.js';
import { validatedDurationMs } from '../spec/quantity.js';
import type { ControlPlane } from './config.js';
import type { Store } from './store.js';

export class GroupPolicy {
  /** A group's model before a switch, still allowed while the session that runs with it lasts. */
  private readonly previous = new Map<string, string>();

  constructor(private readonly cp: ControlPlane, private readonly store: Store) {}

  keepAllowing(group: string, model: string): void { this.previous.set(group, model); }
  stopAllowing(group: string): void { this.previous.delete(group); }

  allowedModels(group: string): GatewayModel[] {
    const spec = this.cp.spec;
    const g = spec.groups.find((x) => x.name === group);
    const row = this.store.group(group);
    // a group without a list may use its current model: the file's, or the one an operator switched it to
    const prev = this.previous.get(group);
    const names = g?.models ?? (row?.models ? (JSON.parse(row.models) as string[]) : [row?.model ?? g?.model ?? '', ...(prev ? [prev] : [])]);
    return names.flatMap((name) => { const m = spec.models[name]; return m ? [{ name, provider: m.provider, model: m.model, baseUrl: m.baseUrl }] : []; });
  }

  budget(group: string): Budget | undefined {
    const row = this.store.group(group);
    const b = this.cp.spec.groups.find((x) => x.name === group)?.budget ?? (row?.budget ? (JSON.parse(row.budget) as ControlPlane['spec']['gateway']['budget']) : undefined) ?? this.cp.spec.gateway.budget;
    if (!b) return undefined;
    return { periodMs: validatedDurationMs(b.period), tokens: b.tokens, requests: b.requests };
  }

  /** Accounting period: the budget's, or a day. */
  periodMsOf(group: string): number {
    return this.budget(group)?.periodMs ?? validatedDurationMs(CONTROL_DEFAULTS.budgetPeriod);
  }

}
