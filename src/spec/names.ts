// Agent (instance) names reach container, volume and secret-folder names and Kubernetes objects,
// so every way one comes in (metadata.name in a spec, `clawpod run --name`) is checked by this
// one rule: an RFC 1123 DNS label, at most 40 characters (room for "-N" instance and volume suffixes).
// No schema library here: `clawpod run --name` checks a name without loading zod (schema.ts builds
// metadata.name's schema from the same rule and messages).
import { ClawpodError } from '../errors.js';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const AGENT_NAME_MAX = 40;

export const AGENT_NAME_MESSAGES = Object.freeze({
  tooLong: `expected at most ${AGENT_NAME_MAX} characters (room is kept for instance and volume suffixes)`,
  notLabel: 'expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
});

/** What is wrong with `value` as an agent name (the first rule it breaks), or undefined. */
export function agentNameProblem(value: string): string | undefined {
  if (value.length > AGENT_NAME_MAX) return AGENT_NAME_MESSAGES.tooLong;
  if (!DNS_LABEL.test(value)) return AGENT_NAME_MESSAGES.notLabel;
  return undefined;
}

/** A valid name close to `value`, for the hint. */
function suggest(value: string): string {
  const s = value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, AGENT_NAME_MAX).replace(/-+$/, '');
  return s || 'my-agent';
}

/** Throws NAME_INVALID naming `where` (e.g. "--name") and the value when `value` is not a valid agent name. */
export function checkAgentName(value: string, where: string): void {
  const problem = agentNameProblem(value);
  if (problem === undefined) return;
  throw new ClawpodError('NAME_INVALID', `${where} ${JSON.stringify(value)} is not a valid agent name: ${problem}`, {
    hint: `agent names become container, volume and folder names; use e.g. ${where} ${suggest(value)}`,
  });
}
