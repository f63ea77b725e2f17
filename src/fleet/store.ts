// What clawpod knows of its plans and tenants on this machine: dataDir/fleet/plans/NAME.json and
// dataDir/fleet/tenants/NAME.json (0600, folders 0700), each replaced whole by a rename so a killed
// CLI leaves the old record or the new one, never half of one. Labels on containers, networks and
// volumes are for display: what clawpod acts on (delete, upgrade) is what these records say.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { DNS_LABEL } from '../spec/names.js';
import type { Plan, Tenant } from './schema.js';

export type TenantPhase = 'provisioning' | 'ready' | 'failed' | 'upgrading' | 'deleting';

export interface TenantRecord {
  readonly tenant: Tenant;
  /** The plan as it was when the tenant was last provisioned or updated. */
  readonly plan: Plan;
  /** Host ports are the profile's base + portStep·slot: each tenant keeps its slot for life. */
  readonly slot: number;
  readonly phase: TenantPhase;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The last failure, when phase is failed. */
  readonly error?: string;
}

const dirOf = (config: Config, kind: 'plans' | 'tenants') => join(config.dataDir, 'fleet', kind);

function writeJson(dir: string, name: string, value: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
}

function readJson<T>(dir: string, name: string): T | undefined {
  if (!DNS_LABEL.test(name)) return undefined; // never a path: names are DNS labels
  try { return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as T; } catch { return undefined; }
}

function names(dir: string): string[] {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return []; }
  return entries.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((n) => DNS_LABEL.test(n)).sort();
}

export const savePlan = (config: Config, plan: Plan) => writeJson(dirOf(config, 'plans'), plan.metadata.name, plan);
export const loadPlan = (config: Config, name: string) => readJson<Plan>(dirOf(config, 'plans'), name);
export const listPlans = (config: Config): Plan[] => names(dirOf(config, 'plans')).flatMap((n) => loadPlan(config, n) ?? []);

export const saveTenant = (config: Config, rec: TenantRecord) => writeJson(dirOf(config, 'tenants'), rec.tenant.metadata.name, rec);
export const loadTenant = (config: Config, name: string) => readJson<TenantRecord>(dirOf(config, 'tenants'), name);
export const listTenants = (config: Config): TenantRecord[] => names(dirOf(config, 'tenants')).flatMap((n) => loadTenant(config, n) ?? []);
export function forgetTenant(config: Config, name: string): void {
  if (DNS_LABEL.test(name)) rmSync(join(dirOf(config, 'tenants'), `${name}.json`), { force: true });
}

/** The lowest slot no tenant holds (host ports are spaced by slot). */
export function freeSlot(config: Config, taken: ReadonlySet<number> = new Set()): number {
  const used = new Set([...listTenants(config).map((t) => t.slot), ...taken]);
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

export function setPhase(config: Config, rec: TenantRecord, phase: TenantPhase, error?: string): TenantRecord {
  const { error: _drop, ...rest } = rec;
  const next: TenantRecord = { ...rest, phase, updatedAt: new Date().toISOString(), ...(error ? { error } : {}) };
  saveTenant(config, next);
  return next;
}
