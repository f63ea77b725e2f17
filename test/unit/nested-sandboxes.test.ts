// A session's sandbox token (src/control/nested.ts) on a real SQLite store: its limits are the
// smaller of the group's wish and the session container's own; a group without `sandboxes` gets
// none; the end of a session revokes it and kills its group's sandboxes; at start-up a previous
// run's still-valid session tokens are revoked and nobody else's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiTokens } from '../../src/control/auth.js';
import { ControlPlaneSchema } from '../../src/control/config.js';
import { nestedLimits, NestedSandboxes } from '../../src/control/nested.js';
import { Store } from '../../src/control/store.js';
import { redactor } from '../../src/secrets/redact.js';

const dir = mkdtempSync(join(tmpdir(), 'clawpod-nested-'));
const store = new Store(join(dir, 'state.db'));
afterAll(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });
const cp = ControlPlaneSchema.parse({
  apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
  spec: { models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'nest', model: 'm', sandboxes: { max: 2, cpu: '4', memory: '128Mi' } }, { name: 'flat', model: 'm' }] },
});
const parent = { cpu: '500m', memory: '256Mi', pids: 64 };
const tokens = new ApiTokens(store, 'admin-token-for-the-test');

describe('nested sandboxes', () => {
  it('never gives a token more than the session container has', () => {
    expect(nestedLimits({ max: 2, cpu: '4', memory: '128Mi' }, parent)).toMatchObject({ maxSandboxes: 2, cpus: 0.5, memoryBytes: 128 * 2 ** 20, pids: 64 });
    expect(nestedLimits({ max: 1, pids: 32 }, parent)).toMatchObject({ maxSandboxes: 1, cpus: 0.5, memory: '256Mi', pids: 32 });
  });

  it('mints for a group with sandboxes only; the end revokes, forgets the value and kills the group\'s sandboxes', async () => {
    const killed: string[] = [];
    const n = new NestedSandboxes(cp, store, tokens, parent, async (owner) => { killed.push(owner); }, () => undefined);
    expect(n.forSession('flat', 's_1')).toBeUndefined();
    const s = n.forSession('nest', 's_2')!;
    const token = s.secretFiles[0]!.value;
    expect(s.mcpServers.clawpod).toEqual({ url: 'http://clawpod/mcp', socketPath: '/run/clawpod/gateway/llm.sock', tokenFile: '/run/secrets/CLAWPOD_SANDBOX_TOKEN' });
    expect(tokens.authenticate(`Bearer ${token}`)).toMatchObject({ kind: 'sandbox', owner: 'nest', limits: { maxSandboxes: 2, cpus: 0.5, pids: 64 } });
    expect(redactor.redact(token)).toMatch(/^\[REDACTED:/);
    n.ended('s_2');
    await n.settled();
    expect(tokens.authenticate(`Bearer ${token}`)).toBeUndefined();
    expect(killed).toEqual(['nest']);
    expect(redactor.redact(token)).toBe(token);
  });

  it("revokes a previous run's session tokens at start-up, and no token an operator made", () => {
    const n = new NestedSandboxes(cp, store, tokens, parent, async () => undefined, () => undefined);
    const left = n.forSession('nest', 's_3')!.secretFiles[0]!.value;
    const operator = tokens.create('sandbox:nest', 'made by hand').token;
    new NestedSandboxes(cp, store, tokens, parent, async () => undefined, () => undefined).revokeLeftovers();
    expect(tokens.authenticate(`Bearer ${left}`)).toBeUndefined();
    expect(tokens.authenticate(`Bearer ${operator}`)).toMatchObject({ kind: 'sandbox' });
  });

  it('refuses sandboxes on Kubernetes, where a Pod cannot mount the gateway socket', () => {
    const r = ControlPlaneSchema.safeParse({
      apiVersion: 'clawpod.dev/v1alpha1', kind: 'ControlPlane',
      spec: { runtime: { kind: 'kubernetes', gatewayUrl: 'http://clawpod:7879' }, gateway: { listen: '0.0.0.0:7879' }, models: { m: { provider: 'openai', model: 'x' } }, groups: [{ name: 'nest', model: 'm', sandboxes: { max: 1 } }] },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('expected no sandboxes with runtime kubernetes');
  });
});
