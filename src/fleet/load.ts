// A fleet file: kind: Plan and kind: Tenant documents, in any order. Every problem of every
// document is reported at once (file:line:col), then clashes between documents.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ClawpodError, messageOf } from '../errors.js';
import { API_VERSION } from '../spec/defaults.js';
import { parseMixedDocuments, type DocKind } from '../spec/parse.js';
import { decodeUtf8 } from '../spec/utf8.js';
import { PlanSchema, TenantSchema, type Plan, type Tenant } from './schema.js';

export interface FleetFile { readonly plans: Plan[]; readonly tenants: Tenant[] }

const HINT = 'each document starts with "apiVersion: clawpod.dev/v1alpha1" and "kind: Plan" or "kind: Tenant"; see examples/fleet.yaml';
const PLAN: DocKind<Plan> = { schema: PlanSchema, kind: 'Plan', hint: HINT };
const TENANT: DocKind<Tenant> = { schema: TenantSchema, kind: 'Tenant', hint: HINT };
/** A document that names neither kind: its errors say what was expected. */
const EITHER: DocKind<unknown> = {
  schema: z.looseObject({ apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }), kind: z.enum(['Plan', 'Tenant']) }),
  kind: 'fleet',
  hint: HINT,
};

export function parseFleet(text: string, file: string): FleetFile {
  const docs = parseMixedDocuments(text, file, { Plan: PLAN, Tenant: TENANT } as Record<string, DocKind<unknown>>, EITHER);
  const plans = docs.filter((d) => d.kind === 'Plan').map((d) => d.value as Plan);
  const tenants = docs.filter((d) => d.kind === 'Tenant').map((d) => d.value as Tenant);
  const clashes = [...dupes(plans.map((p) => p.metadata.name), 'plan'), ...dupes(tenants.map((t) => t.metadata.name), 'tenant')];
  if (clashes.length) throw new ClawpodError('NAME_TAKEN', `${file}: ${clashes.length} name${clashes.length > 1 ? 's are' : ' is'} used twice`, { details: clashes, hint: 'give each Plan and each Tenant its own metadata.name' });
  return { plans, tenants };
}

function dupes(names: readonly string[], what: string): string[] {
  const seen = new Set<string>();
  const out = new Set<string>();
  for (const n of names) { if (seen.has(n)) out.add(`${what} ${n} appears more than once`); seen.add(n); }
  return [...out];
}

export function loadFleet(file: string): FleetFile {
  let bytes: Buffer;
  try { bytes = file === '-' ? readFileSync(0) : readFileSync(file); } catch (e) {
    throw new ClawpodError('FILE_NOT_FOUND', `cannot read fleet file ${file}: ${messageOf(e)}`, { hint: 'check the path given to -f (- reads stdin)' });
  }
  return parseFleet(decodeUtf8(bytes, file), file);
}
