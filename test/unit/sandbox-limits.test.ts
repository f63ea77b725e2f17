// A sandbox:OWNER token's limits: parsed with their defaults, kept with the token in a store made by
// an older clawpod (the column is added on open), and applied to a spec: what it leaves out gets the
// limits, what it asks for is checked against them.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiTokens } from '../../src/control/auth.js';
import { Store } from '../../src/control/store.js';
import { checkCount, DEFAULT_SANDBOX_LIMITS, parseLimits, withinLimits } from '../../src/sandbox/limits.js';
import { AgentSchema } from '../../src/spec/schema.js';

const agent = (spec: object) => AgentSchema.parse({ apiVersion: 'clawpod.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec });
const none = { cpu: false, memory: false, pids: false };

describe('sandbox token limits', () => {
  it('parse with defaults; a bad value names the field', () => {
    expect(parseLimits({})).toEqual(DEFAULT_SANDBOX_LIMITS);
    expect(parseLimits({ maxSandboxes: '2', cpus: '500m', memory: '128Mi', pids: 64 })).toEqual({ maxSandboxes: 2, cpus: 0.5, memory: '128Mi', memoryBytes: 128 * 2 ** 20, pids: 64 });
    expect(() => parseLimits({ maxSandboxes: 0 })).toThrow(/maxSandboxes 0: expected a whole number from 1/);
    expect(() => parseLimits({ pids: '1.5' })).toThrow(/pids/);
    expect(() => parseLimits({ memory: '2g' })).toThrow(/did you mean "2Gi"/);
    expect(() => parseLimits({ cpus: 'lots' })).toThrow(/cpus "lots"/);
  });

  it('a spec without resources gets the limits; one within them keeps its own; one over them is refused', () => {
    const l = parseLimits({ cpus: 0.5, memory: '128Mi', pids: 64 });
    expect(withinLimits(agent({}), none, l).spec.resources).toEqual({ cpu: '0.5', memory: '128Mi', pids: 64 });
    expect(withinLimits(agent({ resources: { cpu: '250m', memory: '64Mi', pids: 32 } }), { cpu: true, memory: true, pids: true }, l).spec.resources).toEqual({ cpu: '250m', memory: '64Mi', pids: 32 });
    expect(() => withinLimits(agent({ resources: { memory: '129Mi' } }), { ...none, memory: true }, l)).toThrow('spec.resources.memory 129Mi is not allowed for this sandbox token: the token\'s limit is 128Mi');
    expect(() => withinLimits(agent({ isolation: 'gvisor' }), none, l)).not.toThrow();
    expect(() => checkCount('o', 5, DEFAULT_SANDBOX_LIMITS)).toThrow(/6 would be over this token's limit of 5/);
    expect(() => checkCount('o', 4, DEFAULT_SANDBOX_LIMITS)).not.toThrow();
  });

  it('are kept with the token, in a store an older clawpod made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clawpod-limits-'));
    try {
      const file = join(dir, 'state.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE api_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL, name TEXT NOT NULL,
        created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT);
        INSERT INTO api_tokens VALUES ('tok_old', 'h', 'sandbox:old', 'old', '2026-01-01T00:00:00Z', NULL, NULL);`);
      old.close();
      const store = new Store(file);
      try {
        expect(store.apiToken('tok_old')?.limits).toBeNull();
        const tokens = new ApiTokens(store, 'admin-token');
        const { token } = tokens.create('sandbox:new', 'new', parseLimits({ maxSandboxes: 2, memory: '1Gi' }));
        const p = tokens.authenticate(`Bearer ${token}`);
        expect(p).toMatchObject({ kind: 'sandbox', owner: 'new', limits: { maxSandboxes: 2, memoryBytes: 2 ** 30, cpus: 1, pids: 256 } });
        // the sandboxes table is there too
        store.addSandbox({ name: 's', owner: 'new' });
        expect(store.sandboxes('new').map((r) => r.name)).toEqual(['s']);
      } finally { store.close(); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
