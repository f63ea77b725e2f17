// Agent (instance) names reach container, volume and secret-folder names and Kubernetes objects,
// so every way one comes in (metadata.name in a spec, `clawpod run --name`) is checked by this
// one rule: an RFC 1123 DNS label, at most 40 characters (room for "-N" instance and volume suffixes).
import { z } from 'zod';
import { ClawpodError } from '../errors.js';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const AGENT_NAME_MAX = 40;

/** The schema of metadata.name (src/spec/schema.ts). */
export const agentNameSchema = z.string()
  .max(AGENT_NAME_MAX, `expected at most ${AGENT_NAME_MAX} characters (room is kept for instance and volume suffixes)`)
  .regex(DNS_LABEL, 'expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit');

/** A valid name close to `value`, for the hint. */
function suggest(value: string): string {
  const s = value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, AGENT_NAME_MAX).replace(/-+$/, '');
  return s || 'my-agent';
}

/** Throws NAME_INVALID naming `where` (e.g. "--name") and the value when `value` is not a valid agent name. */
export function checkAgentName(value: string, where: string): void {
  const r = agentNameSchema.safeParse(value);
  if (r.success) return;
  throw new ClawpodError('NAME_INVALID', `${where} ${JSON.stringify(value)} is not a valid agent name: ${r.error.issues[0]!.message}`, {
    hint: `agent names become container, volume and folder names; use e.g. ${where} ${suggest(value)}`,
  });
}
